"""Training speed: the epoch against this machine's float32 matmul peak, the optimizers against
momentum (one shape, or a grid of shapes), time to a target accuracy, augmentation's cost.

Everything is measured in one process, one after the other, so the ratios compare like with
like on a noisy shared machine. Medians over repeats; nothing here is a pass/fail test.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import numpy as np

from ..core import data, events, train
from ..core.config import DEFAULT_LR, OPTIMIZERS, TrainConfig
from ..core.model import Perceptron, flops_per_sample
from .params import GRID_BATCH, GRID_HIDDEN, GRID_SAMPLES, BenchParams

Say = Callable[[str], None]  # where progress lines go (nothing with --json)


def quiet(_: str) -> None:
    pass


def matmul_peak_gflops(size: int = 2048, repeats: int = 5) -> float:
    a = np.random.default_rng(0).random((size, size), dtype=np.float32)
    b = np.random.default_rng(1).random((size, size), dtype=np.float32)
    a @ b  # warm-up: thread pool, caches
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        a @ b
        times.append(time.perf_counter() - t0)
    return 2 * size**3 / statistics.median(times) / 1e9


def seed_recipe_epoch_seconds(ds: data.Dataset, hidden: int = 128, max_samples: int = 60000) -> float:
    """One epoch of the seed's own recipe: float64, batch 32, plain SGD, a conversion per batch."""
    model = Perceptron(hidden, seed=0, dtype=np.float64)
    X_all, y_all = ds.train_images[:max_samples], ds.train_labels[:max_samples].astype(np.int64)
    t0 = time.perf_counter()
    for i in range(0, len(y_all), 32):
        X = X_all[i : i + 32] / 255.0
        _, grads = model.loss_and_grads(X, y_all[i : i + 32])
        for k, p in model.params().items():
            p -= 0.1 * grads[k]
    return (time.perf_counter() - t0) * (60000 / len(y_all))


def headless_epochs(config: TrainConfig, ds: data.Dataset) -> tuple[list[float], list[float]]:
    """Seconds per epoch, and of those the seconds spent evaluating the test set."""
    ends = [e for e in train.train(config, ds) if isinstance(e, events.EpochEnd)]
    return [e.seconds for e in ends], [e.eval_seconds for e in ends]


def train_seconds(config: TrainConfig, ds: data.Dataset) -> float:
    """Median seconds of the training part of an epoch (evaluation left out), in this process."""
    seconds, eval_seconds = headless_epochs(config, ds)
    return statistics.median(s - e for s, e in zip(seconds, eval_seconds, strict=True))


def subset(ds: data.Dataset, n: int | None, n_test: int | None = None) -> data.Dataset:
    """The first n training samples (and n_test test samples), or `ds` itself."""
    if not n and not n_test:
        return ds
    n = min(n or ds.n_train, ds.n_train)
    t = min(n_test or ds.n_test, ds.n_test)
    return data.Dataset(ds.train_images[:n], ds.train_labels[:n], ds.test_images[:t],
                        ds.test_labels[:t], ds.source)


def load(p: BenchParams) -> data.Dataset:
    """The data, cut to the first --samples training samples if asked (a quick smoke run)."""
    return subset(data.load(p.data_dir), p.samples)


def speed_table(p: BenchParams) -> dict:
    """The default bench: epoch seconds, GFLOP/s against the matmul peak, the seed's recipe."""
    ds = load(p)
    epochs = p.epochs or 3
    config = TrainConfig(hidden=p.hidden, batch_size=min(p.batch_size, ds.n_train), epochs=epochs,
                         schedule="constant", lr=0.05)
    p.step("matmul peak", 0, 3)
    peak = matmul_peak_gflops()
    p.step(f"{epochs} epochs", 1, 3)
    seconds, eval_seconds = headless_epochs(config, ds)
    epoch_s = statistics.median(seconds)
    train_s = statistics.median(s - e for s, e in zip(seconds, eval_seconds, strict=True))
    # GFLOP/s counts the training matmuls, so it is taken over the training part of the epoch.
    gflops = flops_per_sample(p.hidden) * ds.n_train / train_s / 1e9
    p.step("the seed's recipe", 2, 3)
    seed_s = seed_recipe_epoch_seconds(ds, p.hidden, max_samples=min(ds.n_train, 20000))
    return {
        "hidden": p.hidden,
        "batch_size": config.batch_size,
        "samples": ds.n_train,
        "epochs_timed": len(seconds),
        "epoch_seconds": epoch_s,
        "epoch_seconds_all": seconds,
        "train_seconds": train_s,
        "eval_seconds": statistics.median(eval_seconds),
        "samples_per_second": ds.n_train / epoch_s,
        "gflops": gflops,
        "peak_gflops": peak,
        "peak_ratio": gflops / peak,
        "seed_recipe_epoch_seconds": seed_s * ds.n_train / 60000,
        "vs_seed_recipe": seed_s * ds.n_train / 60000 / epoch_s,
    }


