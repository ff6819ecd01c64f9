"""A widget restyles itself each time a class changes, even before it is mounted.

Upstream: no Textual issue found (searched Textualize/textual for update_styles / set_class on
widgets not yet mounted). Fixed in: unfixed as of Textual 8.2.8.

The issue we would file ("Class changes before mount apply the whole stylesheet to the widget,
only for it to be applied again when it mounts"):

    `DOMNode.add_class` / `remove_class` / `set_class` call `update_node_styles`, and
    `App.update_styles` runs `Stylesheet.update_nodes` at once, matching every rule against
    the node, whether or not it is mounted. An `Input` given a value and validators in its
    constructor validates it there (`_watch_value`), setting `-valid` and `-invalid`: two
    full style applications per field, and a third when it mounts. A form of 22 Inputs spent
    a tenth of its app's first frame on it (0.14 s of 1.3 s under cProfile).

The guard: `StylesOnceMounted` (an App mixin) skips `update_styles` for a widget that is not
attached to the DOM yet; `_register` applies its styles whole (with every class it has by then)
when it mounts.
"""

from __future__ import annotations

from textual.dom import DOMNode
from textual.screen import Screen
from textual.widget import Widget

__all__ = ["PATCHED", "StylesOnceMounted"]

PATCHED = (
    ("textual.app", "App._register"),  # applies a mounting widget's styles whole (read, not patched)
)


class StylesOnceMounted:
    """App methods (a mixin placed before App): no restyle of a widget before it mounts."""

    def update_styles(self, node: DOMNode, animate: bool = True) -> None:
        if isinstance(node, Widget) and not isinstance(node, Screen) and not node.is_attached:
            return  # styled whole when it mounts (App._register)
        super().update_styles(node, animate=animate)
