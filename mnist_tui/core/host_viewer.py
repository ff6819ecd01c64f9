"""One viewer of a hosted run (core/host.py): what the host sends it queues here and a thread
of its own sends it, progress reports merged, so a slow viewer never holds the run up."""

from __future__ import annotations

import contextlib
import threading
from dataclasses import replace
from multiprocessing.connection import Connection

from .events import BatchProgress


class Viewer:
    """One viewer's connection: messages queue here and a thread sends them, progress merged,
    so a slow viewer never holds the run up."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.items: list = []
        self.cond = threading.Condition()
        self.closed = False
        self.thread = threading.Thread(target=self._send_all, daemon=True, name="viewer-out")
        self.thread.start()

    def put(self, message) -> None:
        with self.cond:
            last = self.items[-1] if self.items else None
            ev = message[1] if message[0] == "event" else None
            if isinstance(ev, BatchProgress) and last and last[0] == "event" \
                    and isinstance(last[1], BatchProgress):
                self.items[-1] = ("event", replace(ev, losses=last[1].losses + ev.losses))
            else:
                self.items.append(message)
            self.cond.notify()

    def close(self) -> None:
        with self.cond:
            self.closed = True
            self.cond.notify()

    def _send_all(self) -> None:
        while True:
            with self.cond:
                while not self.items and not self.closed:
                    self.cond.wait()
                if not self.items:
                    break
                message = self.items.pop(0)
            try:
                self.conn.send(message)
            except (OSError, ValueError):
                break
        with contextlib.suppress(OSError):
            self.conn.close()
