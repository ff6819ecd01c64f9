"""A run trained in this process (`mnist-tui train`), served to viewers as a session is
(core/host.py): `mnist-tui attach` watches it, `runs stop/pause` steer it."""

from __future__ import annotations

import os
import threading

from .events import Diverged, Event, Failed, Finished
from .host import Host, HostError


class LocalRun:
    """A run trained in this process (`mnist-tui train`), served like a session: pass its
    `stop`, `pause`, `live` and `snapshot` to train(), and `take(event)` each event it yields."""

    def __init__(self, config, run_id: int | None, model, label: str = "",
                 db_path=None) -> None:
        from .history import RunHistory
        from .train import Live

        self.config, self.model, self.label = config, model, label or f"train {run_id}"
        self.stop_event, self.pause_event = threading.Event(), threading.Event()
        self.snapshot = threading.Event()
        self.live = Live()
        self.history = RunHistory()
        self.history.start_run(config.epochs, continuing=False)
        self.state = "training"
        self.on_state = None  # called with "paused" or "training" when a viewer steers it
        from .machine import Sampler

        self.sampler = Sampler(os.getpid())
        self.host: Host | None = None
        self.serve_error: str | None = None
        if run_id is not None:
            try:
                self.host = Host(self, run_id, os.getpid(), db_path)
            except (HostError, OSError) as e:
                self.serve_error = str(e)

    def take(self, event: Event) -> None:
        from .recording import status_of
        from .train import weights_of

        self.history.add(event)
        if isinstance(event, (Finished, Diverged, Failed)):
            self.state = status_of(event)
        if self.host is not None:
            self.host.publish(event)
            if type(event).__name__ == "EpochEnd":  # as the engine's child sends them
                w = weights_of(self.model, event.epoch, 0)
                self.history.add(w)
                self.host.publish(w)

    def close(self) -> None:
        if self.host is not None:
            self.host.close()

    # steering, from a client's thread; the trainer reads these between batches
    def pause(self) -> None:
        if self.state == "training":
            self.pause_event.set()
            self.state = "paused"
            self._tell()

    def resume(self) -> None:
        if self.state == "paused":
            self.pause_event.clear()
            self.state = "training"
            self._tell()

    def _tell(self) -> None:
        if self.on_state is not None:
            self.on_state(self.state)

    def stop(self) -> None:
        self.stop_event.set()

    def set_live(self, name: str, value: float) -> None:
        from .config import LIVE_FIELDS

        if name not in LIVE_FIELDS:
            raise ValueError(f"{name} cannot be changed during a run")
        setattr(self.live, name, float(value))

    def request_weights(self) -> None:
        self.snapshot.set()

    def revive(self, unit: int) -> None:
        self.live.revive.append(int(unit))
        self.snapshot.set()
