"""`bench --profile`: where one training step's time goes.

A step of `train()` is timed whole (an epoch of it, evaluation left out, divided by its
batches); a replica of the same step, call for call as model.py and optim.py make them, is timed
part by part: the batch (gather, uint8 -> float), the five matmuls, the elementwise work (bias,
ReLU and its mask, softmax, loss, dZ2, the two bias sums), and the update. What the whole step
takes beyond the parts is the trainer's Python: the loop, events, live values, bookkeeping.
The parts are timed with a clock read around each, then scaled to add up to the replica's
untimed step.
The replica's gradient is checked equal to model.py's, so it cannot drift from what it times.

At a shape that trains on one BLAS thread the clock is the thread's CPU time, which a busy
shared machine inflates far less than the wall clock (time spent waiting for a core is not
counted); at the others it is the wall clock, since the second BLAS thread's work counts too.
"""

from __future__ import annotations

import contextlib
import statistics
import time

import numpy as np
from threadpoolctl import threadpool_limits

from ..core import data, events, train
from ..core.config import TrainConfig
from ..core.loader import InProcessBatches
from ..core.model import Perceptron, Workspace
from ..core.optim import make
from ..core.resources import blas_threads
from .speed import subset

PROFILE_SHAPES = ((128, 64), (800, 128))  # (hidden, batch)
PROFILE_SAMPLES = 12000
PARTS = ("batch", "matmul", "elementwise", "update", "python")
PART_NAMES = {
    "batch": "batch (gather, uint8 -> float)",
    "matmul": "matmuls (5: X W1, A1 W2, A1ᵀ dZ2, dZ2 W2ᵀ, Xᵀ dZ1)",
    "elementwise": "elementwise (bias, ReLU, softmax, loss, dZ2, mask, sums)",
    "update": "update (momentum, blocked ufuncs)",
    "python": "Python: the loop, events, bookkeeping (the rest)",
}


