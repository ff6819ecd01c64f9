"""Keys apply out of the order typed when several arrive in one read (a burst over SSH).

Textual hands each key to the focused widget's queue, from there to its parent's, and runs the
non-priority bindings (Tab's focus move, the app's one-letter keys) only when the key has
bubbled back to the App; meanwhile the App has already handed the rest of the burst to the
widget that was focused then. `64<Tab>3` in one read gave `643` in the first field, and `f`
followed at once by Tab lost the Tab.

Upstream: no Textual issue found for key order within one driver read. Fixed in: unfixed as of
Textual 8.2.8. The issue we would file ("Keys in one read are dispatched before an earlier
key's bindings ran"):

    Send `a<Tab>b` to an app with two Inputs in one write (tmux send-keys -l $'a\tb'): `b`
    lands in the first Input, because the Tab binding runs only when the Tab key has bubbled
    from the Input's queue back to the App, after the App already posted `b` to the Input.
    Expected: each key's bindings (focus moves included) apply before the next key is
    dispatched, as they do when the keys arrive one read at a time.

The guard: `KeysInOrder` (an App mixin) hands each key along the focus chain itself, awaited,
in the App's own task, so that every key, bindings and focus moves included, has been applied
before the next one is looked at.
"""

from __future__ import annotations

import asyncio

from textual import events
from textual.widgets import Input

__all__ = ["PATCHED", "KeysInOrder"]

FOCUS_WAIT = 0.5  # seconds a key waits, at most, for the field a key before it focused

PATCHED = (
    ("textual.app", "App._check_bindings"),
    ("textual.app", "App._screen_stack"),
    ("textual.screen", "Screen._clear_tooltip"),
    ("textual.message_pump", "MessagePump._context"),
    ("textual.message_pump", "MessagePump._dispatch_message"),
    ("textual.message", "Message._set_forwarded"),
    ("textual.message", "Message._stop_propagation"),
    ("textual.dom", "DOMNode._parent"),
)


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
