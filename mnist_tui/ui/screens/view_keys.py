"""The main screen's keys that move between views: a tab shown (by its key or a click) and
focused, the form entered and left, the ghost and the loss smoothing on the Train tab, a hidden
unit opened from Weights, a sample taken from Mistakes to Draw, the suspects, and a matrix cell
opening its samples."""

from __future__ import annotations

from textual.widgets import TabbedContent

from ..panes import DrawPane, MistakesPane, TrainPane
from ..widgets.confusion_table import ConfusionTable
from ..widgets.mistakes_view import MistakesView


class ViewKeys:
    """MainScreen's methods for moving between views (a mixin: MainScreen holds the state)."""

    def action_toggle_ghost(self) -> None:
        pane = self.pane(TrainPane)
        pane.show_ghost = not pane.show_ghost
        pane.show(self.history)
        g = pane.ghost
        if g is None:
            note = "no ghost: no run in the history on this machine reached the target yet"
        else:
            note = (f"ghost #{g.run_id} {'shown' if pane.show_ghost else 'hidden'} (g): "
                    f"{g.target:.0%} in {g.reached_seconds:.1f}s")
        self.status.set(note=note)

    def action_smoothing(self, step: int) -> None:
        value = self.pane(TrainPane).step_smoothing(step)
        self.pane(TrainPane).show(self.history)
        self.status.set(note=f"loss smoothing {value:g} (EMA over batches; [ ] change it)")

    def on_weights_grid_unit_chosen(self, event) -> None:
        if self.model is None:
            return
        from .unit import UnitScreen

        self.app.push_screen(UnitScreen(self, event.unit))

    def on_mistakes_view_to_draw(self, event: MistakesView.ToDraw) -> None:
        i, ds = event.index, self.dataset
        label = int(ds.test_labels[i])
        self.pane(DrawPane).set_sample(ds.test_images[i], label, f"test #{i}")
        self.action_show_tab("draw")
        self.status.set(note=f"test #{i} in Draw: n then a class key nudges it toward that class")

    def on_mistakes_view_show_suspects(self) -> None:
        from .suspects import SuspectsScreen

        self.app.push_screen(SuspectsScreen(self.db_path, self.dataset))

    def on_confusion_table_cell_chosen(self, event: ConfusionTable.CellChosen) -> None:
        self.pane(MistakesPane).set_filter(event.true_class, event.pred_class)
        self.action_show_tab("mistakes")

    # --- tabs and the form ------------------------------------------------------------------

    def action_edit_form(self) -> None:
        """Go to the Train tab with the cursor in the form's first field."""
        self.action_show_tab("train")
        self.form.focus_first()

    def action_leave_form(self) -> None:
        """Leave a field for the shown tab's content, so the tab's keys (and the footer's)
        work again; never for nowhere."""
        self.focus_tab_content()

    def focus_tab_content(self) -> None:
        tabbed = self.query_one(TabbedContent)
        if tabbed.active:
            self.query_one(f"#{tabbed.active}").focus_content()
        else:
            self.set_focus(None)

    def action_show_tab(self, tab: str) -> None:
        self.query_one(TabbedContent).active = tab
        self._opened(tab)

    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        """A tab opened by a click (a key's tab is opened by action_show_tab). The message
        comes late: a tab that is no longer the active one, or that a key opened already, is
        left alone, so no stale message can take the focus or the tab back."""
        tab = event.pane.id
        if tab == self.query_one(TabbedContent).active and tab != self._tab_opened:
            self._opened(tab)

    def _opened(self, tab: str) -> None:
        """Draw the tab and focus its content, now: a deferred focus would land after the
        next key of a burst, in a pane no longer shown, and activate that pane again."""
        self._tab_opened = tab
        if tab == "runs":
            self._reload_runs()
        pane = self._found(f"#{tab}")
        pane.label_tabs()  # before the layout that shows it, not in a second one after
        pane.show(self.history)
        pane.focus_content()
