"""A screen's first resume restyles every widget it has just styled as they mounted.

Upstream: no Textual issue found (searched Textualize/textual for ScreenResume refresh_styles
on startup). Fixed in: unfixed as of Textual 8.2.8.

The issue we would file ("The default screen is styled twice at startup"):

    `App._init_mode` registers the default screen and posts it `ScreenResume()`, whose
    `refresh_styles` defaults to True, so `Screen._on_screen_resume` runs
    `update_node_styles` on the whole screen. Its widgets were all styled moments before,
    as each mounted (`App._register`), with the same stylesheet and variables: the second
    pass changes nothing and costs as much as the first. A screen of 250 widgets spent a
    fifth of its time to the first frame on it (0.44 s of 2.3 s under cProfile).

The same goes for the breakpoint classes (`HORIZONTAL_BREAKPOINTS`): `Screen._on_resize` sets
them at the first Resize, after every widget has mounted, and the change restyles them all.

The guard: `StyledOnMount` (a Screen mixin) takes the first resume without the restyle; later
resumes (back from a modal, after a theme change) restyle as before. Its `breakpoints_now`,
called at the top of `compose`, gives the screen the breakpoint classes of the size the
terminal has then, before any widget mounts, so the first Resize changes no class (if the
size changes meanwhile, the Resize sets the classes and restyles, as it always did).
"""

from __future__ import annotations

from textual import events

__all__ = ["PATCHED", "StyledOnMount"]

PATCHED = (
    ("textual.screen", "Screen._on_screen_resume"),
    ("textual.screen", "Screen._get_breakpoint_classes"),  # what breakpoints_now mirrors
)


class StyledOnMount:
    """Screen methods (a mixin placed before Screen): no restyle of the whole screen at its
    first resume, which follows its mount."""

    _resumed = False

    def breakpoints_now(self) -> None:
        """The breakpoint classes `Screen._on_resize` would set for the app's size now."""
        width, height = self.app.size
        for dimension, mine, apps in (
                (width, self.HORIZONTAL_BREAKPOINTS, self.app.HORIZONTAL_BREAKPOINTS),
                (height, self.VERTICAL_BREAKPOINTS, self.app.VERTICAL_BREAKPOINTS)):
            points = (apps if mine is None else mine) or []
            chosen = next((name for at, name in sorted(points, reverse=True) if dimension >= at),
                          None)
            self.update_classes({name: name == chosen for _, name in points}, update=False)

    def _on_screen_resume(self, event: events.ScreenResume) -> None:
        if not self._resumed:
            self._resumed = True
            event.refresh_styles = False  # styled as they mounted, a moment ago
        super()._on_screen_resume(event)
