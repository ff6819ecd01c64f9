"""Two crashes in Textual 8.2 found by sending the app random keys, and their guards.

Each guard is as narrow as the fault, and tests/ui/test_hardening.py's random-key test fails
without it:

- `OptionList._move_page` (PageUp/PageDown in a Select's list or the palette's) reads its line
  cache by index before the cache is rebuilt after the options change, and raises KeyError.
  Until the lines exist there is no page to move by, so the key does nothing.
- The command palette gathers commands in a worker that queries its list; when Enter closes the
  palette while the worker runs, the query raises NoMatches and the worker's error ends the app.
  `SafeCommandPalette` runs the same worker, and a palette that is gone just stops gathering.
"""

from __future__ import annotations

from textual import work
from textual.command import CommandPalette
from textual.css.query import NoMatches
from textual.widgets import OptionList

_move_page = OptionList._move_page


def _guarded_move_page(self: OptionList, direction) -> None:
    try:
        _move_page(self, direction)
    except (KeyError, IndexError):
        pass  # the lines are not laid out yet: no page to move by


OptionList._move_page = _guarded_move_page

_gather = CommandPalette._gather_commands.__wrapped__


class SafeCommandPalette(CommandPalette):
    """Textual's palette, whose worker stops quietly once the palette has closed."""

    @work(exclusive=True, group=CommandPalette._GATHER_COMMANDS_GROUP, exit_on_error=False)
    async def _gather_commands(self, search_value: str) -> None:
        try:
            await _gather(self, search_value)
        except NoMatches:
            pass  # closed while gathering (Enter came during the search)
