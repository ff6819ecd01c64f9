"""Textual's gaps, and only those: one module per upstream bug, each guard as narrow as the fault.

Every module names the upstream issue it answers (or, where none was filed, the text of the
issue we would file), the Textual version that fixes it ("unfixed as of 8.2.8" until one
does), and lists in `PATCHED` every private Textual name it overrides or reads.
tests/unit/test_compat.py checks that each of those names still exists in the installed
Textual, so an upgrade that renames one fails loudly instead of silently unguarding the app.
When Textual fixes a gap, delete its module and the names it lists.

Product policy (the toast cap, a palette without Quit) is not here: it lives in ui/app.py.
"""

from __future__ import annotations

from .command_palette import SafeCommandPalette, SafePaletteApp
from .first_resume import StyledOnMount
from .key_order import KeysInOrder
from .option_list import Select
from .screen_stack import ScreenStackGuards
from .styles_unmounted import StylesOnceMounted

__all__ = ["PATCHED", "KeysInOrder", "SafeCommandPalette", "SafePaletteApp", "ScreenStackGuards", "Select",
           "StyledOnMount", "StylesOnceMounted"]


def _patched() -> tuple[tuple[str, str], ...]:
    from . import (
        command_palette,
        first_resume,
        input_thread,
        key_order,
        option_list,
        screen_stack,
        styles_unmounted,
    )

    return (option_list.PATCHED + command_palette.PATCHED + screen_stack.PATCHED
            + key_order.PATCHED + styles_unmounted.PATCHED + first_resume.PATCHED
            + input_thread.PATCHED)


PATCHED = _patched()
"""(module, dotted name) of every private Textual name a guard here overrides or reads."""
