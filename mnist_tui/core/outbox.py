"""A queue in front of a pipe, emptied by a thread of its own, so that whoever puts never waits
on the reader: a run's events to its parent (engine.py), a hosted run's messages to each
viewer (host_viewer.py). Items queued back to back may merge into one (`merged`)."""

from __future__ import annotations

import threading
from collections import deque
from multiprocessing.connection import Connection


class Outbox:
    """Items waiting for `conn`, sent in order by a daemon thread; `broken` once a send failed
    (the reader is gone), after which nothing more is sent."""

    name = "outbox"  # the sending thread's name

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.items: deque = deque()
        self.cond = threading.Condition()
        self.closed = False
        self.broken = False
        self.thread = threading.Thread(target=self._send_all, name=self.name, daemon=True)
        self.thread.start()

    def merged(self, last, item):
        """`last` (queued, not yet sent) and `item` as one item, or None to queue both."""
        return None

    def put(self, item) -> None:
        with self.cond:
            both = self.merged(self.items[-1], item) if self.items else None
            if both is None:
                self.items.append(item)
            else:
                self.items[-1] = both
            self.cond.notify()

    def close(self, timeout: float | None = None) -> None:
        """Send what is queued, then end; wait up to `timeout` seconds for that (None: not)."""
        with self.cond:
            self.closed = True
            self.cond.notify()
        if timeout is not None:
            self.thread.join(timeout)

    def finished(self) -> None:
        """Called by the sending thread as it ends."""

    def _send_all(self) -> None:
        while True:
            with self.cond:
                while not self.items and not self.closed:
                    self.cond.wait()
                if not self.items:
                    break
                item = self.items.popleft()
            try:
                self.conn.send(item)
            except (OSError, ValueError):
                self.broken = True
                break
        self.finished()
