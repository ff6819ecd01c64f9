"""What a training run reports, as immutable dataclasses (arrays in them are read-only copies).

The trainer yields them in-process; the engine sends the same objects from a child process.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class BatchProgress:
    """Throttled progress within an epoch."""

    epoch: int  # 1-based
    epochs: int
    batch: int  # batches done in this epoch
    n_batches: int
    running_loss: float  # mean train loss over this epoch so far (for text; charts use losses)
    lr: float
    samples_per_second: float
    elapsed: float  # training seconds since the run started (pauses excluded)
    grad_norms: tuple[float, float] = (0.0, 0.0)  # ‖dW1‖, ‖dW2‖ of the latest batch
    batch_size: int = 0  # m, for showing the live shapes of the backward steps
    # Every batch's loss since the previous report, in order; the last is batch `batch` of
    # `epoch`. A chart smooths these across epochs (an EMA), so nothing restarts per epoch.
    losses: tuple[float, ...] = ()


@dataclass(frozen=True)
class EpochEnd:
    """Metrics at the end of an epoch. Arrays are fresh copies, marked read-only."""

    epoch: int
    epochs: int
    train_loss: float
    train_acc: float
    test_loss: float
    test_acc: float
    lr: float  # learning rate at the last batch of the epoch
    seconds: float  # wall-clock seconds of this epoch (pauses excluded), evaluation included
    elapsed: float
    confusion: np.ndarray  # (10, 10) int64, rows true, columns predicted
    test_proba: np.ndarray  # (n_test, 10) float32 predicted probabilities
    sample_indices: tuple[int, ...]  # a few test samples for the digit panel, new each epoch
    eval_seconds: float = 0.0  # of `seconds`, the part spent evaluating the test set
    weight_norms: tuple[float, float] = (0.0, 0.0)  # ‖W1‖, ‖W2‖ at the end of the epoch
    dead_fraction: float = 0.0  # hidden units that output 0 for every test image
    val_loss: float | None = None  # on the held-out validation samples (None: no val split)
    val_acc: float | None = None
    ece: float = 0.0  # expected calibration error of test_proba (core/calibration.py)
    # The reliability diagram behind it: rows mean confidence, accuracy (NaN in empty bins)
    # and samples, for the 10 confidence bins; (3, 10) float64, read-only.
    reliability: np.ndarray | None = None


@dataclass(frozen=True)
class Diverged:
    """The loss stopped being finite; training ended."""

    epoch: int
    batch: int
    lr: float
    message: str


@dataclass(frozen=True)
class LiveChanged:
    """A live edit (lr or momentum) took effect from this batch on; recorded in the history."""

    epoch: int
    batch: int  # 1-based batch of the epoch that first used the new value
    name: str
    value: float


@dataclass(frozen=True)
class Finished:
    """Training ended normally or by a stop request."""

    epochs_done: int
    test_acc: float | None
    seconds: float
    stopped: bool


@dataclass(frozen=True)
class Weights:
    """The model's parameters at a consistent point (between batches): (784, n) (n,) (n, 10) (10,)."""

    epoch: int  # epochs done when taken (within the run)
    batch: int  # batches done in the current epoch
    W1: np.ndarray
    b1: np.ndarray
    W2: np.ndarray
    b2: np.ndarray


@dataclass(frozen=True)
class Failed:
    """The run ended on an error: an exception in the trainer, or its process died."""

    message: str  # one line, for the status bar
    detail: str = ""  # a traceback or exit status, for the log


Event = BatchProgress | EpochEnd | Diverged | Finished | LiveChanged | Weights | Failed
