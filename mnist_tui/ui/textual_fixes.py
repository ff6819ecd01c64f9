"""Two crashes in Textual 8.2 found by sending the app random keys, and their guards.

Each guard is as narrow as the fault, and tests/ui/test_hardening.py's random-key test fails
without it:

- `OptionList._move_page` (PageUp/PageDown in a Select's list or the palette's) reads its line
  cache by index before the cache is rebuilt after the options change, and raises KeyError.
  Until the lines exist there is no page to move by, so the key does nothing.
- The command palette gathers commands in a worker that queries its list; when Enter closes the
  palette while the worker runs, the query raises NoMatches and the worker's error ends the app.
  `SafeCommandPalette` runs the same worker, and a palette that is gone just stops gathering.
- Enter twice within ~50 ms in the palette (Ctrl-P, Enter, Enter) dismisses it twice, and the
  second pop of the last screen raised ScreenStackError. `PaletteGuards.pop_screen` ignores a
  pop with nothing left to pop, and `_on_key` and `on_event` ignore keys still queued once the
  app has exited (looking at the screen for them raised ScreenStackError with none left).

And one gap that is not a crash: keys apply out of the order typed. Textual hands each key to
the focused widget's queue, from there to its parent's, and runs the non-priority bindings
(Tab's focus move, the app's one-letter keys) only when the key has bubbled back to the App;
meanwhile the App has already handed the rest of the burst to the widget that was focused
then. `64<Tab>3` in one read gave `643`, `f<Tab>` lost the Tab. `KeysInOrder` hands a key
along the same chain, node by node, in the App's own task, so that each key, bindings and
focus moves included, has been applied before the next one is looked at.
"""

from __future__ import annotations

import asyncio

from textual import events, work
from textual.await_complete import AwaitComplete
from textual.command import CommandPalette
from textual.css.query import NoMatches
from textual.widgets import Input, OptionList

FOCUS_WAIT = 0.5  # seconds a key waits, at most, for the field a key before it focused

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

    def _action_escape(self) -> None:
        try:
            super()._action_escape()
        except NoMatches:
            pass


class KeysInOrder:
    """App methods (a mixin placed before App): every key is applied before the next one.

    App.on_event's key branch, except that the key goes through the focus chain (the focused
    widget, its ancestors, the screen, the App) here, awaited, instead of being posted to the
    focused widget's queue to bubble from queue to queue. The handlers run as Textual runs
    them (each in its node's context, the same flags for stop and prevent_default), only
    without the App's queue racing ahead of them."""

    async def on_event(self, event) -> None:
        if (isinstance(event, events.Key) and not event.is_forwarded and self._screen_stack
                and not (self.screen.maximized is not None and event.key == "escape"
                         and self.escape_to_minimize)):
            self.app_focus = True
            if self.focused:
                self.screen._clear_tooltip()
            focused = self.focused
            if not await self._check_bindings(event.key, priority=True):
                await self._deliver_key(event)
            if self.focused is not focused and isinstance(self.focused, Input):
                # The key moved the focus to a field: the field handles its Focus event (it
                # selects its text then, so typing replaces it) before the next key. Only a
                # field is waited for: a table's queue may hold a redraw of its whole tab.
                caught_up = asyncio.Event()
                if self.focused.call_later(caught_up.set):
                    try:
                        await asyncio.wait_for(caught_up.wait(), FOCUS_WAIT)
                    except TimeoutError:
                        pass  # a busy widget: the keys go on rather than wait for ever
            return
        await super().on_event(event)

    async def _deliver_key(self, event: events.Key) -> None:
        event._set_forwarded()
        event.bubble = False  # this loop does the bubbling
        node = self.focused or self.screen
        while node is not self:
            if not node.check_message_enabled(event):
                return  # a disabled widget: Textual drops the key there too
            with node._context():
                await node._dispatch_message(event)
            if event._stop_propagation or not (node.is_parent_active and node.is_attached):
                return
            node = node._parent
            if node is None:
                return
        await super().on_event(event)  # the App's own handlers: the non-priority bindings


class PaletteGuards:
    """App methods (a mixin placed before App): the safe palette, without Quit, the guards,
    and notifications that do not pile up."""

    MAX_TOASTS = 4

    def notify(self, message: str, *, title: str = "", severity="information",
               timeout: float | None = None, markup: bool = True) -> None:
        """Textual's notify, except that a message already showing is not shown again, and
        at most MAX_TOASTS show at once. `s` pressed 300 times with a form that cannot start
        stacked 300 identical toasts, and mounting each restyled all the others: the random-key
        test went from 40 s to over 300 s."""
        import time

        now = time.monotonic()
        shown = getattr(self, "_toasts_shown", {})
        shown = {k: t for k, t in shown.items() if t > now}
        key = (str(message), title, severity)
        if key in shown or len(shown) >= self.MAX_TOASTS:
            self._toasts_shown = shown
            return
        shown[key] = now + (self.NOTIFICATION_TIMEOUT if timeout is None else timeout)
        self._toasts_shown = shown
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=markup)

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

    def get_system_commands(self, screen):
        """Without Quit: q quits, and a stray Enter in the palette must not end a run."""
        for command in super().get_system_commands(screen):
            if command.title != "Quit":
                yield command

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