def time_to_target(p: BenchParams, say: Say = quiet) -> dict:
    """Per seed, the run (`p.train_config()`, the seed replaced) trained until the test accuracy
    first reaches the target at an epoch end: the training seconds to get there (test-set
    evaluation left out), the training matmul GFLOPs spent (machine-independent), and the
    accuracy the run ends with, at its last epoch. `p.cpu`: one BLAS thread, and the seconds
    are the training thread's CPU time (a busy machine disturbs them least)."""
    ds = data.load(p.data_dir)
    base = p.train_config()
    rows = []
    for seed in range(p.seeds):
        p.step(f"seed {seed}", seed, p.seeds)
        config = TrainConfig(**{**base.__dict__, "seed": seed})
        seconds, samples, row = 0.0, 0, {"seed": seed, "reached": False}
        n_train = ds.n_train - config.val_split
        mark = time.thread_time()  # with p.cpu: the thread's CPU clock at the epoch's start
        for ev in train.train(config, ds, threads=1 if p.cpu else None):
            if p.cpu and isinstance(ev, events.BatchProgress) and ev.batch == ev.n_batches:
                seconds += time.thread_time() - mark  # the epoch's last batch, before evaluation
            if isinstance(ev, events.EpochEnd):
                if p.cpu:
                    mark = time.thread_time()
                else:
                    seconds += ev.seconds - ev.eval_seconds
                samples += n_train
                row.update(epochs_run=ev.epoch, final_acc=ev.test_acc)
                if not row["reached"]:
                    row.update(epochs=ev.epoch, test_acc=ev.test_acc)
                if ev.test_acc >= p.target and not row["reached"]:
                    row.update(reached=True, seconds=seconds,
                               gflops=flops_per_sample(config.hidden) * samples / 1e9)
            elif isinstance(ev, events.Diverged):
                row["diverged"] = ev.message
        row["total_seconds"] = seconds
        rows.append(row)
        say(target_line(row))
    hit = [r for r in rows if r["reached"]]
    summary = {"target": p.target, "seeds": p.seeds, "reached": len(hit),
               "clock": "thread CPU time, 1 BLAS thread" if p.cpu else "wall clock",
               "config": base.__dict__ | {"seed": "0.." + str(p.seeds - 1)}, "runs": rows}
    for key in ("seconds", "gflops", "epochs"):
        values = [r[key] for r in hit]
        summary[f"{key}_mean"] = statistics.mean(values) if values else None
        summary[f"{key}_std"] = statistics.stdev(values) if len(values) > 1 else (0.0 if values else None)
    finals = [r["final_acc"] for r in rows if "final_acc" in r]
    summary["final_acc_mean"] = statistics.mean(finals) if finals else None
    summary["final_acc_min"] = min(finals) if finals else None
    return summary


def target_line(r: dict) -> str:
    end = f", ends at {r['final_acc']:.2%} after {r['epochs_run']}" if "final_acc" in r else ""
    if not r["reached"]:
        why = r.get("diverged") or f"{r.get('epochs_run', 0)} epochs{end}"
        return f"seed {r['seed']}: not reached ({why})"
    return (f"seed {r['seed']}: {r['seconds']:6.2f} s  {r['gflops']:7.1f} GFLOPs  "
            f"(epoch {r['epochs']}, test accuracy {r['test_acc']:.2%}{end})")


def _rotated(names: tuple[str, ...], r: int) -> tuple[str, ...]:
    return names[r % len(names):] + names[: r % len(names)]


def _ratio_summary(seconds: dict[str, list[float]], base: str = "momentum") -> dict:
    out = {}
    for opt, values in seconds.items():
        ratios = [a / m for a, m in zip(values, seconds[base], strict=True)]
        q = statistics.quantiles(ratios, n=4) if len(ratios) > 1 else [ratios[0]] * 3
        out[opt] = {"epoch_seconds": statistics.median(values),
                    "vs_momentum": statistics.median(ratios), "quartiles": [q[0], q[2]]}
    return out


