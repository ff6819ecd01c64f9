"""Minibatch training of the seed's perceptron, as a generator of events.

Each batch: the forward and backward pass of model.py (the seed's maths, unchanged), then one
step of the chosen update rule (optim.py: sgd, momentum, nesterov, adam, adamw).

`train()` yields `BatchProgress` (throttled by time), one `EpochEnd` per epoch, and finally
`Finished` or `Diverged`. It checks a stop, a pause and a weights-request event every batch, so
whoever drives it (the CLI, or the engine's child process) can steer it. Nothing here prints:
callers decide how to show progress.
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
from threadpoolctl import threadpool_limits

from .calibration import reliability
from .config import TrainConfig
from .data import Dataset
from .events import BatchProgress, Diverged, EpochEnd, Event, Finished, LiveChanged, Weights
from .insight import revive
from .loader import InProcessBatches, LoaderBatches
from .metrics import accuracy, confusion_matrix, nll
from .model import Perceptron, Workspace, flat_views, softmax
from .optim import make as make_optimizer
from .resources import EVAL_CHUNK, blas_threads

# Chance level is ln 10 = 2.3. A mean NLL of 100 gives the true class e^-100 on average: the
# weights are blowing up, and on MNIST such runs end with every ReLU dead, never recovering.
DIVERGED_LOSS = 100.0
def split_indices(n: int, val_split: int, seed: int):
    """(training indices, validation indices or None, None): the validation samples are
    `val_split` of the n training samples, drawn by the seed's own stream [seed, 3]."""
    if not val_split:
        return np.arange(n), None, None
    order = np.random.default_rng([seed, 3]).permutation(n)
    return np.sort(order[val_split:]), np.sort(order[:val_split]), None


def advice(config: TrainConfig, lr: float) -> str:
    """What to change after a divergence: the weight decay when it is what blew up, else lr."""
    if config.weight_decay * lr >= 0.05:  # the decay alone moves each weight 5% a step
        return (f"lower the weight decay (now {config.weight_decay:g}; weight decay x learning "
                f"rate = {config.weight_decay * lr:.3g} per step)")
    return f"lower the learning rate (now {lr:g})"


def grad_norms(grads: dict) -> tuple[float, float]:
    with np.errstate(over="ignore", invalid="ignore"):  # a blown-up gradient is inf, quietly
        return float(np.linalg.norm(grads["W1"])), float(np.linalg.norm(grads["W2"]))


def lr_at(config: TrainConfig, progress: float, base_lr: float | None = None) -> float:
    """The learning rate at `progress` in [0, 1) through the whole run."""
    lr = config.lr if base_lr is None else base_lr
    if config.schedule == "cosine":
        return lr * 0.5 * (1.0 + math.cos(math.pi * progress))
    if config.schedule == "step":
        return lr * (0.1 ** ((progress >= 0.5) + (progress >= 0.75)))
    return lr


class Live:
    """Hyperparameters a UI may change while training runs; read by the trainer every batch."""

    def __init__(self, lr: float | None = None, momentum: float | None = None):
        self.lr = lr
        self.momentum = momentum
        self.revive: list[int] = []  # hidden units to re-initialise at the next batch boundary


@dataclass
class _Pauses:
    """Waits while paused, waking at once on stop, and counts the paused seconds."""

    stop: threading.Event
    pause: threading.Event
    snapshot: threading.Event  # set: the weights are wanted, even while paused
    seconds: float = field(default=0.0)

    def wait(self) -> None:
        """Return when not paused, or at once on a stop or a weights request."""
        if not self.pause.is_set():
            return
        t0 = time.perf_counter()
        while self.pause.is_set() and not self.snapshot.is_set() and not self.stop.wait(0.02):
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
    snapshot: threading.Event | None = None,
    threads: int | None = None,
    loader: bool | None = None,
) -> Iterator[Event]:
    """Train `model` (a new seeded Perceptron if None) on `data`, yielding events.

    Setting `snapshot` asks for a `Weights` event at the next batch boundary (paused or not).
    `threads` caps the BLAS threads (races and sweeps run one per process); None lets the
    shapes decide. `loader`: distort the batches in a loader process (loader.py); None: when
    the run augments. The results are the same either way.
    """
    model = model or Perceptron(config.hidden, seed=config.seed)
    stop = stop or threading.Event()
    pauses = _Pauses(stop, pause or threading.Event(), snapshot or threading.Event())
    threads = threads or blas_threads(config.batch_size, model.n_hidden, config.augment)
    if loader is None:
        loader = config.augment != "none"
    Batches = LoaderBatches if loader and config.augment != "none" else InProcessBatches
    with threadpool_limits(threads, user_api="blas") if threads else contextlib.nullcontext():
        batches = Batches(data.train_images, config.augment, config.seed,
                          min(config.batch_size, len(data.train_images)), model.dtype)
        with batches:  # a loader process ends with the run, however the run ends
            yield from _train(config, data, model, stop, pauses, live or Live(), progress_interval,
                              n_samples_shown, batches)


