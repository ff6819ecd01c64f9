"""Recording a run in the history database, and the status a run ends in: written once here
for every caller (the CLI's train and race, the dashboard, the race screen, the sweep's trials).
"""

from __future__ import annotations

import os

import numpy as np

from .config import TrainConfig
from .events import Diverged, EpochEnd, Event, Failed, Finished, LiveChanged
from .store import Store, StoreError

# How a run can end, as the history stores it ("running" before, "lost" when its process died).
ENDINGS = ("done", "stopped", "diverged", "failed")


def status_of(event: Finished | Diverged | Failed) -> str:
    """The status a run ends in, from its last event: done, stopped, diverged or failed."""
    if isinstance(event, Finished):
        return "stopped" if event.stopped else "done"
    return "diverged" if isinstance(event, Diverged) else "failed"


class Recorder:
    """Records one run. After the first failure it stops, keeps the reason, and never raises,
    so a locked or corrupt history never stops training."""

    def __init__(self, path: str | os.PathLike | None, config: TrainConfig, timeout: float = 5.0,
                 study: str | None = None, trial: int | None = None,
                 labels: np.ndarray | None = None):
        """`labels`: the test labels, so that each epoch's predictions can be kept (the
        learning history of every sample, core/forgetting.py)."""
        self.store: Store | None = None
        self.run_id: int | None = None
        self.error: str | None = None
        self.status: str | None = None  # set once the run has ended (see ENDINGS)
        self.keep_predictions = labels is not None
        try:
            self.store = Store(path, timeout=timeout)
            self.run_id = self.store.start_run(config, study, trial)
            if labels is not None:
                self.store.set_labels(self.run_id, labels)
        except StoreError as e:
            self._fail(e)

    def _fail(self, e: Exception) -> None:
        self.error = str(e)
        if self.store is not None:
            self.store.close()
        self.store = None

    def record(self, event: Event, offset: int = 0, usage=None) -> bool:
        """Record what the history keeps of one event of the run: an epoch (with its
        predictions), a live change, or the end (its status, see `status_of`). `offset`: the
        epochs done before this run (a run continued from a checkpoint). False once the
        history is unavailable; other events are ignored."""
        if isinstance(event, EpochEnd):
            ok = self.epoch(event, offset + event.epoch)
            if ok and usage is not None:  # what the run cost the machine (core/machine.py)
                ok = self._record(self.store.set_usage if self.store else None, usage,
                                  offset + event.epoch)
            return ok
        if isinstance(event, LiveChanged):
            return self.live_change(event, offset + event.epoch)
        if isinstance(event, (Finished, Diverged, Failed)):
            self.finish(status_of(event))
        return self.store is not None

    def epoch(self, ev: EpochEnd, epoch: int | None = None) -> bool:
        """Record an epoch (and its predictions); False if the history is (now) unavailable."""
        ok = self._record(self.store.add_epoch if self.store else None, ev, epoch)
        if ok and self.keep_predictions:
            ok = self._record(self.store.add_predictions if self.store else None, ev, epoch)
        return ok

    def live_change(self, ev: LiveChanged, epoch: int | None = None) -> bool:
        """Record a live edit; False if the history is (now) unavailable."""
        return self._record(self.store.add_live_change if self.store else None, ev, epoch)

    def _record(self, write, ev, epoch: int | None) -> bool:
        """Call write(run_id, ev, epoch); after a failure, stop recording and keep the reason."""
        if write is None:
            return False
        try:
            write(self.run_id, ev, epoch)
            return True
        except StoreError as e:
            self._fail(e)
            return False

    def finish(self, status: str, checkpoint: str | None = None) -> None:
        """Record how the run ended (see ENDINGS) and the checkpoint saved, if any; the
        history's connection is closed after."""
        self.status = status
        if self.store is None:
            return
        try:
            self.store.finish_run(self.run_id, status, checkpoint)
        except StoreError as e:
            self._fail(e)
        finally:
            if self.store is not None:
                self.store.close()
                self.store = None
