"""DrawCanvas: a 28x28 drawing surface in 28x14 half-block cells, by mouse or keyboard."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.message import Message
from textual.widget import Widget

from ...core.render import SHADES, grey, levels


class DrawCanvas(Widget, can_focus=True):
    """Drag to draw, right-drag to erase; arrows move a cursor, space paints, e erases, c clears."""

    DEFAULT_CSS = """
    DrawCanvas { width: 30; height: 16; border: round $primary; }
    DrawCanvas:focus { border: round $accent; }
    """
    BINDINGS = [
        Binding("up", "move(-1, 0)", "Up", show=False),
        Binding("down", "move(1, 0)", "Down", show=False),
        Binding("left", "move(0, -1)", "Left", show=False),
        Binding("right", "move(0, 1)", "Right", show=False),
        Binding("space", "paint", "Paint"),
        Binding("e", "erase", "Erase"),
        Binding("c", "clear", "Clear"),
    ]

    @dataclass
    class Changed(Message):
        """The drawing changed; `ink` is (28, 28) float32 in [0, 1]."""

        ink: np.ndarray

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.ink = np.zeros((28, 28), np.float32)
        self.cursor = (14, 14)  # pixel row, column
        self.dragging = 0  # mouse button held: 1 draws, 3 erases
        # The pictures drawn of this ink, with the cursor and without: Textual repaints a
        # widget each time it takes or loses the focus (every visit to the tab).
        self._drawn: dict[tuple, Text] = {}
        self._drawn_ink = b""

    def brush(self, row: int, col: int, erase: bool = False) -> None:
        """A soft round brush about two pixels wide, like MNIST's pen strokes."""
        for dr in (-1, 0, 1):
            for dc in (-1, 0, 1):
                r, c = row + dr, col + dc
                if 0 <= r < 28 and 0 <= c < 28:
                    strength = 1.0 if (dr, dc) == (0, 0) else 0.5 if dr * dc == 0 else 0.2
                    if erase:
                        self.ink[r, c] = 0.0 if strength >= 0.5 else self.ink[r, c]
                    else:
                        self.ink[r, c] = max(self.ink[r, c], strength)
        self.refresh()
        self.post_message(self.Changed(self.ink.copy()))

    def _pixel(self, event: events.MouseEvent) -> tuple[int, int] | None:
        offset = event.get_content_offset(self)
        if offset is None:
            return None
        col, row = offset.x, offset.y * 2  # each cell holds two pixel rows; paint both below
        return (row, col) if 0 <= col < 28 and 0 <= row < 28 else None

    def _stroke(self, event: events.MouseEvent, erase: bool) -> None:
        pixel = self._pixel(event)
        if pixel:
            self.cursor = pixel
            self.brush(pixel[0], pixel[1], erase)
            self.brush(pixel[0] + 1, pixel[1], erase)

    def on_mouse_down(self, event: events.MouseDown) -> None:
        self.dragging = event.button
        self.capture_mouse()
        self._stroke(event, erase=event.button == 3)

    def on_mouse_move(self, event: events.MouseMove) -> None:
        if self.dragging:
            self._stroke(event, erase=self.dragging == 3)

    def on_mouse_up(self, event: events.MouseUp) -> None:
        self.dragging = 0
        self.release_mouse()

    def action_move(self, dr: int, dc: int) -> None:
        r, c = self.cursor
        self.cursor = (min(27, max(0, r + dr)), min(27, max(0, c + dc)))
        self.refresh()

    def action_paint(self) -> None:
        self.brush(*self.cursor)

    def action_erase(self) -> None:
        self.brush(*self.cursor, erase=True)

    def set_ink(self, ink: np.ndarray) -> None:
        """Show this image (28, 28) in [0, 1] to draw on further; no Changed message."""
        self.ink = np.clip(np.asarray(ink, np.float32).reshape(28, 28), 0, 1).copy()
        self.refresh()

    def action_clear(self) -> None:
        self.ink[:] = 0
        self.refresh()
        self.post_message(self.Changed(self.ink.copy()))

    def render(self) -> Text:
        ink = self.ink.tobytes()
        if ink != self._drawn_ink:
            self._drawn, self._drawn_ink = {}, ink
        key = (self.cursor, self.has_focus, self.app.no_color)
        if key not in self._drawn:
            if len(self._drawn) > 4:  # cursor moves: keep only the latest few
                self._drawn.clear()
            self._drawn[key] = self._build(*key)
        return self._drawn[key]

    def _build(self, cursor: tuple[int, int], has_focus: bool, plain: bool) -> Text:
        t = Text(no_wrap=True)
        cr, cc = cursor
        for r in range(14):
            for c in range(28):
                top, bottom = self.ink[2 * r, c], self.ink[2 * r + 1, c]
                at_cursor = has_focus and c == cc and r == cr // 2
                if plain:
                    level = (top + bottom) / 2
                    ch = "+" if at_cursor else SHADES[int(levels(level * 5, 4))]
                    t.append(ch)
                else:
                    style = Style(color=grey(top * 255), bgcolor=grey(bottom * 255))
                    if at_cursor:
                        style = Style(color="rgb(255,80,80)" if cr % 2 == 0 else style.color,
                                      bgcolor="rgb(255,80,80)" if cr % 2 == 1 else style.bgcolor)
                    t.append("▀", style)
            if r < 13:
                t.append("\n")
        return t