def cpu_epoch_seconds(config: TrainConfig, ds: data.Dataset) -> float:
    """The training thread's CPU seconds for a whole one-thread run of `config` (evaluation
    included), divided by its epochs: waiting for a core on a busy machine is not counted."""
    t0 = time.thread_time()
    for _ in train.train(config, ds, threads=1):
        pass
    return (time.thread_time() - t0) / config.epochs


def optimizer_epochs(ds: data.Dataset, hidden: int, batch_size: int, rounds: int, epochs: int = 1,
                     train_only: bool = False, cpu: bool = False,
                     say: Say = quiet) -> dict[str, list[float]]:
    """Each optimizer's epoch seconds at one shape (its default lr), `rounds` rounds, the
    optimizers in a rotated order every round. `train_only`: test-set evaluation left out.
    `cpu`: one BLAS thread, timed by the thread's CPU clock (`cpu_epoch_seconds`)."""
    seconds: dict[str, list[float]] = {o: [] for o in OPTIMIZERS}
    for r in range(rounds):
        for opt in _rotated(OPTIMIZERS, r):
            config = TrainConfig(hidden=hidden, batch_size=min(batch_size, ds.n_train),
                                 epochs=epochs, optimizer=opt, lr=DEFAULT_LR[opt])
            if cpu:
                seconds[opt].append(cpu_epoch_seconds(config, ds))
                continue
            total, evals = headless_epochs(config, ds)
            seconds[opt].append(statistics.median(
                [t - e for t, e in zip(total, evals, strict=True)] if train_only else total))
        say(f"  round {r + 1}/{rounds} n={hidden} batch {batch_size}: " + "  ".join(
            f"{o} {seconds[o][-1]:.3f}s" for o in OPTIMIZERS))
    return seconds


def optimizer_costs(p: BenchParams, say: Say = quiet) -> dict:
    """Each optimizer's epoch seconds on one shape (its default lr), `rounds` rounds of 2
    epochs each; per optimizer the median epoch and the median of its per-round ratio to
    momentum (with quartiles)."""
    seconds = optimizer_epochs(load(p), p.hidden, p.batch_size, p.rounds, epochs=2, say=say)
    return _ratio_summary(seconds)


def optimizer_grid(p: BenchParams, say: Say = quiet) -> dict:
    """`optimizer_costs` over every shape of GRID_HIDDEN x GRID_BATCH, training time only (the
    test-set evaluation is the same for every optimizer), one epoch of the first `p.samples`
    (default GRID_SAMPLES) training samples per cell: the update and the matmuls both scale with
    the samples, so the ratio is an epoch's. With `p.cpu`: one BLAS thread everywhere, timed by
    the training thread's CPU clock (evaluation of 200 test images included), the figure a busy
    shared machine disturbs least."""
    ds = subset(data.load(p.data_dir), p.samples or GRID_SAMPLES, n_test=200 if p.cpu else 1000)
    cells = []
    for hidden in GRID_HIDDEN:
        for batch in GRID_BATCH:
            p.step(f"n={hidden} batch {batch}", len(cells), len(GRID_HIDDEN) * len(GRID_BATCH))
            seconds = optimizer_epochs(ds, hidden, batch, p.rounds, train_only=True, cpu=p.cpu,
                                       say=say)
            summary = _ratio_summary(seconds)
            cells.append({"hidden": hidden, "batch_size": batch, "optimizers": summary,
                          "worst": max(summary, key=lambda o: summary[o]["vs_momentum"])})
    return {"samples": ds.n_train, "rounds": p.rounds, "cells": cells,
            "clock": "thread CPU time, 1 BLAS thread" if p.cpu else "wall clock, the trainer's BLAS threads",
            "worst_ratio": max(c["optimizers"][c["worst"]]["vs_momentum"] for c in cells)}


AUGMENT_SHAPE = (800, 128)


