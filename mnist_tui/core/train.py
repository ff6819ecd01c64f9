"""Minibatch SGD with momentum for the seed's perceptron, as a generator of events.

`train()` yields `BatchProgress` (throttled by time), one `EpochEnd` per epoch, and finally
`Finished` or `Diverged`. It checks a stop and a pause event every batch, so a UI thread
can steer it. Nothing here prints: callers decide how to show progress.
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, fields

import numpy as np
from threadpoolctl import threadpool_limits

from .augment import AUGMENTS, distort
from .data import Dataset
from .metrics import accuracy, confusion_matrix, nll
from .model import Perceptron, Workspace, softmax

SCHEDULES = ("constant", "cosine", "step")
EVAL_CHUNK = 2000  # test rows per forward pass: bounds memory at large hidden sizes
# Chance level is ln 10 = 2.3. A mean NLL of 100 gives the true class e^-100 on average: the
# weights are blowing up, and on MNIST such runs end with every ReLU dead, never recovering.
DIVERGED_LOSS = 100.0
# Momentum decays the velocity of rarely-seen pixels geometrically until it is subnormal, and
# subnormal float arithmetic is ~50x slower on x86 (measured here: 411 vs 7.5 us for one update
# of 100k floats). NumPy cannot set flush-to-zero, so every few batches the velocities below
# FLUSH_BELOW, far too small to move a float32 weight, are set to exactly 0: often enough that
# nothing decays from FLUSH_BELOW to the subnormal range (1.2e-38) in between (mu^k >= 1e-22).
FLUSH_BELOW, FLUSH_EVERY_MAX = 1e-15, 64


def flush_every(mu: float) -> int:
    """Batches between flushes of tiny velocities for momentum mu (0 <= mu < 1)."""
    if mu <= 0:
        return FLUSH_EVERY_MAX  # without momentum nothing decays across steps
    return max(1, min(FLUSH_EVERY_MAX, int(22 / -math.log10(mu))))
# At the smallest shapes a second BLAS thread costs more than it gives: the update then pays
# for cache lines moving between cores. Measured here (`OPENBLAS_NUM_THREADS=1|2 mnist-tui
# bench`): n=128 m=64 0.39 s vs 0.45 s per epoch; n=256 m=64 0.76 vs 0.68; n=800 m=128 1.67
# vs 1.25. A fixed rule, not a timing, so that the same config always gives the same numbers.
SINGLE_THREAD_MAX_M_N = 8192


def blas_threads(batch_size: int, hidden: int) -> int | None:
    """BLAS threads to train with: 1 for the smallest shapes, else None (the library's choice)."""
    return 1 if batch_size * hidden <= SINGLE_THREAD_MAX_M_N else None


@dataclass(frozen=True)
class TrainConfig:
    """Everything that defines a run. The defaults reach about 98% test accuracy in seconds."""

    hidden: int = 128  # n, the number of ReLU hidden units
    epochs: int = 10  # passes over the training set
    lr: float = 0.1  # base learning rate; the schedule scales it per batch
    batch_size: int = 64  # m, samples per SGD step
    momentum: float = 0.9  # heavy-ball momentum; 0 gives plain SGD as in the seed
    weight_decay: float = 0.0  # L2 penalty on W1 and W2 (not the biases)
    schedule: str = "cosine"  # constant | cosine (to 0 by the last batch) | step (x0.1 at 50%, 75%)
    seed: int = 0  # seeds the initial weights and the shuffling: same seed, same metrics
    augment: str = "none"  # none | affine (rotate, scale, shift) | elastic (affine + Simard warp)

    def __post_init__(self):
        for f in fields(self):
            check_field(f.name, getattr(self, f.name))


@dataclass(frozen=True)
class FieldSpec:
    """How a config field is typed, bounded and explained (shared by the CLI and the form)."""

    kind: type
    lo: float | None = None
    hi: float | None = None
    lo_open: bool = False  # True: lo itself is not allowed
    hi_open: bool = False
    help: str = ""
    choices: tuple[str, ...] = ()


SPECS: dict[str, FieldSpec] = {
    "hidden": FieldSpec(int, 1, 4096, help="hidden units n"),
    "epochs": FieldSpec(int, 1, 1000, help="epochs"),
    "lr": FieldSpec(float, 0, 10, lo_open=True, help="learning rate"),
    "batch_size": FieldSpec(int, 1, 60000, help="batch size"),
    "momentum": FieldSpec(float, 0, 1, hi_open=True, help="momentum"),
    "weight_decay": FieldSpec(float, 0, None, help="weight decay"),
    "schedule": FieldSpec(str, choices=SCHEDULES, help="LR schedule"),
    "seed": FieldSpec(int, 0, 2**32 - 1, help="seed"),
    "augment": FieldSpec(str, choices=AUGMENTS, help="augmentation"),
}


def range_text(spec: FieldSpec) -> str:
    """The allowed range in words, e.g. 'in (0, 10]' or 'an integer from 1 to 4096'."""
    if spec.choices:
        return "one of " + ", ".join(spec.choices)
    if spec.kind is int:
        return f"an integer from {spec.lo} to {spec.hi}" if spec.hi else f"an integer >= {spec.lo}"
    if spec.hi is None:
        return f"a number {'>' if spec.lo_open else '>='} {spec.lo:g}"
    return (
        f"a number in {'(' if spec.lo_open else '['}{spec.lo:g}, {spec.hi:g}"
        f"{')' if spec.hi_open else ']'}"
    )


def check_field(name: str, value) -> None:
    """Raise ValueError with a readable message if value is not allowed for field name."""
    spec = SPECS[name]
    if spec.choices:
        if value not in spec.choices:
            raise ValueError(f"{spec.help} must be {range_text(spec)} (got {value!r})")
        return
    if spec.kind is int and (isinstance(value, bool) or not isinstance(value, (int, np.integer))):
        raise ValueError(f"{spec.help} must be {range_text(spec)} (got {value!r})")
    if not isinstance(value, (int, float, np.integer, np.floating)) or not math.isfinite(value):
        raise ValueError(f"{spec.help} must be {range_text(spec)} (got {value!r})")
    low_bad = spec.lo is not None and (value <= spec.lo if spec.lo_open else value < spec.lo)
    high_bad = spec.hi is not None and (value >= spec.hi if spec.hi_open else value > spec.hi)
    if low_bad or high_bad:
        raise ValueError(f"{spec.help} must be {range_text(spec)} (got {value:g})")


def parse_field(name: str, text: str):
    """Parse user text for a config field; raise ValueError with a one-line reason."""
    spec = SPECS[name]
    text = text.strip()
    if not text:
        raise ValueError(f"{spec.help} is empty: enter {range_text(spec)}")
    if len(text) > 40:
        raise ValueError(f"{spec.help} is too long ({len(text)} characters)")
    if not text.isascii():
        raise ValueError(f"{spec.help} must use the ASCII digits 0-9")
    if spec.choices:
        value = text
    elif spec.kind is int:
        try:
            value = int(text)
        except ValueError:
            raise ValueError(f"{spec.help} must be {range_text(spec)} (got {text!r})") from None
    else:
        try:
            value = float(text)
        except ValueError:
            raise ValueError(f"{spec.help} must be {range_text(spec)} (got {text!r})") from None
    check_field(name, value)
    return value


def lr_at(config: TrainConfig, progress: float, base_lr: float | None = None) -> float:
    """The learning rate at `progress` in [0, 1) through the whole run."""
    lr = config.lr if base_lr is None else base_lr
    if config.schedule == "cosine":
        return lr * 0.5 * (1.0 + math.cos(math.pi * progress))
    if config.schedule == "step":
        return lr * (0.1 ** ((progress >= 0.5) + (progress >= 0.75)))
    return lr


def estimate_memory_bytes(config: TrainConfig, n_train: int, n_test: int) -> int:
    """A rough peak estimate of training memory: data, parameters, and per-batch arrays."""
    n, m = config.hidden, min(config.batch_size, n_train)
    data = (n_train + n_test) * (784 + 1)
    params = 4 * (784 * n + n + n * 10 + 10) * 4  # weights, gradients, velocities, one temp
    batch = 4 * m * (784 + 5 * n + 6 * 10)  # X, Z1 A1 dA1 dZ1 mask, Z2 S Y dZ2 ...
    evaluation = 4 * min(EVAL_CHUNK, n_test) * (784 + 2 * n + 3 * 10) + 4 * n_test * 10
    return data + params + max(batch, evaluation)


def available_memory_bytes() -> int | None:
    """MemAvailable from /proc/meminfo, or None where that cannot be read."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def check_run(config: TrainConfig, n_train: int, n_test: int) -> str | None:
    """A one-line reason this run cannot go ahead on this data and machine, or None."""
    if config.batch_size > n_train:
        return f"batch size {config.batch_size} is larger than the training set ({n_train} samples)"
    need = estimate_memory_bytes(config, n_train, n_test)
    have = available_memory_bytes()
    if have is not None and need > 0.8 * have:
        return (f"this run needs about {need / 2**30:.1f} GiB of memory but only "
                f"{have / 2**30:.1f} GiB is available: lower the hidden units or the batch size")
    return None


# --- events ---------------------------------------------------------------------------------


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


Event = BatchProgress | EpochEnd | Diverged | Finished | LiveChanged


class Live:
    """Hyperparameters a UI may change while training runs; read by the trainer every batch."""

    def __init__(self, lr: float | None = None, momentum: float | None = None):
        self.lr = lr
        self.momentum = momentum


@dataclass
class _Pauses:
    """Waits while paused, waking at once on stop, and counts the paused seconds."""

    stop: threading.Event
    pause: threading.Event
    seconds: float = field(default=0.0)

    def wait(self) -> None:
        if not self.pause.is_set():
            return
        t0 = time.perf_counter()
        while self.pause.is_set() and not self.stop.wait(0.05):
            pass
        self.seconds += time.perf_counter() - t0


def evaluate(
    model: Perceptron, images: np.ndarray, labels: np.ndarray
) -> tuple[float, np.ndarray, float]:
    """Mean NLL, the probabilities (n, 10) float32, and the fraction of dead hidden units.

    A unit is dead when its ReLU outputs 0 for every image of the set.
    """
    proba = np.empty((len(images), 10), dtype=np.float32)
    alive = np.zeros(model.n_hidden, dtype=bool)
    for i in range(0, len(images), EVAL_CHUNK):
        X = images[i : i + EVAL_CHUNK].astype(np.float32) * np.float32(1 / 255)
        _, A1, Z2 = model.forward_cache(X)
        alive |= (A1 > 0).any(axis=0)
        proba[i : i + EVAL_CHUNK] = softmax(Z2)
    return nll(proba, labels), proba, 1.0 - float(alive.mean())


def train(
    config: TrainConfig,
    data: Dataset,
    model: Perceptron | None = None,
    stop: threading.Event | None = None,
    pause: threading.Event | None = None,
    live: Live | None = None,
    progress_interval: float = 0.2,
    n_samples_shown: int = 6,
) -> Iterator[Event]:
    """Train `model` (a new seeded Perceptron if None) on `data`, yielding events."""
    model = model or Perceptron(config.hidden, seed=config.seed)
    stop = stop or threading.Event()
    pauses = _Pauses(stop, pause or threading.Event())
    threads = blas_threads(config.batch_size, model.n_hidden)
    with threadpool_limits(threads, user_api="blas") if threads else contextlib.nullcontext():
        yield from _train(config, data, model, stop, pauses, live or Live(), progress_interval,
                          n_samples_shown)


def _train(config: TrainConfig, data: Dataset, model: Perceptron, stop: threading.Event,
           pauses: _Pauses, live: Live, progress_interval: float,
           n_samples_shown: int) -> Iterator[Event]:
    rng = np.random.default_rng([config.seed, 1])  # shuffling, independent of the init stream
    aug_rng = np.random.default_rng([config.seed, 2])  # distortions, their own stream
    X_all, y_all = data.train_images, data.train_labels.astype(np.int64)
    N, m = len(y_all), config.batch_size
    n_batches = math.ceil(N / m)
    total_steps = config.epochs * n_batches
    dtype = model.dtype
    theta = model.pack()  # W1 b1 W2 b2 become views of one flat vector
    ws = Workspace.create(model.n_hidden, m, dtype)
    velocity = np.zeros_like(theta)
    step_buf = np.empty_like(theta)
    X = np.empty((m, X_all.shape[1]), dtype=dtype)
    raw = np.empty((m, X_all.shape[1]), dtype=X_all.dtype)
    scale = dtype.type(1 / 255)
    t_start = time.perf_counter()
    test_acc = None
    applied = {"lr": live.lr, "momentum": live.momentum}  # live values already announced
    for epoch in range(1, config.epochs + 1):
        t_epoch, paused_before = time.perf_counter(), pauses.seconds
        perm = rng.permutation(N)
        loss_sum, hits, seen = 0.0, 0, 0
        last_report = 0.0
        losses: list[float] = []  # since the last report
        for b in range(n_batches):
            pauses.wait()
            if stop.is_set():
                yield Finished(epoch - 1, test_acc, _elapsed(t_start, pauses), stopped=True)
                return
            idx = perm[b * m : (b + 1) * m]
            k = len(idx)
            Xb = np.multiply(np.take(X_all, idx, axis=0, out=raw[:k]), scale, out=X[:k],
                             casting="unsafe")  # uint8 -> float in [0, 1], one batch at a time
            if config.augment != "none":
                Xb = distort(Xb, config.augment, aug_rng)
            yb = y_all[idx]
            step = (epoch - 1) * n_batches + b
            live_now = {"lr": live.lr, "momentum": live.momentum}  # read once: another thread sets them
            for name, value in live_now.items():
                if value is not None and value != applied[name]:
                    applied[name] = value
                    yield LiveChanged(epoch, b + 1, name, float(value))
            lr = lr_at(config, step / total_steps, live_now["lr"])
            mu = config.momentum if live_now["momentum"] is None else live_now["momentum"]

            with np.errstate(over="ignore", invalid="ignore"):  # divergence is caught just below
                loss, grads, Z2 = model.loss_grads_logits(Xb, yb, ws)
            if not loss < DIVERGED_LOSS:  # also true for NaN
                yield Diverged(
                    epoch, b + 1, lr,
                    f"training diverged (loss {loss:.4g}) at epoch {epoch}, batch {b + 1}: "
                    f"lower the learning rate (now {lr:g})",
                )
                return
            if config.weight_decay:  # L2 on the weights only, as is usual for biases
                grads["W1"] += config.weight_decay * model.W1
                grads["W2"] += config.weight_decay * model.W2
            # Heavy-ball momentum on all parameters at once: v = mu v - lr g;  theta += v
            velocity *= mu
            velocity -= np.multiply(ws.grad, lr, out=step_buf)
            theta += velocity
            if b % flush_every(mu) == 0:
                np.copyto(velocity, 0, where=np.less(np.abs(velocity, out=step_buf), FLUSH_BELOW))

            loss_sum += loss * k
            hits += int(np.count_nonzero(Z2.argmax(axis=1) == yb))
            seen += k
            losses.append(float(loss))
            now = time.perf_counter()
            if now - last_report >= progress_interval or b == 0 or b == n_batches - 1:
                last_report = now
                busy = now - t_epoch - (pauses.seconds - paused_before)
                yield BatchProgress(
                    epoch, config.epochs, b + 1, n_batches, loss_sum / seen, lr,
                    seen / busy if busy > 0 else 0.0, _elapsed(t_start, pauses),
                    grad_norms=(float(np.linalg.norm(grads["W1"])), float(np.linalg.norm(grads["W2"]))),
                    batch_size=k, losses=tuple(losses),
                )
                losses = []

        t_eval = time.perf_counter()
        test_loss, proba, dead = evaluate(model, data.test_images, data.test_labels)
        t_eval = time.perf_counter() - t_eval
        if not math.isfinite(test_loss) or not np.isfinite(proba).all():
            yield Diverged(epoch, n_batches, lr,
                           f"training diverged (test loss {test_loss:.4g}) at epoch {epoch}: "
                           f"lower the learning rate (now {lr:g})")
            return
        if len(proba) > 1 and np.ptp(proba, axis=0).max() < 1e-6:
            yield Diverged(epoch, n_batches, lr,
                           f"training diverged at epoch {epoch}: every hidden unit died and the "
                           f"network gives every image the same answer; lower the learning rate")
            return
        pred = proba.argmax(axis=1)
        test_acc = accuracy(pred, data.test_labels)
        cm = confusion_matrix(data.test_labels, pred)
        proba.flags.writeable = False
        cm.flags.writeable = False
        shown = rng.choice(data.n_test, size=min(n_samples_shown, data.n_test), replace=False)
        yield EpochEnd(
            epoch=epoch,
            epochs=config.epochs,
            train_loss=loss_sum / seen,
            train_acc=hits / seen,
            test_loss=test_loss,
            test_acc=test_acc,
            lr=lr,
            seconds=time.perf_counter() - t_epoch - (pauses.seconds - paused_before),
            elapsed=_elapsed(t_start, pauses),
            confusion=cm,
            test_proba=proba,
            sample_indices=tuple(int(i) for i in shown),
            eval_seconds=t_eval,
            weight_norms=(float(np.linalg.norm(model.W1)), float(np.linalg.norm(model.W2))),
            dead_fraction=dead,
        )
    yield Finished(config.epochs, test_acc, _elapsed(t_start, pauses), stopped=False)


def _elapsed(t_start: float, pauses: _Pauses) -> float:
    return time.perf_counter() - t_start - pauses.seconds
