"""SteadyFooter: Textual's Footer, recomposed only when the keys it shows have changed, and then
only when it has fewer key widgets than keys: otherwise its key widgets are given the new keys
in place (those not needed hidden).

Textual's Footer rebuilds every key widget (each restyled as it mounts) on every focus change.
Profiled with py-spy while tab keys were sent in pairs to the app in tmux, that rebuild was
about a third of what a tab switch cost; between tabs with the same keys it changed nothing,
and between tabs with as many keys, updating the widgets it has costs a repaint, not a mount.
"""

from __future__ import annotations

from textual.widgets import Footer
from textual.widgets._footer import FooterKey


class SteadyFooter(Footer):
    """A Footer that skips the rebuild when the shown keys are the ones it shows already, and
    reuses its key widgets when only what they say has changed."""

    _shown: tuple | None = None

    def bindings_changed(self, screen) -> None:
        self._bindings_ready = True
        if not screen.app.app_focus:
            return
        if self.is_attached and screen is self.screen:
            # A burst of focus changes asks many times; the first rebuild answers them all.
            self.call_after_refresh(self._rebuild_if_changed)

    def _keys_shown(self) -> tuple:
        return tuple((key, b.description, enabled, tooltip) for key, (_, b, enabled, tooltip)
                     in self.screen.active_bindings.items() if b.show)

    async def _rebuild_if_changed(self) -> None:
        if not self.is_attached:
            return
        shown = self._keys_shown()
        if shown != self._shown:
            self._shown = shown
            if not self._update_in_place():
                await self.recompose()

    def _plain_keys(self) -> list[tuple] | None:
        """What `Footer.compose` would yield, as (key, key_display, description, action,
        disabled, tooltip) per key widget, when it would yield plain keys only (no group of
        keys, no palette key); else None."""
        if self.show_command_palette and self.app.ENABLE_COMMAND_PALETTE:
            return None
        by_action: dict[str, list] = {}
        for _, binding, enabled, tooltip in self.screen.active_bindings.values():
            if binding.show:
                by_action.setdefault(binding.action, []).append((binding, enabled, tooltip))
        keys = []
        for bindings in by_action.values():
            binding, enabled, tooltip = bindings[0]
            if binding.group is not None:
                return None  # Footer groups these (a KeyGroup and its label): recompose
            keys.append((binding.key, self.app.get_key_display(binding), binding.description,
                         binding.action, not enabled, tooltip))
        return keys

    def _update_in_place(self) -> bool:
        """Give the key widgets the keys to show, if there are as many widgets or more and
        all are plain, the extra ones hidden; True if done (nothing mounted or restyled)."""
        widgets = list(self.children)
        if not widgets or not all(type(w) is FooterKey and not w.has_class("-grouped")
                                  for w in widgets):
            return False
        keys = self._plain_keys()
        if keys is None or len(keys) > len(widgets):
            return False  # a recompose makes as many widgets as keys: later tabs reuse them
        spare = ("", "", "", "", True, "")  # a widget not needed now: hidden, says nothing
        for widget, (key, key_display, description, action, disabled, tooltip) in zip(
                widgets, keys + [spare] * (len(widgets) - len(keys)), strict=True):
            shown = bool(key)
            if (widget.key_display, widget.description) != (key_display, description):
                widget.key_display, widget.description = key_display, description
                widget.refresh(layout=shown)  # its width follows its text
            widget.key, widget.action = key, action
            if widget._disabled != disabled:
                widget._disabled = disabled
                widget.set_class(disabled, "-disabled")
            widget.tooltip = tooltip or None
            if widget.display != shown:
                widget.display = shown
        return True
