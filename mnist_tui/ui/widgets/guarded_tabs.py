"""TabbedContent whose late focus messages cannot take a tab back (bursts of tab keys)."""

from __future__ import annotations

from textual.widgets import TabbedContent, TabPane


class FocusGuardedTabs(TabbedContent):
    """TabbedContent, except that a focus that has already moved on does not activate a tab.

    TabbedContent activates a pane when a widget in it is focused, by a message that arrives
    after the focus: by then a later key of the same burst may have opened another tab and
    focused its content. Activating the old pane then set two tabs re-activating each other,
    at 100% CPU, for ever (`8 9` in one burst)."""

    def _on_tab_pane_focused(self, event: TabPane.Focused) -> None:
        focused = self.screen.focused
        if focused is None or event.tab_pane not in focused.ancestors:
            event.stop()  # stale: the focus is elsewhere now
            event.prevent_default()  # Textual runs the base class's handler too, unless this
