"""`mnist-tui bench`: training speed against this machine's float32 matmul peak.

Everything is measured in one process, one after the other, so the ratios compare like with
like on a noisy shared machine. Medians over repeats; nothing here is a pass/fail test.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import numpy as np

from .core import data, train
from .core.model import Perceptron


def flops_per_sample(n: int) -> int:
    """Forward (X W1, A1 W2) and backward (A1^T dZ2, dZ2 W2^T, X^T dZ1) matmul FLOPs."""
    return 2 * (2 * 784 * n + 3 * n * 10)


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


def headless_epochs(config: train.TrainConfig, ds: data.Dataset) -> tuple[list[float], list[float]]:
    """Seconds per epoch, and of those the seconds spent evaluating the test set."""
    ends = [e for e in train.train(config, ds) if isinstance(e, train.EpochEnd)]
    return [e.seconds for e in ends], [e.eval_seconds for e in ends]


def run(args: argparse.Namespace) -> dict:
    ds = data.load(args.data_dir)
    if args.samples:
        n = min(args.samples, ds.n_train)
        ds = data.Dataset(ds.train_images[:n], ds.train_labels[:n], ds.test_images, ds.test_labels,
                          ds.source)
    config = train.TrainConfig(hidden=args.hidden, batch_size=min(args.batch_size, ds.n_train),
                               epochs=args.epochs, schedule="constant", lr=0.05)
    peak = matmul_peak_gflops()
    seconds, eval_seconds = headless_epochs(config, ds)
    epoch_s = statistics.median(seconds)
    train_s = statistics.median(s - e for s, e in zip(seconds, eval_seconds, strict=True))
    # GFLOP/s counts the training matmuls, so it is taken over the training part of the epoch.
    gflops = flops_per_sample(args.hidden) * ds.n_train / train_s / 1e9
    seed_s = seed_recipe_epoch_seconds(ds, args.hidden, max_samples=min(ds.n_train, 20000))
    result = {
        "hidden": args.hidden,
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
    if args.with_ui:
        from .bench_ui import ui_epoch_seconds

        ui = statistics.median(ui_epoch_seconds(config, ds))
        result["with_ui_epoch_seconds"] = ui
        result["with_ui_ratio"] = epoch_s / ui
    return result


def main(args: argparse.Namespace) -> int:
    r = run(args)
    if args.json:
        print(json.dumps(r))
        return 0
    rows = [
        ("network", f"784-{r['hidden']}-10, batch {r['batch_size']}, {r['samples']} samples/epoch"),
        ("epoch (median)", f"{r['epoch_seconds']:.3f} s over {r['epochs_timed']} epochs "
         f"({r['train_seconds']:.3f} training + {r['eval_seconds']:.3f} test-set evaluation)"),
        ("samples/s", f"{r['samples_per_second']:,.0f} (whole epoch)"),
        ("training GFLOP/s", f"{r['gflops']:.1f}"),
        ("matmul peak GFLOP/s", f"{r['peak_gflops']:.1f} (2048x2048 float32)"),
        ("share of peak", f"{r['peak_ratio']:.0%}"),
        ("seed recipe epoch", f"{r['seed_recipe_epoch_seconds']:.3f} s (float64, batch 32)"),
        ("speed-up vs seed", f"{r['vs_seed_recipe']:.2f}x"),
    ]
    if "with_ui_epoch_seconds" in r:
        rows.append(("epoch with dashboard", f"{r['with_ui_epoch_seconds']:.3f} s "
                     f"({r['with_ui_ratio']:.0%} of headless throughput)"))
    width = max(len(k) for k, _ in rows)
    for k, v in rows:
        print(f"{k:<{width}}  {v}")
    return 0
