"""CappedInput: an Input that keeps a burst of keys in order, and caps its length.

Keys in order: Textual inserts a printable key when the Input handles it, but runs an
editing binding (Backspace, Delete, arrows, Home/End) only after the key has bubbled up to
the App. Over SSH keys arrive in bursts, so `⌫⌫⌫⌫0.02` in one read came out as digits first
and Backspaces after: an empty field (4 of 4 tries in tmux). Here the Input runs its own
bindings as it handles each key, in the order typed.

Textual's Input drops a paste that would pass `max_length`, silently. Here the paste is cut
to fit, so the field's validator can say what is wrong ("too long") and the user sees a ✗.
The cap also bounds the work per keystroke: 16,000 typed characters cost 20 CPU seconds.
"""

from __future__ import annotations

from textual import events
from textual.widgets import Input


class CappedInput(Input):
    """An Input of at most `max_length` characters (a paste is cut to fit, not dropped)."""

    def __init__(self, *args, max_length: int = 200, **kwargs) -> None:
        super().__init__(*args, max_length=max_length, **kwargs)

    async def _on_key(self, event: events.Key) -> None:
        bindings = self._bindings.key_to_bindings.get(event.key)
        if bindings and not event.is_printable:
            event.stop()
            event.prevent_default()
            await self.run_action(bindings[0].action)
            return
        await super()._on_key(event)

    def _on_paste(self, event: events.Paste) -> None:
        if event.text:
            line = event.text.splitlines()[0] if event.text.splitlines() else ""
            start, end = sorted(self.selection)
            room = self.max_length - (len(self.value) - (end - start))
            self.replace(line[: max(0, room)], start, end)
        event.stop()
        # Textual calls the `_on_paste` of every class in the MRO: without this, Input's own
        # handler pasted the text a second time ("0.5" became "0.50.5").
        event.prevent_default()
