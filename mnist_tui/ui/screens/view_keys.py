"""The main screen's keys that move between views: the ghost and the loss smoothing on the
Train tab, a hidden unit opened from Weights, a sample taken from Mistakes to Draw, the
suspects, and a matrix cell opening its samples."""

from __future__ import annotations

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
