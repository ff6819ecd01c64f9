"""RunHistory: a run's events turned into the series that every view reads.

The charts, the checkpoint, the store and the CLI all take their numbers from here, so a metric
is named once. One thread may `add()` events while another reads: readers take `lock` (or call
the copying helpers) and never see a half-added epoch.
"""

from __future__ import annotations

import math
import threading

import numpy as np

from .events import BatchProgress, Diverged, EpochEnd, Event, Failed, Finished, LiveChanged, Weights

# The per-epoch columns a checkpoint and the history database keep, in order.
EPOCH_KEYS = ("epoch", "train_loss", "train_acc", "test_loss", "test_acc", "lr", "seconds")
# Per-epoch series shown in this session only (not in checkpoints).
EXTRA_KEYS = ("w1_norm", "w2_norm", "dead", "val_loss", "val_acc", "ece")  # val: NaN without a split
# Per-progress-report series: x in epochs (fractional), the lr and gradient norms of that batch.
BATCH_KEYS = ("x", "lr", "dW1", "dW2")


def best_of(epochs: dict[str, list], key: str = "test_acc") -> tuple[float, int] | None:
    """(best value, its epoch) of a per-epoch series, or None when it has no values. Every
    "best accuracy" shown (runs, races, comparisons, the Train tab) is this one."""
    pairs = [(v, ep) for v, ep in zip(epochs.get(key, []), epochs["epoch"], strict=False)
             if v is not None and not (isinstance(v, float) and math.isnan(v))]
    if not pairs:
        return None
    return max(pairs, key=lambda p: p[0])


class RunHistory:
    """Everything a dashboard shows about one run, continued across checkpoints."""

    def __init__(self, epochs: dict[str, list[float]] | None = None) -> None:
        self.lock = threading.Lock()
        self.version = 0  # counts the events added: a reader redraws only when it moved
        self.epochs: dict[str, list[float]] = {
            k: [float(x) for x in (epochs or {}).get(k, [])] for k in EPOCH_KEYS}
        self._reset_run()

    def _reset_run(self) -> None:
        self.offset = len(self.epochs["epoch"])  # epochs done before this run started
        self.extras: dict[str, list[float]] = {k: [] for k in EXTRA_KEYS}
        self.batches: dict[str, list[float]] = {k: [] for k in BATCH_KEYS}
        self.loss_x: list[float] = []  # every batch's loss, x in epochs
        self.loss_y: list[float] = []
        self.live_changes: list[LiveChanged] = []
        self.predictions: list[np.ndarray] = []  # each epoch's predicted class per test sample
        self.reliability: list[np.ndarray | None] = []  # each epoch's (3, 10) reliability bins
        self.planned = 0  # epochs this run means to reach, offset included
        self.progress: BatchProgress | None = None
        self.last_epoch: EpochEnd | None = None
        self.weights: Weights | None = None
        self.outcome: Finished | Diverged | Failed | None = None

    def start_run(self, epochs: int, continuing: bool) -> None:
        """A new run begins: keep the epochs so far only when it continues from them."""
        with self.lock:
            if not continuing:
                self.epochs = {k: [] for k in EPOCH_KEYS}
            self._reset_run()
            self.planned = self.offset + epochs

    def add(self, event: Event) -> None:
        """Take one event of the current run into the series."""
        with self.lock:
            self.version += 1
            if isinstance(event, BatchProgress):
                self.progress = event
                base = self.offset + event.epoch - 1
                k = len(event.losses)
                self.loss_x.extend(base + (event.batch - k + 1 + i) / event.n_batches
                                   for i in range(k))
                self.loss_y.extend(event.losses)
                x = base + event.batch / event.n_batches
                for key, value in zip(BATCH_KEYS, (x, event.lr, *event.grad_norms), strict=True):
                    self.batches[key].append(float(value))
            elif isinstance(event, EpochEnd):
                proba = np.asarray(event.test_proba)  # (n,) classes: a replayed epoch (core/host)
                if proba.ndim == 2:  # the views read the last epoch's probabilities
                    self.last_epoch = event
                self.predictions.append((proba if proba.ndim == 1 else proba.argmax(axis=1))
                                        .astype(np.uint8))
                self.reliability.append(event.reliability)
                row = self.epoch_row(event)
                for key in EPOCH_KEYS:
                    self.epochs[key].append(float(row[key]))
                val = [math.nan if v is None else v for v in (event.val_loss, event.val_acc)]
                for key, value in zip(EXTRA_KEYS, (*event.weight_norms, 100 * event.dead_fraction,
                                                   *val, event.ece), strict=True):
                    self.extras[key].append(float(value))
            elif isinstance(event, LiveChanged):
                self.live_changes.append(event)
            elif isinstance(event, Weights):
                self.weights = event
            elif isinstance(event, (Finished, Diverged, Failed)):
                self.outcome = event

    def epoch_row(self, event: EpochEnd) -> dict[str, float]:
        """The stored columns of one epoch, its number counted across checkpoints (with
        val_loss and val_acc when the run holds out a validation split)."""
        row = {k: self.offset + event.epoch if k == "epoch" else float(getattr(event, k))
               for k in EPOCH_KEYS}
        if event.val_acc is not None:
            row["val_loss"], row["val_acc"] = float(event.val_loss), float(event.val_acc)
        return row

    @property
    def running(self) -> bool:
        """A run was started and has not ended yet."""
        return self.planned > 0 and self.outcome is None

    def __getitem__(self, key: str) -> list[float]:
        """A per-epoch column by name, e.g. history["test_acc"] (a copy)."""
        with self.lock:
            return list(self.epochs[key])

    # --- reading (copies, safe from any thread) -----------------------------------------------

    def epoch_columns(self) -> dict[str, list[float]]:
        """The per-epoch columns, as a checkpoint stores them."""
        with self.lock:
            return {k: list(v) for k, v in self.epochs.items()}

    def extra_series(self) -> tuple[list[float], dict[str, list[float]]]:
        """x and the session-only per-epoch series (weight norms, dead %)."""
        with self.lock:
            n = len(self.extras["dead"])
            return list(self.epochs["epoch"][len(self.epochs["epoch"]) - n:]), {
                k: list(v) for k, v in self.extras.items()}

    def batch_series(self) -> dict[str, list[float]]:
        with self.lock:
            return {k: list(v) for k, v in self.batches.items()}

    def batch_losses(self) -> tuple[list[float], np.ndarray]:
        with self.lock:
            return list(self.loss_x), np.array(self.loss_y, dtype=float)

    def prediction_matrix(self) -> np.ndarray | None:
        """(epochs of this run, n test samples) uint8, or None before the first epoch."""
        with self.lock:
            return np.stack(self.predictions) if self.predictions else None

    def reliability_series(self) -> list[tuple[int, np.ndarray]]:
        """(epoch number, (3, 10) bins) of this run's epochs that carry a reliability diagram."""
        with self.lock:
            n = len(self.reliability)
            epochs = self.epochs["epoch"][len(self.epochs["epoch"]) - n:]
            return [(int(e), r) for e, r in zip(epochs, self.reliability, strict=True)
                    if r is not None]

    def best(self, key: str = "test_acc") -> tuple[float, int] | None:
        """(best value, its epoch) of this history's epochs (see `best_of`)."""
        with self.lock:
            return best_of(self.epochs, key)

    def __len__(self) -> int:
        return len(self.epochs["epoch"])
