"""One viewer of a hosted run (core/host.py): what the host sends it queues here and a thread
of its own sends it, progress reports merged, so a slow viewer never holds the run up."""

from __future__ import annotations

import contextlib
from dataclasses import replace

from .events import BatchProgress
from .outbox import Outbox


class Viewer(Outbox):
    """One viewer's connection: messages ("event", e), ("state", s), ("hello", info) queue here
    and a thread sends them, progress merged, so a slow viewer never holds the run up. The
    connection is closed when the thread ends."""

    name = "viewer-out"

    def merged(self, last, message):
        if message[0] == "event" and last[0] == "event" \
                and isinstance(message[1], BatchProgress) and isinstance(last[1], BatchProgress):
            return ("event", replace(message[1], losses=last[1].losses + message[1].losses))
        return None

    def finished(self) -> None:
        with contextlib.suppress(OSError):
            self.conn.close()
