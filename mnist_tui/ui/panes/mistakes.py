"""Tab 4, Mistakes: browse the test samples the network gets wrong, filtered by class."""

from __future__ import annotations

from textual.app import ComposeResult

from ...core.data import Dataset
from ...core.history import RunHistory
from ..widgets.mistakes_view import MistakesView
from .base import Pane


class MistakesPane(Pane):
    TAB_ID, TITLE, FOCUS = "mistakes", "Mistakes", "#mistakes-view"
    DEFAULT_CSS = """
    MistakesPane #mistake-filters { height: 1; }
    MistakesPane #mistake-filters Label { padding: 0 1; }
    MistakesPane #mistake-filters Select { width: 10; }
    MistakesPane #mistake-filters #filter-kind { width: 17; margin: 0 0 0 1; }
    MistakesPane #mistake-history { height: 1; color: $text-muted; }
    MistakesPane #mistake-count { width: 1fr; }
    MistakesPane MistakesView:focus { background-tint: $foreground 3%; }
    """

    def __init__(self, number: int, dataset: Dataset) -> None:
        super().__init__(number)
        self.dataset = dataset
        self._shown = None

    def compose(self) -> ComposeResult:
        yield MistakesView(self.dataset.test_images, self.dataset.test_labels, id="mistakes-view")

    def show(self, history: RunHistory) -> None:
        ev = history.last_epoch
        if ev is not None and ev is not self._shown:
            self._shown = ev
            self.query_one(MistakesView).set_proba(ev.test_proba, history.prediction_matrix())

    def set_filter(self, true_class: int | None, pred_class: int | None) -> None:
        self.query_one(MistakesView).set_filter(true_class, pred_class)
