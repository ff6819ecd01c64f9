"""What a run needs from this machine: memory estimates, the go/no-go check, BLAS threads."""

from __future__ import annotations

import os

from .config import TrainConfig

EVAL_CHUNK = 2000  # test rows per forward pass: bounds memory at large hidden sizes

# At the smallest shapes a second BLAS thread costs more than it gives: the update then pays
# for cache lines moving between cores. Measured here (`OPENBLAS_NUM_THREADS=1|2 mnist-tui
# bench`): n=128 m=64 0.39 s vs 0.45 s per epoch; n=256 m=64 0.76 vs 0.68; n=800 m=128 1.67
# vs 1.25. A fixed rule, not a timing, so that the same config always gives the same numbers.
SINGLE_THREAD_MAX_M_N = 8192


def blas_threads(batch_size: int, hidden: int, augment: str = "none") -> int | None:
    """BLAS threads to train with: 1 for the smallest shapes, else None (the library's choice).

    An augmented run also takes 1: its loader process (core/loader.py) needs the other core,
    and two BLAS threads beside it are three busy threads on two cores, where OpenBLAS's
    threads wait for each other a time slice at a time (measured at n=800, batch 128, 6,000
    samples, under load: 12.3 s an affine epoch with two threads, 2.4 s with one).
    """
    if augment != "none":
        return 1
    return 1 if batch_size * hidden <= SINGLE_THREAD_MAX_M_N else None


def data_bytes(n_train: int, n_test: int) -> int:
    """The dataset as uint8 images and labels (one copy: processes share it, engine.py)."""
    return (n_train + n_test) * (784 + 1)


def run_bytes(config: TrainConfig, n_train: int, n_test: int) -> int:
    """A run's own peak memory beside the data: parameters and per-batch arrays."""
    n, m = config.hidden, min(config.batch_size, n_train)
    params = 4 * (784 * n + n + n * 10 + 10) * 4  # weights, gradients, velocities, one temp
    batch = 4 * m * (784 + 5 * n + 6 * 10)  # X, Z1 A1 dA1 dZ1 mask, Z2 S Y dZ2 ...
    evaluation = 4 * min(EVAL_CHUNK, n_test) * (784 + 2 * n + 3 * 10) + 4 * n_test * 10
    return params + max(batch, evaluation)


def estimate_memory_bytes(config: TrainConfig, n_train: int, n_test: int) -> int:
    """A rough peak estimate of training memory: data, parameters, and per-batch arrays."""
    return data_bytes(n_train, n_test) + run_bytes(config, n_train, n_test)


def usable_cores() -> int:
    """The CPU cores this process may run on (its affinity, else the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


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
    return check_runs([config], n_train, n_test)


def check_runs(configs: list[TrainConfig], n_train: int, n_test: int) -> str | None:
    """The same for runs that train at once, each in its own process sharing one copy of the
    data (a race's racers, a sweep's workers): their memory is counted together."""
    for config in configs:
        reason = _check_split(config, n_train)
        if reason:
            return reason
    n_fit = n_train - max(c.val_split for c in configs)
    need = data_bytes(n_train, n_test) + sum(run_bytes(c, n_fit, n_test) for c in configs)
    have = available_memory_bytes()
    if have is not None and need > 0.8 * have:
        together = f"these {len(configs)} runs at once need" if len(configs) > 1 else "this run needs"
        return (f"{together} about {need / 2**30:.1f} GiB of memory but only "
                f"{have / 2**30:.1f} GiB is available: lower the hidden units or the batch size"
                + (", or run fewer at once" if len(configs) > 1 else ""))
    return None


def _check_split(config: TrainConfig, n_train: int) -> str | None:
    if config.val_split >= n_train:
        return (f"a validation split of {config.val_split} leaves no training samples (the "
                f"training set has {n_train})")
    n_train -= config.val_split
    if config.batch_size > n_train:
        held = f" after the {config.val_split} held out" if config.val_split else ""
        return (f"batch size {config.batch_size} is larger than the training set ({n_train} "
                f"samples{held})")
    return None