def _train(config: TrainConfig, data: Dataset, model: Perceptron, stop: threading.Event,
           pauses: _Pauses, live: Live, progress_interval: float,
           n_samples_shown: int, batches: InProcessBatches) -> Iterator[Event]:
    rng = np.random.default_rng([config.seed, 1])  # shuffling, independent of the init stream
    X_all, y_all = data.train_images, data.train_labels.astype(np.int64)
    # A validation split: val_split training samples chosen by the seed (a stream of its own),
    # never trained on, evaluated each epoch. Without one, `train_idx` is every sample and the
    # shuffle below draws exactly what it always did.
    train_idx, val_images, val_labels = split_indices(len(y_all), config.val_split, config.seed)
    if config.val_split:
        val_idx = val_images
        val_images, val_labels = X_all[val_idx], data.train_labels[val_idx]
    N, m = len(train_idx), config.batch_size
    n_batches = math.ceil(N / m)
    total_steps = config.epochs * n_batches
    dtype = model.dtype
    theta = model.pack()  # W1 b1 W2 b2 become views of one flat vector
    ws = Workspace.create(model.n_hidden, m, dtype)
    rule = make_optimizer(config.optimizer, theta, [model.W1, model.W2], config.weight_decay,
                          (config.beta1, config.beta2))
    t_start = time.perf_counter()
    test_acc = None
    applied = {"lr": live.lr, "momentum": live.momentum}  # live values already announced
    for epoch in range(1, config.epochs + 1):
        t_epoch, paused_before = time.perf_counter(), pauses.seconds
        perm = train_idx[rng.permutation(N)] if config.val_split else rng.permutation(N)
        batches.epoch(perm)  # batch b: perm[b*m : (b+1)*m], as floats, distorted if asked
        loss_sum, hits, seen = 0.0, 0, 0
        last_report = 0.0
        losses: list[float] = []  # since the last report
        for b in range(n_batches):
            while True:
                pauses.wait()
                if pauses.snapshot.is_set():
                    pauses.snapshot.clear()
                    while live.revive:
                        j = live.revive.pop(0)
                        if 0 <= j < model.n_hidden:
                            revive_unit(model, rule, j, np.random.default_rng([config.seed, 4, j, epoch, b]))
                            yield LiveChanged(epoch, b + 1, "revive", float(j))
                    yield weights_of(model, epoch - 1, b)
                    continue
                break
            if stop.is_set():
                yield Finished(epoch - 1, test_acc, _elapsed(t_start, pauses), stopped=True)
                return
            idx = perm[b * m : (b + 1) * m]
            k = len(idx)
            Xb = batches.get(b)
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
                    + advice(config, lr),
                )
                return
            if config.weight_decay and rule.uses_l2:  # L2 on the weights only, not the biases
                grads["W1"] += config.weight_decay * model.W1
                grads["W2"] += config.weight_decay * model.W2
            rule.step(ws.grad, lr, mu)  # the update: all parameters at once, as one vector
            batches.release()

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
                    grad_norms=grad_norms(grads),
                    batch_size=k, losses=tuple(losses),
                )
                losses = []

        t_eval = time.perf_counter()
        test_loss, proba, dead = evaluate(model, data.test_images, data.test_labels)
        t_eval = time.perf_counter() - t_eval
        if not math.isfinite(test_loss) or not np.isfinite(proba).all():
            yield Diverged(epoch, n_batches, lr,
                           f"training diverged (test loss {test_loss:.4g}) at epoch {epoch}: "
                           + advice(config, lr))
            return
        if len(proba) > 1 and np.ptp(proba, axis=0).max() < 1e-6:
            yield Diverged(epoch, n_batches, lr,
                           f"training diverged at epoch {epoch}: every hidden unit died and the "
                           f"network gives every image the same answer; " + advice(config, lr))
            return
        val_loss = val_acc = None
        if config.val_split:
            t_val = time.perf_counter()
            val_loss, val_proba, _ = evaluate(model, val_images, val_labels)
            val_acc = accuracy(val_proba.argmax(axis=1), val_labels)
            t_eval += time.perf_counter() - t_val
        pred = proba.argmax(axis=1)
        test_acc = accuracy(pred, data.test_labels)
        rel = reliability(proba, data.test_labels)
        bins = np.stack([rel.confidence, rel.accuracy, rel.count.astype(np.float64)])
        bins.flags.writeable = False
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
            val_loss=val_loss,
            val_acc=val_acc,
            ece=rel.ece,
            reliability=bins,
        )
    yield Finished(config.epochs, test_acc, _elapsed(t_start, pauses), stopped=False)


def revive_unit(model: Perceptron, rule, j: int, rng: np.random.Generator) -> None:
    """Re-initialise hidden unit j (core/insight.py) and forget the optimizer's memory of it
    (its momentum, or Adam's m and v), so it starts afresh."""
    revive(model.params(), j, rng)
    for buf in rule.buffers:
        views = flat_views(buf, model.n_hidden)
        views["W1"][:, j], views["b1"][j], views["W2"][j] = 0, 0, 0


def weights_of(model: Perceptron, epoch: int, batch: int) -> Weights:
    """A read-only copy of the model's parameters, as an event."""
    arrays = {}
    for k, v in model.params().items():
        arrays[k] = np.array(v)
        arrays[k].flags.writeable = False
    return Weights(epoch, batch, **arrays)


def _elapsed(t_start: float, pauses: _Pauses) -> float:
    return time.perf_counter() - t_start - pauses.seconds
