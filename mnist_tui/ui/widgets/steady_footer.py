"""SteadyFooter: Textual's Footer, recomposed only when the keys it shows have changed.

Textual's Footer rebuilds every key widget (each restyled as it mounts) on every focus change.
Profiled with py-spy while tab keys were sent in pairs to the app in tmux, that rebuild was
about a third of what a tab switch cost; between tabs with the same keys it changed nothing.
"""

from __future__ import annotations

from textual.widgets import Footer


class SteadyFooter(Footer):
    """A Footer that skips the rebuild when the shown keys are the ones it shows already."""

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
            await self.recompose()
