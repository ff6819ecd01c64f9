"""PageUp/PageDown in an OptionList whose lines are not laid out yet raises KeyError.

Upstream: no Textual issue found (searched Textualize/textual for the KeyError in
`OptionList._move_page`); the same crash was reported downstream in kagan-sh/kagan-legacy#31
(a `SelectOverlay`, `action_page_down`). Fixed in: unfixed as of Textual 8.2.8.

The issue we would file ("OptionList: PageUp/PageDown raise KeyError before the options'
lines exist"):

    `OptionList._update_lines` returns early while the list has no scrollable content region
    (a `Select` whose overlay has not been shown yet, or the command palette's list in the
    frame after its options change). `_move_page` then reads `self._index_to_line[highlighted]`
    from the empty line cache and raises KeyError, which ends the app:

        from textual.app import App
        from textual.widgets import Select
        from textual.widgets._select import SelectOverlay

        class A(App):
            def compose(self):
                yield Select.from_values(range(30), value=3)
            def on_mount(self):
                overlay = self.query_one(SelectOverlay)
                overlay.highlighted = 3
                overlay.action_page_down()   # KeyError: 3

    `scroll_to_highlight` already treats the missing key as "nothing to do yet"; `_move_page`
    could do the same (`if highlighted not in self._index_to_line: return`).

The guard: a `Select` whose overlay is a `SelectOverlay` with that check, so the key does
nothing until there is a page to move by. The palette's list gets the same guard in
command_palette.SafeCommandPalette._action_command_list (the palette's page keys go through it).
No process-wide patch of OptionList.
"""

from __future__ import annotations

from textual.widgets import Select as _TextualSelect
from textual.widgets._select import SelectCurrent, SelectOverlay

__all__ = ["PATCHED", "Select"]

PATCHED = (
    ("textual.widgets._option_list", "OptionList._move_page"),
    ("textual.widgets._select", "SelectOverlay"),
    ("textual.widgets._select", "SelectCurrent"),
    ("textual.widgets._select", "Select._type_to_search"),
)


class GuardedSelectOverlay(SelectOverlay):
    """Textual's Select overlay, whose page keys do nothing until its lines are laid out."""

    def _move_page(self, direction) -> None:
        try:
            super()._move_page(direction)
        except (KeyError, IndexError):
            pass  # the lines are not laid out yet: no page to move by


class Select(_TextualSelect):
    """Textual's Select, with the guarded overlay (a drop-in: same messages, same CSS type)."""

    def compose(self):
        # Textual's Select.compose, with the overlay swapped; Select's own queries for
        # SelectOverlay find the subclass.
        yield SelectCurrent(self.prompt)
        yield GuardedSelectOverlay(type_to_search=self._type_to_search).data_bind(
            compact=_TextualSelect.compact)
