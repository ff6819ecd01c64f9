"""The command palette's gathering worker, watchers and keys query its children after it closed.

Upstream: no Textual issue found (searched Textualize/textual for NoMatches / CommandList /
`_gather_commands`; the nearest, PR #5544 "Fix crash in Command Palette", is a different
crash). Fixed in: unfixed as of Textual 8.2.8.

The issue we would file ("Command palette: NoMatches from CommandList when a key closes the
palette while it is gathering"):

    `CommandPalette._gather_commands` runs in an exclusive worker that queries
    `CommandList` and `LoadingIndicator` between awaits. When Enter (or Escape) closes the
    palette while the worker is between two awaits, the next `query_one(CommandList)` raises
    NoMatches, and because the worker is `exit_on_error=True` the app ends. The watchers
    `_watch__list_visible` / `_watch__show_busy` and the actions `_action_cursor_down`,
    `_action_command_list`, `_action_escape` query the same children and raise the same way
    when a queued key reaches a palette that is being removed. Reproduce by sending
    Ctrl+P, a letter and Enter in one write (one driver read) on a loaded machine, or by
    random keys. A palette that is gone could simply stop gathering
    (`exit_on_error=False`, or `except NoMatches: return` around the queries).

The guard: `SafeCommandPalette` runs the same worker without exit-on-error and drops
NoMatches in those five places, and `SafePaletteApp` (an App mixin) opens it wherever
Textual would open its own palette (Ctrl+P, the "Theme" command, `search_commands`).
The palette's page keys also reach option_list's gap through `_action_command_list`.
"""

from __future__ import annotations

from textual import work
from textual.command import CommandPalette
from textual.css.query import NoMatches

__all__ = ["PATCHED", "SafeCommandPalette", "SafePaletteApp"]

PATCHED = (
    ("textual.command", "CommandPalette._gather_commands"),
    ("textual.command", "CommandPalette._GATHER_COMMANDS_GROUP"),
    ("textual.command", "CommandPalette._watch__list_visible"),
    ("textual.command", "CommandPalette._watch__show_busy"),
    ("textual.command", "CommandPalette._action_cursor_down"),
    ("textual.command", "CommandPalette._action_command_list"),
    ("textual.command", "CommandPalette._action_escape"),
)

_gather = CommandPalette._gather_commands.__wrapped__


class SafeCommandPalette(CommandPalette):
    """Textual's palette, whose worker stops quietly once the palette has closed."""

    @work(exclusive=True, group=CommandPalette._GATHER_COMMANDS_GROUP, exit_on_error=False)
    async def _gather_commands(self, search_value: str) -> None:
        try:
            await _gather(self, search_value)
        except NoMatches:
            pass  # closed while gathering (Enter came during the search)

    # Its watchers query its children too, and run after they are gone on a fast close.
    def _watch__list_visible(self) -> None:
        try:
            super()._watch__list_visible()
        except NoMatches:
            pass

    async def _watch__show_busy(self) -> None:
        try:
            await super()._watch__show_busy()
        except NoMatches:
            pass

    # Its cursor keys query the command list too: a Down queued while it closes found none.
    def _action_cursor_down(self) -> None:
        try:
            super()._action_cursor_down()
        except NoMatches:
            pass

    def _action_command_list(self, action: str) -> None:
        try:
            super()._action_command_list(action)
        except NoMatches:
            pass
        except (KeyError, IndexError):
            pass  # PageUp/PageDown before the list's lines exist: see option_list.py

    def _action_escape(self) -> None:
        try:
            super()._action_escape()
        except NoMatches:
            pass


class SafePaletteApp:
    """App methods (a mixin placed before App): every palette the app opens is the safe one."""

    def action_command_palette(self) -> None:
        if self.use_command_palette and not SafeCommandPalette.is_open(self):
            self.push_screen(SafeCommandPalette(id="--command-palette"))

    def search_themes(self) -> None:
        """Textual's theme search, in the guarded palette: Textual's own (the palette's
        "Theme" command opens it) crashed the app when a key closed it mid-search, as the
        main palette did (random keys, seed 7, under load)."""
        from textual.theme import ThemeProvider

        self.push_screen(SafeCommandPalette(providers=[ThemeProvider],
                                            placeholder="Search for themes…"))

    def search_commands(self, commands, placeholder: str = "Search for commands…"):
        from textual.command import SimpleProvider

        return self.push_screen(SafeCommandPalette(
            providers=[SimpleProvider(self.screen, commands)], placeholder=placeholder))
