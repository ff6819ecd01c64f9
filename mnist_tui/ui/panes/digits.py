"""Tab 3, Digits: a few test samples, new each epoch, with the network's probabilities."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import ScrollableContainer

from ...core.data import Dataset
from ...core.history import RunHistory
from ..widgets.digit_view import DigitView
from .base import Pane

N_DIGITS = 6
DIGIT_CELL_WIDTH = 50  # a compact digit view (49) and its gutter, for flowing the grid


class DigitGrid(ScrollableContainer):
    """The samples, flowed into as many columns as fit; scrolls by keyboard."""

    DEFAULT_CSS = """
    DigitGrid { layout: grid; grid-size: 1; grid-gutter: 0 1; grid-rows: 15; grid-columns: 49;
                height: 1fr; overflow-y: auto; scrollbar-size-vertical: 1; }
    """


class DigitsPane(Pane):
    TAB_ID, TITLE, FOCUS = "digits", "Digits", "#digit-grid"

    def __init__(self, number: int, dataset: Dataset) -> None:
        super().__init__(number)
        self.dataset = dataset
        self._shown = None  # the EpochEnd whose samples are on screen

    def compose(self) -> ComposeResult:
        with DigitGrid(id="digit-grid"):
            for i in range(N_DIGITS):
                yield DigitView(compact=True, id=f"digit-{i}")

    def on_mount(self) -> None:
        for i, view in enumerate(self.query(DigitView)):  # the empty tab says it once
            if i == 0:
                view.show(None, None, None)
            else:
                view.show_message("")

    def on_resize(self) -> None:
        cols = max(1, self.size.width // DIGIT_CELL_WIDTH)
        grid = self.query_one(DigitGrid)
        if grid.styles.grid_size_columns != cols:  # setting it, even unchanged, lays it out
            grid.styles.grid_size_columns = cols

    def show(self, history: RunHistory) -> None:
        ev, ds = history.last_epoch, self.dataset
        if ev is None or ev is self._shown:
            return
        self._shown = ev
        for view, i in zip(self.query(DigitView).results(DigitView), ev.sample_indices, strict=False):
            view.show(ds.test_images[i], ev.test_proba[i], int(ds.test_labels[i]),
                      caption=f"test #{i}, epoch {history.offset + ev.epoch}")
