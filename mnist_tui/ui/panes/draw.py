"""Tab 7, Draw: draw a digit and see the current network's answer, and why, live.

Beside the canvas: the 28x28 input exactly as the model sees it (after MNIST's framing) with
its probabilities, and the saliency of the predicted class (core/insight.py): red where more
ink would raise it, blue where ink lowers it. `n` then a class key nudges the image toward that
class, a few gradient steps on the input, animated: the smallest change this walk finds that
flips the answer. A test sample from Mistakes (n there) can be nudged the same way.
"""

from __future__ import annotations

import numpy as np
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Static

from ...core import insight
from ...core.draw import preprocess
from ...core.events import Weights
from ...core.history import RunHistory
from ...core.model import Perceptron
from ..widgets.digit_view import DigitView
from ..widgets.draw_canvas import DrawCanvas
from ..widgets.signed_image import SignedImage
from .base import Pane

WIDE = 114  # columns from which the model's view and the saliency both fit beside the canvas
FRAME_SECONDS = 0.08


class DrawPane(Pane):
    TAB_ID, TITLE, FOCUS = "draw", "Draw", "#canvas"
    DEFAULT_CSS = """
    DrawPane #draw-left { width: 32; }
    DrawPane #draw-help { color: $text-muted; }
    DrawPane #draw-digit { padding: 1 0 0 1; }
    DrawPane #draw-saliency { padding: 1 0 0 1; width: 31; }
    DrawPane.-narrow #draw-saliency { display: none; }
    DrawPane.-narrow.-saliency #draw-saliency { display: block; }
    DrawPane.-narrow.-saliency #draw-digit { display: none; }
    """
    BINDINGS = [
        Binding("n", "nudge_mode", "Nudge"),
        Binding("v", "toggle_view", "Saliency", show=False),
        *(Binding(str(k), f"nudge({k})", f"Nudge to {k}", show=False) for k in range(10)),
    ]

    def __init__(self, number: int) -> None:
        super().__init__(number)
        self.ink = np.zeros((28, 28), np.float32)
        self.model: Perceptron | None = None
        self._weights: Weights | None = None
        self.source: np.ndarray | None = None  # (784,) in [0, 1]: a test sample or a nudge's end
        self.source_label: int | None = None
        self.source_name = ""
        self.awaiting_nudge = False
        self.last_nudge: insight.Nudge | None = None
        self._frames: list[int] = []
        self._timer = None

    def compose(self) -> ComposeResult:
        with Horizontal():
            with Vertical(id="draw-left"):
                yield DrawCanvas(id="canvas")
                yield Static(HELP, id="draw-help")
            yield DigitView(compact=True, id="draw-digit")
            yield SignedImage("why: saliency", id="draw-saliency")

    def on_mount(self) -> None:
        self.predict()

    def on_resize(self, event: events.Resize) -> None:
        self.set_class(event.size.width < WIDE, "-narrow")

    def on_draw_canvas_changed(self, event: DrawCanvas.Changed) -> None:
        self.ink = event.ink
        self.source, self.source_label, self.last_nudge = None, None, None
        self._stop_animation()
        self._help(HELP)
        self.predict()

    def show(self, history: RunHistory) -> None:
        w = history.weights
        if w is not None and w is not self._weights:
            self._weights = w
            self.model = Perceptron.from_params(w.W1, w.b1, w.W2, w.b2)
            if self._timer is None:
                self.predict()

    def set_model(self, model: Perceptron | None) -> None:
        """Answer with this model (a loaded checkpoint's) until a run sends new weights."""
        self.model, self._weights = model, None
        self.predict()

    def set_sample(self, image: np.ndarray, label: int, name: str) -> None:
        """Show a test sample (uint8 784) instead of the drawing, ready to be nudged."""
        self._stop_animation()
        self.source = np.asarray(image, np.float64).ravel() / 255
        self.source_label, self.source_name, self.last_nudge = int(label), name, None
        self.query_one(DrawCanvas).set_ink(self.source)  # drawing on it edits it further
        self.predict()

    # --- what the model sees, and why ----------------------------------------------------

    def image(self) -> np.ndarray:
        """The input as the model sees it: (784,) float in [0, 1]."""
        if self.source is not None:
            return self.source
        return preprocess(self.ink).astype(np.float64) / 255

    def predict(self) -> None:
        self._show(self.image())

    def _show(self, x: np.ndarray, proba: np.ndarray | None = None, caption: str = "") -> None:
        pixels = (np.clip(x, 0, 1) * 255).round().astype(np.uint8)
        digit = self.query_one("#draw-digit", DigitView)
        sal = self.query_one("#draw-saliency", SignedImage)
        if self.model is None or not x.any():
            digit.show(pixels, None, None, caption="no model yet: start training"
                       if self.model is None else "what the model sees")
            sal.show(None, caption="draw something" if self.model is not None else "")
            return
        pred, S, grad = insight.saliency(self.model, x)
        label = self.source_label
        if not caption:
            caption = (f"{self.source_name}, as the model sees it" if self.source is not None
                       and self.source_name else "the model's input, live")
        digit.show(pixels, S if proba is None else proba, label, caption=caption)
        sal.show(grad, f"why {self.class_name(pred)}: saliency",
                 "red: ink raises it\nblue: ink lowers it")

    def class_name(self, k: int) -> str:
        classes = getattr(getattr(self.app, "dataset", None), "classes", None)
        return str(k) if not classes or classes[0] == "0" else classes[k]

    # --- nudging ----------------------------------------------------------------------------

    def check_action(self, action: str, parameters) -> bool | None:
        if action == "nudge":
            return self.awaiting_nudge  # otherwise the digit keys switch tabs as everywhere
        return True

    def action_nudge_mode(self) -> None:
        if self.model is None:
            self._help("no model to nudge yet: start training or load a checkpoint")
            return
        if not self.image().any():
            self._help("draw something first (or n on a sample in Mistakes)")
            return
        self.awaiting_nudge = True
        self._help("nudge toward which class? press 0-9")

    def action_nudge(self, target: int) -> None:
        self.awaiting_nudge = False
        if self.model is None:
            return
        self._stop_animation()
        n = insight.nudge(self.model, self.image(), target)
        self.last_nudge = n
        self._frames = list(range(len(n.images)))
        self._timer = self.set_interval(FRAME_SECONDS, self._next_frame)
        self._help(f"nudging toward {self.class_name(target)}…")

    def _next_frame(self) -> None:
        n = self.last_nudge
        if n is None or not self._frames:
            self._stop_animation()
            return
        k = self._frames.pop(0)
        last = not self._frames
        self._show(n.images[k], n.proba[k], caption=f"step {k} of {len(n.images) - 1}")
        if last:
            self._stop_animation()
            self.source = n.images[-1]
            self.query_one(DrawCanvas).set_ink(self.source)
            self.source_name = self.source_name or "your drawing"
            goal = self.class_name(n.target)
            if n.flipped_at is not None:
                words = (f"now {goal} after {steps(n.flipped_at)}: " + (
                    f"{n.pixels_changed} pixel{'s' * (n.pixels_changed != 1)} changed by more "
                    f"than 0.1 (L2 {n.change:.2f})" if n.pixels_changed else
                    f"no pixel changed by more than 0.1 (L2 {n.change:.2f}): the model was "
                    "on the edge") if n.flipped_at else f"already {goal}")
            else:
                words = f"not {goal} after {steps(len(n.images) - 1)} (L2 {n.change:.2f})"
            self._help(words + "\nn: nudge again · c: clear")

    def _stop_animation(self) -> None:
        if self._timer is not None:
            self._timer.stop()
            self._timer = None

    def action_toggle_view(self) -> None:
        self.toggle_class("-saliency")

    def _help(self, text: str) -> None:
        self.query_one("#draw-help", Static).update(text)


def steps(n: int) -> str:
    return f"{n} step{'s' * (n != 1)}"


HELP = ("drag/right-drag: draw/erase\narrows+space: draw · e: erase\nc: clear · v: saliency\n"
        "n then 0-9: nudge to that class")  # each line within the 31 columns of the canvas
