"""`bench --vs-torch`: the same network and batches in PyTorch (CPU, float32), if installed.

PyTorch is not a dependency of the project: without it the bench says how to install it.
"""

from __future__ import annotations

import statistics
import time

import numpy as np

from ..core import data
from ..core.config import TrainConfig
from .speed import Say, cpu_epoch_seconds, quiet, subset, train_seconds

TORCH_HINT = "PyTorch is not installed: pip install torch==2.13.0 (not a dependency of mnist-tui)"
PEER_SHAPES = ((128, 64), (800, 128))  # (hidden, batch): the default run, and a wide one


def torch_missing() -> str | None:
    """A line saying how to get PyTorch, or None when it imports."""
    try:
        import torch  # noqa: F401
    except ImportError:
        return TORCH_HINT
    return None


def torch_train_seconds(ds: data.Dataset, hidden: int, batch_size: int, epochs: int,
                        threads: int, clock=time.perf_counter) -> float:
    """Median seconds of one training epoch of the same network in PyTorch (CPU, float32,
    SGD with momentum 0.9), same batches: a uint8 -> float conversion per batch, as ours does."""
    import torch

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(784, hidden), torch.nn.ReLU(),
                                torch.nn.Linear(hidden, 10))
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    X_all = torch.from_numpy(np.array(ds.train_images))  # a writable copy, as torch wants
    y_all = torch.from_numpy(ds.train_labels.astype(np.int64))
    rng = np.random.default_rng(0)
    times = []
    for _ in range(epochs):
        perm = torch.from_numpy(rng.permutation(ds.n_train))
        t0 = clock()
        for i in range(0, ds.n_train, batch_size):
            idx = perm[i : i + batch_size]
            X = X_all[idx].float().mul_(1 / 255)
            loss = torch.nn.functional.cross_entropy(model(X), y_all[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        times.append(clock() - t0)
    return statistics.median(times)


def vs_torch(ds: data.Dataset, epochs: int, rounds: int, say: Say = quiet,
             cpu: bool = False) -> list[dict]:
    """Ours against PyTorch at its best thread count (1 or 2), back to back, `rounds` times;
    per shape the median ratio of epoch times (below 1: ours is faster), with its range.
    `cpu`: both on one thread, timed by the thread's CPU clock (ours with evaluation on 100
    test images), which a busy machine disturbs least."""
    rows = []
    small_test = subset(ds, None, n_test=100)
    for hidden, batch in PEER_SHAPES:
        config = TrainConfig(hidden=hidden, batch_size=batch, epochs=epochs, schedule="constant",
                             lr=0.05)
        ours, theirs = [], []
        for r in range(rounds):
            if cpu:
                ours.append(cpu_epoch_seconds(config, small_test))
                theirs.append(torch_train_seconds(ds, hidden, batch, epochs, 1, time.thread_time))
            else:
                ours.append(train_seconds(config, ds))
                theirs.append(min(torch_train_seconds(ds, hidden, batch, epochs, t) for t in (1, 2)))
            say(f"  round {r + 1}/{rounds} n={hidden} batch {batch}: ours {ours[-1]:.3f} s, "
                f"PyTorch {theirs[-1]:.3f} s")
        ratios = [o / t for o, t in zip(ours, theirs, strict=True)]
        rows.append({"hidden": hidden, "batch_size": batch, "ours": statistics.median(ours),
                     "torch": statistics.median(theirs), "ratio": statistics.median(ratios),
                     "ratio_range": [min(ratios), max(ratios)], "rounds": rounds,
                     "clock": "thread CPU time, 1 thread each" if cpu else "wall clock"})
    return rows
