"""The writes to the history database: a run, its epochs, predictions, live changes and end
(what core.recording's Recorder makes), a sample's mark, a run deleted."""

from __future__ import annotations

import json
import os
import socket
import time
from dataclasses import asdict

import numpy as np

from ..config import TrainConfig
from ..events import EpochEnd, LiveChanged
from .connection import StoreError, _alive
from .rows import path_value
from .schema import EPOCH_COLUMNS, MARKS, USAGE_COLUMNS


class Writes:
    """Store's writing methods (a mixin: Connection holds the database and `_write`)."""

    def start_run(self, config: TrainConfig, study: str | None = None,
                  trial: int | None = None) -> int:
        """A new run; `study` and `trial` tag a sweep's trial (see core/sweep/)."""
        cur = self._write(
            "INSERT INTO runs (started_at, config, pid, host, study, trial) VALUES (?, ?, ?, ?, ?, ?)",
            (time.time(), json.dumps(asdict(config)), os.getpid(), socket.gethostname(), study, trial))
        return int(cur.lastrowid)

    def add_epoch(self, run_id: int, ev: EpochEnd, epoch: int | None = None) -> None:
        """Commit one epoch (autocommit: a killed process keeps it) and the run's summary."""
        values = [epoch or ev.epoch] + [getattr(ev, k) for k in EPOCH_COLUMNS[1:]]
        values = [None if v is None else float(v) if not isinstance(v, int) else v for v in values]
        self._write(f"INSERT OR REPLACE INTO epochs (run_id, {', '.join(EPOCH_COLUMNS)}) "
                    f"VALUES (?, {', '.join('?' * len(EPOCH_COLUMNS))})", (run_id, *values))
        self._write("UPDATE runs SET best_test_acc = max(coalesce(best_test_acc, 0), ?), "
                    "seconds = ?, confusion = ? WHERE id = ?",
                    (ev.test_acc, ev.elapsed, json.dumps(np.asarray(ev.confusion).tolist()), run_id))

    def set_usage(self, run_id: int, usage, epoch: int) -> None:
        """What the run cost the machine at this epoch's end (a core.machine.Usage)."""
        self._write(f"UPDATE epochs SET {' = ?, '.join(USAGE_COLUMNS)} = ? "
                    "WHERE run_id = ? AND epoch = ?",
                    (*(getattr(usage, k) for k in USAGE_COLUMNS), run_id, epoch))

    def add_predictions(self, run_id: int, ev: EpochEnd, epoch: int | None = None) -> None:
        """Every test sample's predicted class at this epoch, one byte each (10 kB for MNIST),
        and its probability in 1/65535ths (20 kB): what suspect labels are found from."""
        proba = np.asarray(ev.test_proba)
        classes = proba.argmax(axis=1).astype(np.uint8)
        confidence = np.round(proba.max(axis=1).astype(np.float64) * 65535).astype("<u2")
        self._write("INSERT OR REPLACE INTO predictions (run_id, epoch, classes, confidence) "
                    "VALUES (?, ?, ?, ?)",
                    (run_id, epoch or ev.epoch, classes.tobytes(), confidence.tobytes()))

    def set_labels(self, run_id: int, labels: np.ndarray) -> None:
        self._write("INSERT OR REPLACE INTO test_labels (run_id, labels) VALUES (?, ?)",
                    (run_id, np.asarray(labels, dtype=np.uint8).tobytes()))

    def set_mark(self, dataset: str, sample: int, mark: str | None) -> None:
        """Mark a sample "label looks wrong" or "model is wrong"; None takes the mark back."""
        if mark is None:
            self._write("DELETE FROM marks WHERE dataset = ? AND sample = ?", (dataset, sample))
            return
        if mark not in MARKS:
            raise ValueError(f"a mark is one of: {', '.join(MARKS)}")
        self._write("INSERT OR REPLACE INTO marks (dataset, sample, mark, marked_at) "
                    "VALUES (?, ?, ?, ?)", (dataset, int(sample), mark, time.time()))

    def add_live_change(self, run_id: int, ev: LiveChanged, epoch: int | None = None) -> None:
        """Record that a live edit took effect at this epoch and batch."""
        self._write("INSERT INTO live_changes (run_id, epoch, batch, name, value) "
                    "VALUES (?, ?, ?, ?, ?)", (run_id, epoch or ev.epoch, ev.batch, ev.name, ev.value))

    def finish_run(self, run_id: int, status: str,
                   checkpoint: str | os.PathLike | None = None) -> None:
        self._write("UPDATE runs SET status = ?, finished_at = ?, "
                    "checkpoint = coalesce(?, checkpoint) WHERE id = ?",
                    (status, time.time(), path_value(checkpoint), run_id))

    def set_checkpoint(self, run_id: int, path: str | os.PathLike) -> None:
        self._write("UPDATE runs SET checkpoint = ? WHERE id = ?", (path_value(path), run_id))

    def delete_run(self, run_id: int) -> bool:
        """Delete a run and its epochs; refused (StoreError) while its process still trains
        it: the run would go on unrecorded."""
        row = self._write("SELECT status, pid, host FROM runs WHERE id = ?", (run_id,)).fetchone()
        if row is not None and row[0] == "running" and (
                row[2] != socket.gethostname() or _alive(row[1])):
            raise StoreError(f"run {run_id} is still training: stop it first, then delete it")
        return self._write("DELETE FROM runs WHERE id = ?", (run_id,)).rowcount > 0
