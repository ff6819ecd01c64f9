"""`mnist-tui serve`: textual-serve's Server with a cap on the sessions it runs at once.

Each browser tab is a dashboard process of its own (about 120 MB: 12 tabs took 1.43 GB).
Past the cap a tab is told why, in its terminal, and its socket is closed; no process starts.
"""

from __future__ import annotations

from aiohttp import web
from textual_serve.server import Server

DEFAULT_MAX_SESSIONS = 4


def refusal(max_sessions: int) -> bytes:
    """What a tab over the cap shows, as terminal output."""
    s = "" if max_sessions == 1 else "s"
    return (f"\x1b[2J\x1b[H\r\n  mnist-tui: this server already runs {max_sessions} dashboard{s}, "
            f"its limit (--max-sessions {max_sessions}).\r\n\r\n"
            "  Close another tab, then reload this one.\r\n").encode()


class CappedServer(Server):
    """A Server that runs at most `max_sessions` apps at once."""

    def __init__(self, *args, max_sessions: int = DEFAULT_MAX_SESSIONS, **kwargs) -> None:
        super().__init__(*args, **kwargs)
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
        try:
            return await super().handle_websocket(request)
        finally:
            self.sessions -= 1
