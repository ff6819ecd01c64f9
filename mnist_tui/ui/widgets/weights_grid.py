"""WeightsGrid: first-layer receptive fields, one 28x28 half-block image per hidden unit."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.message import Message
from textual.widget import Widget

from ...core.render import signed_cells

CELL_W, CELL_H = 29, 15  # 28 columns + a gap; 14 rows + a caption


class WeightsGrid(Widget, can_focus=True):
    """As many units as fit; [ and ] (or ←/→) page through them. Red +, blue −."""

    BINDINGS = [
        Binding("right,]", "page(1)", "Next units", key_display="→/]"),
        Binding("left,[", "page(-1)", "Prev units", key_display="←/["),
        Binding("down", "select(1)", "Next unit", show=False),
        Binding("up", "select(-1)", "Prev unit", show=False),
        Binding("enter", "choose", "Open unit", key_display="⏎"),
    ]

    @dataclass
    class UnitChosen(Message):
        """Open this hidden unit on its own (UnitScreen)."""

        unit: int

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.W1: np.ndarray | None = None
        self.first = 0
        self.selected = 0  # the unit Enter opens; ↑/↓ move it
        # The last picture drawn, and what it was drawn from: Textual repaints a widget each
        # time it takes or loses the focus (every visit to the tab), and the picture is the
        # same then; building it was 10 ms a visit.
        self._drawn: tuple[tuple, Text] | None = None

    @property
    def per_page(self) -> int:
        cols = max(1, self.size.width // CELL_W)
        rows = max(1, (self.size.height - 1) // CELL_H)
        return cols * rows

    def set_weights(self, W1: np.ndarray) -> None:
        self.W1 = np.array(W1, dtype=np.float32, copy=True)
        self._drawn = None
        self.first = min(self.first, max(0, self.W1.shape[1] - 1))
        self.refresh()

    def action_select(self, delta: int) -> None:
        if self.W1 is None:
            return
        n = self.W1.shape[1]
        self.selected = (self.selected + delta) % n
        if not self.first <= self.selected < self.first + self.per_page:
            self.first = (self.selected // self.per_page) * self.per_page
        self.refresh()

    def action_choose(self) -> None:
        if self.W1 is not None:
            self.post_message(self.UnitChosen(self.selected))

    def on_click(self, event: events.Click) -> None:
        if self.W1 is None:
            return
        offset = event.get_content_offset(self)
        if offset is None or offset.y < 1:
            return
        cols = max(1, self.size.width // CELL_W)
        unit = self.first + ((offset.y - 1) // CELL_H) * cols + offset.x // CELL_W
        if unit < min(self.W1.shape[1], self.first + self.per_page):
            self.selected = unit
            self.refresh()
            self.post_message(self.UnitChosen(unit))

    def action_page(self, delta: int) -> None:
        if self.W1 is None:
            return
        n = self.W1.shape[1]
        self.first = (self.first + delta * self.per_page) % (((n - 1) // self.per_page + 1) * self.per_page)
        if self.first >= n:
            self.first = 0 if delta > 0 else ((n - 1) // self.per_page) * self.per_page
        self.selected = self.first
        self.refresh()

    def render(self) -> Text:
        if self.W1 is None:
            return Text("no weights yet: start training or load a checkpoint", style="dim")
        plain = self.app.no_color or self.app.console.color_system in (None, "standard", "windows")
        key = (self.first, self.selected, self.size, plain)
        if self._drawn is None or self._drawn[0] != key:
            self._drawn = (key, self._build(plain))
        return self._drawn[1]

    def _build(self, plain: bool) -> Text:
        n = self.W1.shape[1]
        cols = max(1, self.size.width // CELL_W)
        units = list(range(self.first, min(n, self.first + self.per_page)))
        out = Text(no_wrap=True, overflow="crop")
        last = units[-1] + 1 if units else 0
        out.append(f"units {self.first}–{last - 1} of {n} · ←/→ page · ↑/↓ ⏎ or click: one unit"
                   f" · red +, blue − (no colour: dark +, light −)\n", style="dim")
        for start in range(0, len(units), cols):
            row_units = units[start : start + cols]
            images = [signed_cells(self.W1[:, u]) for u in row_units]
            for r in range(14):
                for cells, shades in images:
                    if plain:
                        out.append(shades[r])
                    else:
                        for top, bottom in cells[r]:
                            out.append("▀", Style(color=top, bgcolor=bottom))
                    out.append(" ")
                out.append("\n")
            for u in row_units:
                if u == self.selected:
                    out.append(f"▶unit {u:<{CELL_W - 6}}", style="bold reverse")
                else:
                    out.append(f"unit {u:<{CELL_W - 5}}", style="dim")
            out.append("\n")
        return out