def augment_costs(p: BenchParams, say: Say = quiet) -> dict:
    """Epoch seconds (training only) of plain, affine and elastic runs at n=800/batch 128, the
    distortions in the loader process and on the training thread, `rounds` rounds back to
    back; per kind the median and the median ratio to the plain epoch of the same round. An
    augmented run trains on one BLAS thread (resources.blas_threads), so the plain epoch is
    timed both ways: with the library's threads (what a plain run gets) and with one."""
    if p.cpu:
        return augment_cpu_costs(p, say)
    ds = load(p)
    hidden, batch = AUGMENT_SHAPE
    kinds = [("none", False, None), ("none", False, 1), ("affine", True, None),
             ("affine", False, None), ("elastic", True, None), ("elastic", False, None)]
    names = {("none", None): "none", ("none", 1): "none (1 BLAS thread)"}
    seconds: dict[str, list[float]] = {}
    for r in range(p.rounds):
        for kind, use_loader, threads in kinds[r % len(kinds):] + kinds[: r % len(kinds)]:
            config = TrainConfig(hidden=hidden, batch_size=batch, epochs=p.epochs or 1, augment=kind)
            key = names.get((kind, threads)) or f"{kind} ({'loader' if use_loader else 'in-process'})"
            ends = [e for e in train.train(config, ds, loader=use_loader, threads=threads)
                    if isinstance(e, events.EpochEnd)]
            seconds.setdefault(key, []).append(
                statistics.median(e.seconds - e.eval_seconds for e in ends))
        say(f"  round {r + 1}/{p.rounds}: " + "  ".join(f"{k} {v[-1]:.2f}s" for k, v in seconds.items()))
    plain, plain_1 = seconds["none"], seconds["none (1 BLAS thread)"]
    return {key: {"epoch_seconds": statistics.median(v),
                  "vs_plain": statistics.median(a / b for a, b in zip(v, plain, strict=True)),
                  "vs_plain_1_thread": statistics.median(a / b for a, b in zip(v, plain_1, strict=True)),
                  "all": v}
            for key, v in seconds.items()}


def _augment_cpu(config: TrainConfig, ds: data.Dataset, use_loader: bool) -> tuple[float, float]:
    """CPU seconds of one run's training (its epochs' training parts, one BLAS thread): the
    trainer's thread, and its loader process's whole life (0 without one)."""
    import resource

    def children() -> float:
        r = resource.getrusage(resource.RUSAGE_CHILDREN)  # reaped children only: the loader is
        return r.ru_utime + r.ru_stime  # reaped when train() ends

    before, trainer, mark = children(), 0.0, time.thread_time()
    for ev in train.train(config, ds, loader=use_loader, threads=1):
        if isinstance(ev, events.BatchProgress) and ev.batch == ev.n_batches:
            trainer += time.thread_time() - mark  # the epoch's last batch, before evaluation
        elif isinstance(ev, events.EpochEnd):
            mark = time.thread_time()
    return trainer / config.epochs, (children() - before) / config.epochs


def augment_cpu_costs(p: BenchParams, say: Say = quiet) -> dict:
    """`augment_costs` by CPU clocks, which a busy machine disturbs least: per kind the
    trainer's CPU seconds of an epoch's training and the loader's, and the larger of the two
    (what an epoch takes when each has a core of its own: they work at the same time) against
    the plain epoch's, one BLAS thread everywhere. The loader's seconds include its start
    (one per run: more epochs, `--epochs`, spread it)."""
    import scipy.ndimage  # noqa: F401  (once, before any clock: a run's start imports it, no epoch)

    ds = load(p)
    hidden, batch = AUGMENT_SHAPE
    kinds = [("none", False), ("affine", True), ("affine", False), ("elastic", True),
             ("elastic", False)]
    rows: dict[str, dict[str, list[float]]] = {}
    for r in range(p.rounds):
        for kind, use_loader in kinds[r % len(kinds):] + kinds[: r % len(kinds)]:
            config = TrainConfig(hidden=hidden, batch_size=batch, epochs=p.epochs or 1, augment=kind)
            key = "none" if kind == "none" else f"{kind} ({'loader' if use_loader else 'in-process'})"
            trainer, loader = _augment_cpu(config, ds, use_loader and kind != "none")
            row = rows.setdefault(key, {"trainer": [], "loader": [], "bound": []})
            row["trainer"].append(trainer)
            row["loader"].append(loader)
            row["bound"].append(max(trainer, loader))
        say(f"  round {r + 1}/{p.rounds}: " + "  ".join(
            f"{k} {v['trainer'][-1]:.2f}+{v['loader'][-1]:.2f}s" for k, v in rows.items()))
    plain = rows["none"]["bound"]
    out = {}
    for key, v in rows.items():
        ratio = statistics.median(a / b for a, b in zip(v["bound"], plain, strict=True))
        out[key] = {"epoch_seconds": statistics.median(v["bound"]), "vs_plain": ratio,
                    "vs_plain_1_thread": ratio, "trainer_seconds": statistics.median(v["trainer"]),
                    "loader_seconds": statistics.median(v["loader"]), "all": v["bound"],
                    "clock": "CPU time, 1 BLAS thread"}
    return out