def _replica_parts(model: Perceptron, ws: Workspace, rule, batches: InProcessBatches,
                   y_all: np.ndarray, perm: np.ndarray, m: int, steps: int,
                   tick=time.perf_counter) -> dict[str, float]:
    """Seconds per step of each part, over `steps` steps of the replica (medians of 5 slices)."""
    per_slice: dict[str, list[float]] = {p: [] for p in PARTS[:-1]}
    W1, b1, W2, b2 = model.W1, model.b1, model.W2, model.b2
    slice_steps = max(1, steps // 5)
    for s in range(5):
        acc = dict.fromkeys(PARTS[:-1], 0.0)
        for i in range(slice_steps):
            b = (s * slice_steps + i) % (len(perm) // m)
            t0 = tick()
            X = batches.get(b)
            y = y_all[perm[b * m : (b + 1) * m]]
            k = len(X)
            rows = ws.rows[:k]
            t1 = tick()
            Z1 = np.matmul(X, W1, out=ws.Z1[:k])
            t2 = tick()
            Z1 += b1
            A1 = np.maximum(Z1, 0, out=ws.A1[:k])
            t3 = tick()
            Z2 = np.matmul(A1, W2, out=ws.Z2[:k])
            t4 = tick()
            Z2 += b2
            shifted = np.subtract(Z2, Z2.max(axis=1, keepdims=True), out=ws.S[:k])
            true_logit = shifted[rows, y]
            S = np.exp(shifted, out=shifted)
            sums = S.sum(axis=1, keepdims=True)
            float(np.mean(np.log(sums[:, 0]) - true_logit))
            S /= sums
            dZ2 = S
            dZ2[rows, y] -= 1
            dZ2 /= k
            t5 = tick()
            np.matmul(A1.T, dZ2, out=ws.grads["W2"])
            t6 = tick()
            np.sum(dZ2, axis=0, out=ws.grads["b2"])
            t7 = tick()
            dA1 = np.matmul(dZ2, W2.T, out=ws.dA1[:k])
            t8 = tick()
            active = np.greater(Z1, 0, out=ws.active[:k])
            dZ1 = np.multiply(dA1, active, out=dA1)
            t9 = tick()
            np.matmul(X.T, dZ1, out=ws.grads["W1"])
            t10 = tick()
            np.sum(dZ1, axis=0, out=ws.grads["b1"])
            t11 = tick()
            rule.step(ws.grad, 0.05, 0.9)
            batches.release()
            t12 = tick()
            acc["batch"] += t1 - t0
            acc["matmul"] += (t2 - t1) + (t4 - t3) + (t6 - t5) + (t8 - t7) + (t10 - t9)
            acc["elementwise"] += (t3 - t2) + (t5 - t4) + (t7 - t6) + (t9 - t8) + (t11 - t10)
            acc["update"] += t12 - t11
        for p, v in acc.items():
            per_slice[p].append(v / slice_steps)
    return {p: statistics.median(v) for p, v in per_slice.items()}


def check_replica(hidden: int, batch: int, ds: data.Dataset) -> None:
    """The replica's gradient equals model.py's on one batch (raises AssertionError if not)."""
    model, ref = Perceptron(hidden, seed=0), Perceptron(hidden, seed=0)
    ws, ws_ref = Workspace.create(hidden, batch, np.float32), Workspace.create(hidden, batch, np.float32)
    model.pack()
    batches = InProcessBatches(ds.train_images, "none", 0, batch, np.float32)
    perm = np.arange(batch)
    batches.epoch(perm)
    y_all = ds.train_labels.astype(np.int64)
    _replica_parts(model, ws, _NoUpdate(), batches, y_all, perm, batch, steps=1)
    _, grads, _ = ref.loss_grads_logits(batches.get(0), y_all[:batch], ws_ref)
    for name, g in grads.items():
        assert np.array_equal(g, ws.grads[name]), f"the profile's replica drifted from model.py ({name})"


def _no_clock() -> float:
    return 0.0


class _NoUpdate:
    def step(self, *args) -> None:
        pass


def step_profile(hidden: int, batch: int, data_dir: str | None = None,
                 samples: int | None = None, rounds: int = 3, cpu: bool = False) -> dict:
    """Microseconds per step of each part, and its share of the whole step, at one shape (the
    trainer's own BLAS thread rule; `cpu`: one thread). Medians of `rounds` whole-step and
    replica timings."""
    ds = subset(data.load(data_dir), samples or PROFILE_SAMPLES, n_test=1000)
    check_replica(hidden, batch, ds)
    config = TrainConfig(hidden=hidden, batch_size=batch, epochs=1, schedule="constant", lr=0.05)
    n_batches = -(-ds.n_train // batch)
    threads = 1 if cpu else blas_threads(batch, hidden)
    tick = time.thread_time if threads == 1 else time.perf_counter
    wholes, parts = [], []
    with threadpool_limits(threads, user_api="blas") if threads else contextlib.nullcontext():
        for _ in range(rounds):
            t0 = tick()
            evaluation = sum(e.eval_seconds for e in train.train(config, ds, threads=threads)
                             if isinstance(e, events.EpochEnd))
            wholes.append((tick() - t0 - evaluation) / n_batches)
            model = Perceptron(hidden, seed=0)
            theta = model.pack()
            ws = Workspace.create(hidden, batch, np.float32)
            rule = make("momentum", theta, [model.W1, model.W2])
            batches = InProcessBatches(ds.train_images, "none", 0, batch, np.float32)
            perm = np.random.default_rng(0).permutation(ds.n_train)
            batches.epoch(perm)
            y_all = ds.train_labels.astype(np.int64)
            timed = _replica_parts(model, ws, rule, batches, y_all, perm, batch, n_batches, tick)
            # the same steps without the timers inside: what the parts add up to, unperturbed
            t0 = tick()
            _replica_parts(model, ws, rule, batches, y_all, perm, batch, n_batches, _no_clock)
            total = (tick() - t0) / (5 * max(1, n_batches // 5))
            parts.append({p: v * total / sum(timed.values()) for p, v in timed.items()})
    whole = statistics.median(wholes)
    us = {p: statistics.median(r[p] for r in parts) * 1e6 for p in PARTS[:-1]}
    us["python"] = max(0.0, whole * 1e6 - sum(us.values()))
    step = max(whole * 1e6, sum(us.values()))  # on a busy machine the replica can come out slower
    return {"hidden": hidden, "batch_size": batch, "threads": threads or "library default",
            "clock": "thread CPU time" if tick is time.thread_time else "wall clock",
            "step_us": whole * 1e6, "parts_us": us,
            "parts_share": {p: v / step for p, v in us.items()},
            "samples": ds.n_train, "rounds": rounds}


UPDATE_HIDDEN = (32, 128, 256, 800, 1024)  # the grid's hidden sizes (params.GRID_HIDDEN)


def update_costs(hidden_sizes: tuple[int, ...] | None = None, steps: int = 100,
                 repeats: int = 5) -> list[dict]:
    """The update alone: microseconds of one `step` of each rule over a 784-n-10 network's
    parameters (a random gradient; one thread's CPU time, the median of `repeats` runs of
    `steps` steps). It is the same at every batch size, while the rest of the step shrinks with
    the batch: at batch 16 it is what sets an optimizer's epoch against momentum's."""
    from ..core.model import param_shapes
    from ..core.optim import OPTIMIZERS

    rows = []
    for n in hidden_sizes or UPDATE_HIDDEN:
        size = sum(int(np.prod(s)) for s in param_shapes(n).values())
        rng = np.random.default_rng(0)
        grad = (rng.standard_normal(size) * 1e-3).astype(np.float32)
        us = {}
        for name in OPTIMIZERS:
            theta = (rng.standard_normal(size) * 0.05).astype(np.float32)
            rule = make(name, theta, [theta[: 784 * n]])
            times = []
            for _ in range(repeats):
                t0 = time.thread_time()
                for _ in range(steps):
                    rule.step(grad, 1e-3, 0.9)
                times.append((time.thread_time() - t0) / steps * 1e6)
            us[name] = statistics.median(times)
        rows.append({"hidden": n, "params": size, "update_us": us,
                     "vs_momentum": {k: v / us["momentum"] for k, v in us.items()}})
    return rows


def update_table(rows: list[dict]) -> list[str]:
    """The update costs as lines of text: one row per hidden size."""
    names = list(rows[0]["update_us"]) if rows else []
    lines = ["the update alone, us a step (one thread's CPU time), and x momentum's:",
             f"{'n':>6} {'params':>8}  " + "  ".join(f"{o:>16}" for o in names)]
    for r in rows:
        lines.append(f"{r['hidden']:>6} {r['params']:>8}  " + "  ".join(
            f"{r['update_us'][o]:>8.1f} (x{r['vs_momentum'][o]:.2f})" for o in names))
    return lines


def profile_table(rows: list[dict]) -> list[str]:
    """The profile as lines of text: one block per shape."""
    lines = []
    for r in rows:
        lines.append(f"784-{r['hidden']}-10, batch {r['batch_size']} (BLAS threads: {r['threads']}): "
                     f"{r['step_us']:.0f} us a step (median of {r['rounds']}, an epoch of "
                     f"{r['samples']} samples; {r['clock']})")
        for p in PARTS:
            lines.append(f"  {PART_NAMES[p]:<58} {r['parts_us'][p]:8.1f} us  {r['parts_share'][p]:6.1%}")
    return lines
