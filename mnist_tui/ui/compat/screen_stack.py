"""A second pop of the last screen, and keys still queued once the app exited, raise ScreenStackError.

Upstream: no Textual issue found (searched Textualize/textual for ScreenStackError with
pop_screen / key events during exit; Textual #2575 "Screen.dismiss should error if not the
top-most screen" is about the opposite case). Fixed in: unfixed as of Textual 8.2.8.

The issue we would file ("ScreenStackError when a modal is dismissed twice, and for keys
queued while the app exits"):

    1. Enter twice within ~50 ms in the command palette (Ctrl+P, Enter, Enter in one write)
       dismisses it twice; the second dismissal pops the last screen and `App.pop_screen`
       raises ScreenStackError ("Can't pop screen; there must be at least one screen on the
       stack"), which ends the app as a crash.
    2. `q` pressed twice quickly: the first exits the app and the screens are removed; the
       second `Key` is still queued, and `App.on_event` / `App._on_key` look at `self.screen`
       for it, which raises ScreenStackError with no screen left. A key with no screen to go
       to could be dropped.

The guard: `ScreenStackGuards` (an App mixin) ignores a pop with nothing left to pop, and
drops keys that arrive once the screen stack is empty.
"""

from __future__ import annotations

from textual.await_complete import AwaitComplete

__all__ = ["PATCHED", "ScreenStackGuards"]

PATCHED = (
    ("textual.app", "App._screen_stack"),
    ("textual.app", "App._on_key"),
)


class ScreenStackGuards:
    """App methods (a mixin placed before App): no ScreenStackError from a double pop or a
    key queued after exit."""

    def pop_screen(self) -> AwaitComplete:
        if len(self.screen_stack) <= 1:  # dismissed twice: nothing left to pop
            return AwaitComplete().call_next(self)
        return super().pop_screen()

    async def on_event(self, event) -> None:
        # A key still queued while the app closes (q, then q again, on a slow machine): App's
        # on_event looks at `self.screen` for every key, and with no screen left that raised
        # ScreenStackError, which ended the app as a crash. Such a key has nowhere to go.
        from textual import events

        if isinstance(event, events.Key) and not self._screen_stack:
            return
        await super().on_event(event)

    async def _on_key(self, event) -> None:
        # Textual calls the `_on_key` of every class in the MRO, so App._on_key runs after this
        # one by itself (calling super() here would handle every key twice); prevent_default
        # stops it for keys still queued once the app has exited.
        if not self._screen_stack:
            event.prevent_default()
