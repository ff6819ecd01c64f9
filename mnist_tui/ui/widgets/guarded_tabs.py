"""TabbedContent whose late focus messages cannot take a tab back (bursts of tab keys), and
whose underline moves without an animation."""

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

    def on_mount(self) -> None:
        # The bar under the tabs jumps to the tab shown, as it does when the app opens,
        # instead of sliding there: the slide was about 20 repaints over 0.45 s after every
        # tab key, a third of what a switch cost, and kept the app busy as long (a burst of
        # tab keys over SSH settled that much later, and each frame was sent).
        underline = self.query_one("Underline")  # by name: its module is private

        def jump(attribute: str, value, *args, **kwargs) -> None:
            setattr(underline, attribute, value)

        underline.animate = jump
