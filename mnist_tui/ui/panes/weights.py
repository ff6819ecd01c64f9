"""Tab 6, Weights: each hidden unit's 784 input weights as a 28x28 picture, red + blue -."""

from __future__ import annotations

from textual.app import ComposeResult

from ...core.history import RunHistory
from ..widgets.weights_grid import WeightsGrid
from .base import Pane


class WeightsPane(Pane):
    TAB_ID, TITLE, FOCUS = "weights", "Weights", "#weights-grid"
    DEFAULT_CSS = "WeightsPane WeightsGrid { height: 1fr; }"

    def __init__(self, number: int) -> None:
        super().__init__(number)
        self._shown = None

    def compose(self) -> ComposeResult:
        yield WeightsGrid(id="weights-grid")

    def show(self, history: RunHistory) -> None:
        w = history.weights
        if w is not None and w is not self._shown:
            self._shown = w
            self.query_one(WeightsGrid).set_weights(w.W1)
