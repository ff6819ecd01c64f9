"""SignedImage: 784 signed values as a 28x14 half-block picture, red + and blue −, with a title
and a caption (a saliency map, a unit's receptive field)."""

from __future__ import annotations

import numpy as np
from rich.style import Style
from rich.text import Text
from textual.widget import Widget

from ...core.render import signed_cells


class SignedImage(Widget):
    DEFAULT_CSS = "SignedImage { width: 30; height: 16; }"

    def __init__(self, title: str = "", **kwargs) -> None:
        super().__init__(**kwargs)
        self.title, self.values, self.caption = title, None, ""

    def show(self, values: np.ndarray | None, title: str | None = None, caption: str = "") -> None:
        self.values = None if values is None else np.asarray(values, np.float32).ravel()
        if title is not None:
            self.title = title
        self.caption = caption
        self.refresh()

    def render(self) -> Text:
        out = Text(no_wrap=True, overflow="crop")
        out.append(self.title + "\n", style="bold")
        if self.values is None:
            out.append(self.caption or "nothing to show yet", style="dim")
            return out
        cells, shades = signed_cells(self.values)
        plain = self.app.no_color or self.app.console.color_system in (None, "standard", "windows")
        for r in range(14):
            if plain:
                out.append(shades[r])
            else:
                for top, bottom in cells[r]:
                    out.append("▀", Style(color=top, bgcolor=bottom))
            out.append("\n")
        out.append(self.caption, style="dim")
        return out
