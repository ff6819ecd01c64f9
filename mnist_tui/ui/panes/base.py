"""What every pane shares: its tab id and title, the widget to focus, and `show(history)`."""

from __future__ import annotations

from textual.widgets import TabPane

from ...core.history import RunHistory
from ..widgets.metric_chart import MetricChart

FULL_TITLES = 100  # columns from which every tab shows its title


class Pane(TabPane):
    """A tab of the dashboard. Subclasses set TAB_ID, TITLE and FOCUS and implement `show`."""

    TAB_ID = ""
    TITLE = ""
    FOCUS: str | None = None  # the selector focused when the tab opens

    def __init__(self, number: int) -> None:
        super().__init__(f"{number} {self.TITLE}", id=self.TAB_ID)
        self.number = number

    # --- the tab bar: ten titles need 97 columns; below FULL_TITLES the tabs not shown are
    # labelled by their number alone, so every tab stays on screen whole (no "n  2 Matrix").

    def on_show(self) -> None:
        self.label_tabs()

    def on_resize(self) -> None:
        self.label_tabs()

    def label_tabs(self) -> None:
        """Label the tabs for the terminal's width and the tab shown; nothing if neither has
        changed since the last time (this runs on every Show and Resize of a pane)."""
        from textual.widgets import TabbedContent

        switcher = self.parent
        tabbed = switcher.parent if switcher is not None else None
        if not isinstance(tabbed, TabbedContent):
            return
        wide = self.app.size.width >= FULL_TITLES
        active = tabbed.active
        if tabbed.__dict__.get("_labelled_for") == (wide, active):
            return
        tabbed._labelled_for = (wide, active)
        for pane in switcher.children:  # this TabbedContent's panes, not a nested one's
            if not isinstance(pane, Pane):
                continue
            text = (f"{pane.number} {pane.TITLE}" if wide or pane.id == active
                    else str(pane.number))
            tab = tabbed.get_tab(pane.id)
            if str(tab.label) != text:
                tab.label = text

    def show(self, history: RunHistory) -> None:
        """Redraw from the run history (called a few times a second while the tab is shown)."""

    def focus_content(self) -> None:
        """Focus the tab's content now (not after a refresh, as `Widget.focus` does: by then
        the next key of a burst has acted, and a late focus would undo what it did)."""
        # A tab with nothing to focus takes the focus away from the tab left behind, whose
        # widget would otherwise keep the keys (and the footer) while hidden.
        self.screen.set_focus(self.query_one(self.FOCUS) if self.FOCUS else None)


def share_x_range(history: RunHistory, charts: list[MetricChart]) -> None:
    """One x range for all charts of a tab: the run's planned epochs, or further if data is."""
    planned = history.planned if history.running else 0
    hi = max([planned, 1.0] + [c.data_x_max() for c in charts])
    for chart in charts:
        chart.set_x_range(0.0, float(hi))
        chart.replot()
