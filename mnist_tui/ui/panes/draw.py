"""Tab 7, Draw: draw a digit and see the current network's answer, live."""

from __future__ import annotations

import numpy as np
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Static

from ...core.draw import preprocess
from ...core.events import Weights
from ...core.history import RunHistory
from ...core.model import Perceptron
from ..widgets.digit_view import DigitView
from ..widgets.draw_canvas import DrawCanvas
from .base import Pane


class DrawPane(Pane):
    TAB_ID, TITLE, FOCUS = "draw", "Draw", "#canvas"
    DEFAULT_CSS = """
    DrawPane #draw-left { width: 32; }
    DrawPane #draw-help { color: $text-muted; }
    DrawPane #draw-digit { padding: 1 0 0 1; }
    """

    def __init__(self, number: int) -> None:
        super().__init__(number)
        self.ink = np.zeros((28, 28), np.float32)
        self.model: Perceptron | None = None
        self._weights: Weights | None = None

    def compose(self) -> ComposeResult:
        with Horizontal():
            with Vertical(id="draw-left"):
                yield DrawCanvas(id="canvas")
                yield Static("drag: draw · right-drag: erase\narrows+space: draw\n"
                             "e: erase · c: clear", id="draw-help")
            yield DigitView(bars_only=True, id="draw-digit")

    def on_mount(self) -> None:
        self.predict()

    def on_draw_canvas_changed(self, event: DrawCanvas.Changed) -> None:
        self.ink = event.ink
        self.predict()

    def show(self, history: RunHistory) -> None:
        w = history.weights
        if w is not None and w is not self._weights:
            self._weights = w
            self.model = Perceptron.from_params(w.W1, w.b1, w.W2, w.b2)
            self.predict()

    def set_model(self, model: Perceptron | None) -> None:
        """Answer with this model (a loaded checkpoint's) until a run sends new weights."""
        self.model, self._weights = model, None
        self.predict()

    def predict(self) -> None:
        """Show the drawing as the network sees it, with the current model's probabilities."""
        image = preprocess(self.ink)
        proba = None
        if self.model is not None and image.any():
            proba = self.model.forward(image[None].astype(np.float32) / 255)[0]
        caption = ("the current model's guess, live" if self.model is not None
                   else "no model yet: start training")
        self.query_one("#draw-digit", DigitView).show(image, proba, None, caption=caption)
