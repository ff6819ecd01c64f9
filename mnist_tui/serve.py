"""`mnist-tui serve`: textual-serve's Server with a cap on the sessions it runs at once, the
terminal sizes a browser asks for clamped, and each session's memory bounded.

Each browser tab is a dashboard process of its own (about 120 MB: 12 tabs took 1.43 GB).
Past the cap a tab is told why, in its terminal, and its socket is closed; no process starts.
A tab's slot is freed as soon as its socket closes, while its app is still ending.

A tab sends its size twice: in the websocket URL (`?width=…&height=…`, read by textual-serve's
handle_websocket) and in `resize` messages (its _process_messages). A page, or anyone with a
websocket client, can ask for 30000x30000: the app then builds a 9 GB screen. Both are clamped
to MAX_WIDTH x MAX_HEIGHT, and a size that is not a positive number becomes one that is.
"""

from __future__ import annotations

import contextvars
import math

from aiohttp import web
from textual_serve.server import Server

DEFAULT_MAX_SESSIONS = 4
MAX_WIDTH, MAX_HEIGHT = 500, 200  # cells: a 4K screen at a 6-pixel font is 640x216
DEFAULT_SIZE = (80, 24)
# Each process of a session (the app, its fork server, its runs) may have this much private
# memory (RLIMIT_DATA, `ulimit -d`); the dataset is shared memory and does not count. A session
# at MAX_WIDTH x MAX_HEIGHT uses a fraction of it (docs/HARDENING.md has the figures).
SESSION_MEMORY = 1536 * 2**20


def refusal(max_sessions: int) -> bytes:
    """What a tab over the cap shows, as terminal output."""
    s = "" if max_sessions == 1 else "s"
    return (f"\x1b[2J\x1b[H\r\n  mnist-tui: this server already runs {max_sessions} dashboard{s}, "
            f"its limit (--max-sessions {max_sessions}).\r\n\r\n"
            "  Close another tab, then reload this one.\r\n").encode()


def _cells(value, default: int, high: int) -> int:
    try:
        n = int(value) if not isinstance(value, float) or math.isfinite(value) else default
    except (TypeError, ValueError, OverflowError):
        return default
    return min(max(n, 1), high)


def clamp_size(width, height) -> tuple[int, int]:
    """A size a screen can have, from whatever a browser sent: 1..MAX_WIDTH x 1..MAX_HEIGHT;
    a value that is not a number gives the default size."""
    return (_cells(width, DEFAULT_SIZE[0], MAX_WIDTH), _cells(height, DEFAULT_SIZE[1], MAX_HEIGHT))


class _Slot:
    """One session's place under the cap, given back once (socket closed, or app ended)."""

    def __init__(self, server: CappedServer) -> None:
        self.server, self.held = server, True

    def release(self) -> None:
        if self.held:
            self.held = False
            self.server.sessions -= 1


_SLOT: contextvars.ContextVar[_Slot | None] = contextvars.ContextVar("mnist_tui_slot", default=None)


class _ClampedSizes:
    """textual-serve's AppService, with every resize clamped."""

    def __init__(self, service) -> None:
        self._service = service

    def __getattr__(self, name: str):
        return getattr(self._service, name)

    async def set_terminal_size(self, width, height) -> None:
        await self._service.set_terminal_size(*clamp_size(width, height))


class CappedServer(Server):
    """A Server that runs at most `max_sessions` apps at once, at sizes a screen can have."""

    def __init__(self, command: str, *args, max_sessions: int = DEFAULT_MAX_SESSIONS,
                 memory: int = SESSION_MEMORY, **kwargs) -> None:
        # textual-serve runs the command with /bin/sh: the limit holds for the app and every
        # process it starts. A shell without `ulimit -d` still runs the app, unbounded.
        command = f"ulimit -d {memory // 1024} 2>/dev/null; {command}"
        super().__init__(command, *args, **kwargs)
        self.max_sessions = max_sessions
        self.sessions = 0

    async def handle_websocket(self, request: web.Request) -> web.WebSocketResponse:
        if self.sessions >= self.max_sessions:
            websocket = web.WebSocketResponse()
            await websocket.prepare(request)
            await websocket.send_bytes(refusal(self.max_sessions))
            await websocket.close(message=b"too many sessions")
            return websocket
        self.sessions += 1  # counted before the first await: two tabs at once cannot both pass
        slot = _Slot(self)
        token = _SLOT.set(slot)
        width, height = clamp_size(request.query.get("width", DEFAULT_SIZE[0]),
                                   request.query.get("height", DEFAULT_SIZE[1]))
        request = request.clone(rel_url=request.rel_url.update_query(width=width, height=height))
        try:
            return await super().handle_websocket(request)
        finally:
            slot.release()
            _SLOT.reset(token)

    async def _process_messages(self, websocket: web.WebSocketResponse, app_service) -> None:
        """textual-serve's loop over a tab's messages (private: tests/soak/test_serve_sizes.py
        checks it is still there), with resizes clamped; when it ends, the socket has closed:
        the slot is free while the app takes its seconds to end."""
        try:
            await super()._process_messages(websocket, _ClampedSizes(app_service))
        finally:
            slot = _SLOT.get()
            if slot is not None:
                slot.release()
