"""DigitView: a 28x28 digit in half-blocks, with a probability bar per class beside it."""

from __future__ import annotations

import numpy as np
from rich.style import Style
from rich.text import Text
from textual.widget import Widget

from ...core import render


class DigitView(Widget):
    """One test sample: the digit, ten labelled bars, and the true and predicted labels.

    Its size is fixed, so showing a new sample repaints it without a layout pass.
    """

    DEFAULT_CSS = """
    DigitView { width: 58; height: 15; }
    DigitView.-bars-only { width: 30; }
    DigitView.-compact { width: 49; }
    DigitView.-digit-only { width: 28; }
    DigitView { text-wrap: nowrap; text-overflow: clip; }
    """

    def __init__(self, bars_only: bool = False, compact: bool = False, **kwargs) -> None:
        super().__init__(**kwargs)
        self.bars_only = bars_only
        self.compact = compact  # narrower bars and whole percents: two fit in 100 columns
        self.set_class(bars_only, "-bars-only")
        self.set_class(compact, "-compact")
        self.digit_only = False  # just the 28x14 picture: the caller writes the words
        self.text = Text()

    def set_digit_only(self, on: bool) -> None:
        self.digit_only = on
        self.set_class(on, "-digit-only")

    def show(self, image: np.ndarray | None, proba: np.ndarray | None,
             true_label: int | None, caption: str = "") -> None:
        self.text = self.build(image, proba, true_label, caption)
        self.refresh()

    def show_message(self, message: str) -> None:
        self.text = Text(message, style="dim")
        self.refresh()

    def render(self) -> Text:
        return self.text

    def build(self, image, proba, true_label, caption: str = "") -> Text:
        text = Text(no_wrap=True, overflow="crop")
        if image is None:
            text.append("no sample yet: start training", style="dim")
            return text
        # Without colour, or with only 16 (grey levels collapse to about 4), use shade characters.
        plain = self.app.no_color or self.app.console.color_system in (None, "standard", "windows")
        digit_rows = render.shade_rows(image) if plain else None
        cells = render.half_block_cells(image)
        classes = getattr(getattr(self.app, "dataset", None), "classes", None)
        if classes is not None and classes[0] == "0":
            classes = None  # digits: the classic one-character labels
        bars = ([] if proba is None else render.probability_lines(
            proba, true_label, width=5 if self.compact else 12, decimals=0 if self.compact else 1,
            classes=classes))
        pred = int(np.argmax(proba)) if proba is not None else None
        # The caption beside the digit's last rows, over two lines when the column is narrow
        # (cut, it read "what the model see" at every width).
        room = self.size.width - (0 if self.bars_only else 30) if self.size.width else 0
        captions = caption_lines(caption, room) if caption else []
        for r in range(14):
            if self.bars_only:
                pass
            elif plain:
                text.append(digit_rows[r])
            else:
                for top, bottom in cells[r]:
                    text.append("▀", Style(color=render.grey(top), bgcolor=render.grey(bottom)))
            if self.digit_only:
                text.append("\n")
                continue
            if not self.bars_only:
                text.append("  ")
            if r < len(bars):
                right = pred is not None and r == pred and pred == true_label
                wrong = r == pred and true_label is not None and pred != true_label
                style = ("bold green" if right else "bold red" if wrong
                         else "bold cyan" if r == pred else "")
                text.append(bars[r], style=style)
            elif r == 11 and pred is not None and true_label is None:
                text.append(f"prediction: {pred}", style="bold")
            elif r == 11 and pred is not None:
                verdict = ("✓" if pred == true_label else "✗") if self.compact else (
                    "✓ right" if pred == true_label else "✗ wrong")
                text.append(f"true {true_label}  pred {pred}  {verdict}",
                            style="bold" if pred == true_label else "bold reverse")
            elif r in (12, 13) and r - 12 < len(captions):
                text.append(captions[r - 12], style="dim")
            text.append("\n")
        text.rstrip()
        return text


def caption_lines(caption: str, room: int) -> list[str]:
    """`caption` on one line if it fits in `room` columns, else on two, split between words
    (room 0: not laid out yet, one line)."""
    if room <= 0 or len(caption) <= room:
        return [caption]
    words = caption.split()
    first = ""
    while words and len(f"{first} {words[0]}".strip()) <= room:
        first = f"{first} {words.pop(0)}".strip()
    return [first or caption[:room], " ".join(words)] if words else [first]
