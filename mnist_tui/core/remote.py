"""A run served by another process (core/host.py), as a session: `RemoteSession` has
RunSession's interface (history, state, config, db_run_id, pause/resume/stop/set_live/
request_weights/revive, on_event), so the dashboard shows an attached run with every tab as
it shows its own. Its events arrive in a reader thread, as a RunSession's do."""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Callable

from .config import LIVE_FIELDS, from_dict
from .engine import Started
from .events import Diverged, Event, Failed, Finished
from .history import RunHistory
from .host import connect
from .recording import status_of
from .session import PAUSED, STARTING, TRAINING
from .train import Live

OUTCOMES = (Finished, Diverged, Failed)


class RemoteSession:
    """A viewer of run `run_id`; `start()` connects (raises host.HostError) and replays."""

    record_error = None
    record_lost_at = None
    error = None
    model = None

    def __init__(self, run_id: int,
                 on_event: Callable[[RemoteSession, Event | Started], None] | None = None,
                 db_path=None) -> None:
        """Run `run_id` of history `db_path` (None: the default history)."""
        self.run_id, self.on_event = run_id, on_event
        self.conn, self.info = connect(run_id, "view", db_path)
        self.config = from_dict(self.info["config"])
        self.label = self.info.get("label") or f"run {run_id}"
        self.history = RunHistory(self.info["epochs_before"] if self.info["offset"] else None)
        self.history.start_run(self.info["planned"] - self.info["offset"],
                               continuing=bool(self.info["offset"]))
        self.state = self.info["state"]
        self.live = Live()
        self.ended = threading.Event()
        self.gone = False  # the host went away before the run ended
        self._lock = threading.Lock()
        self.reader: threading.Thread | None = None
        from .machine import Sampler  # the run's process is on this machine: sampled here

        self.sampler = Sampler(self.info["child_pid"]) if self.info.get("child_pid") else None

    @property
    def db_run_id(self) -> int:
        return self.run_id

    @property
    def handle(self) -> RemoteSession:
        return self  # what a screen checks before steering: the run is reachable

    @property
    def outcome(self):
        return self.history.outcome

    @property
    def going(self) -> bool:
        return self.state in (STARTING, TRAINING, PAUSED)

    @property
    def paused(self) -> bool:
        return self.state == PAUSED

    def value(self, name: str) -> float:
        sent = getattr(self.live, name)
        return getattr(self.config, name) if sent is None else sent

    def usage(self):
        return self.sampler.sample() if self.sampler is not None else None

    def start(self) -> RemoteSession:
        self.reader = threading.Thread(target=self._read, name=f"remote-{self.run_id}",
                                       daemon=True)
        self.reader.start()
        return self

    def _deliver(self, event) -> None:
        if self.on_event is not None:
            self.on_event(self, event)

    def _read(self) -> None:
        self._deliver(Started(self.info.get("child_pid") or 0))
        try:
            while True:
                try:
                    kind, payload = self.conn.recv()
                except (EOFError, OSError):
                    break
                if kind == "state":
                    if self.going:
                        self.state = payload
                    self._deliver(("state", payload))
                    continue
                if kind != "event":
                    continue
                self.history.add(payload)
                if isinstance(payload, OUTCOMES):
                    self.state = status_of(payload)
                self._deliver(payload)
                if isinstance(payload, OUTCOMES):
                    break
        finally:
            self.close()
            if self.history.outcome is None:  # the host died (kill -9) or the link broke
                self.gone = True
                self.state = "lost"
                failed = Failed(f"run {self.run_id}: its host went away", "")
                self.history.add(failed)
                self._deliver(failed)
            self.ended.set()

    def _send(self, *command) -> None:
        with self._lock:
            try:
                self.conn.send(command)
            except (OSError, ValueError):
                pass

    def pause(self) -> None:
        if self.going:
            self._send("pause")
            self.state = PAUSED

    def resume(self) -> None:
        if self.state == PAUSED:
            self._send("resume")
            self.state = TRAINING

    def toggle_pause(self) -> None:
        self.resume() if self.paused else self.pause()

    def stop(self) -> None:
        if self.going:
            self._send("stop")

    def set_live(self, name: str, value: float) -> None:
        if name not in LIVE_FIELDS:
            raise ValueError(f"{name} cannot be changed during a run")
        setattr(self.live, name, float(value))
        self._send("live", name, float(value))

    def request_weights(self) -> None:
        self._send("weights")

    def revive(self, unit: int) -> None:
        self._send("revive", int(unit))

    def join(self, timeout: float | None = None) -> bool:
        return self.ended.wait(timeout)

    def wait(self, timeout: float | None = None) -> bool:
        return self.ended.wait(timeout)

    def end(self) -> None:
        """Leave the run (it goes on): a viewer takes nothing with it."""
        self.close()

    def close(self) -> None:
        with self._lock:
            if self.conn.closed:
                return
            try:  # wakes the reader's recv() (a close from another thread does not)
                with socket.socket(fileno=os.dup(self.conn.fileno())) as s:
                    s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self.conn.close()
