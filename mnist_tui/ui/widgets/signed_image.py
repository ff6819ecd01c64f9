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
        self.scale = 1

    def show(self, values: np.ndarray | None, title: str | None = None, caption: str = "",
             scale: int = 1) -> None:
        """scale 2: each pixel a whole cell two columns wide (56x28), else half-blocks (28x14)."""
        self.values = None if values is None else np.asarray(values, np.float32).ravel()
        self.scale = scale
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
        caption = self.caption
        if plain:  # shades stand for the colours: dark +, light −
            caption = caption.replace("red", "dark").replace("blue", "light")
        if self.scale == 2:
            for r in range(28):
                for c in range(28):
                    if plain:
                        out.append(shades[r // 2][c] * 2)
                    else:
                        out.append("  ", Style(bgcolor=cells[r // 2][c][r % 2]))
                out.append("\n")
            out.append(caption, style="dim")
            return out
        for r in range(14):
            if plain:
                out.append(shades[r])
            else:
                for top, bottom in cells[r]:
                    out.append("▀", Style(color=top, bgcolor=bottom))
            out.append("\n")
        out.append(caption, style="dim")
        return out
