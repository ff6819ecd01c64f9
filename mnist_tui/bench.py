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

from .core import data, events, train
from .core.config import TrainConfig
from .core.model import Perceptron, flops_per_sample


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


def torch_train_seconds(ds: data.Dataset, hidden: int, batch_size: int, epochs: int,
                        threads: int) -> float:
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
        t0 = time.perf_counter()
        for i in range(0, ds.n_train, batch_size):
            idx = perm[i : i + batch_size]
            X = X_all[idx].float().mul_(1 / 255)
            loss = torch.nn.functional.cross_entropy(model(X), y_all[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


PEER_SHAPES = ((128, 64), (800, 128))  # (hidden, batch): the default run, and a wide one


def vs_torch(ds: data.Dataset, epochs: int, rounds: int) -> list[dict]:
    """Ours against PyTorch at its best thread count (1 or 2), back to back, `rounds` times;
    per shape the median ratio of epoch times (below 1: ours is faster)."""
    rows = []
    for hidden, batch in PEER_SHAPES:
        config = TrainConfig(hidden=hidden, batch_size=batch, epochs=epochs, schedule="constant",
                             lr=0.05)
        ours, theirs = [], []
        for _ in range(rounds):
            ours.append(train_seconds(config, ds))
            theirs.append(min(torch_train_seconds(ds, hidden, batch, epochs, t) for t in (1, 2)))
        rows.append({"hidden": hidden, "batch_size": batch, "ours": statistics.median(ours),
                     "torch": statistics.median(theirs),
                     "ratio": statistics.median(o / t for o, t in zip(ours, theirs, strict=True))})
    return rows


UI_SIZES = ((100, 30), (160, 50))


def with_ui(config: TrainConfig, ds: data.Dataset, data_dir: str | None, rounds: int,
            terminal: bool) -> list[dict]:
    """Per terminal size: headless epoch seconds (`mnist-tui train` in its own process, or in
    this process with `terminal` off), then the app's (Pilot), then the real program in a pty,
    back to back, `rounds` times. Cost = 1 - headless / with the app (medians)."""
    from .bench_ui import cli_epoch_seconds, terminal_epoch_seconds, ui_epoch_seconds

    rows = []
    for size in UI_SIZES:
        row: dict = {"size": f"{size[0]}x{size[1]}", "headless": [], "pilot": [], "terminal": []}
        for _ in range(rounds):
            row["headless"].append(statistics.median(
                cli_epoch_seconds(config, data_dir) if terminal else headless_epochs(config, ds)[0]))
            row["pilot"].append(statistics.median(ui_epoch_seconds(config, ds, size)))
            if terminal:
                row["terminal"].append(statistics.median(
                    terminal_epoch_seconds(config, data_dir, size)))
        for kind in ("pilot", "terminal"):
            if row[kind]:
                row[f"{kind}_cost"] = statistics.median(
                    1 - h / u for h, u in zip(row["headless"], row[kind], strict=False))
        rows.append(row)
    return rows


def load(args: argparse.Namespace) -> data.Dataset:
    """The data, cut to the first --samples training samples if asked (a quick smoke run)."""
    ds = data.load(args.data_dir)
    if getattr(args, "samples", None):
        n = min(args.samples, ds.n_train)
        ds = data.Dataset(ds.train_images[:n], ds.train_labels[:n], ds.test_images, ds.test_labels,
                          ds.source)
    return ds


def step(args: argparse.Namespace, what: str, done: int, total: int) -> None:
    """Tell the command's progress display (args.progress, if any) where the bench is."""
    hook = getattr(args, "progress", None)
    if hook is not None:
        hook(what, done, total)


def run(args: argparse.Namespace) -> dict:
    args.epochs = args.epochs or 3
    ds = load(args)
    config = TrainConfig(hidden=args.hidden, batch_size=min(args.batch_size, ds.n_train),
                         epochs=args.epochs, schedule="constant", lr=0.05)
    phases = 3 + bool(args.with_ui) + bool(args.vs_torch)
    step(args, "matmul peak", 0, phases)
    peak = matmul_peak_gflops()
    step(args, f"{args.epochs} epochs", 1, phases)
    seconds, eval_seconds = headless_epochs(config, ds)
    epoch_s = statistics.median(seconds)
    train_s = statistics.median(s - e for s, e in zip(seconds, eval_seconds, strict=True))
    # GFLOP/s counts the training matmuls, so it is taken over the training part of the epoch.
    gflops = flops_per_sample(args.hidden) * ds.n_train / train_s / 1e9
    step(args, "the seed's recipe", 2, phases)
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
        from .bench_ui import start_to_first_batch

        step(args, "with the app", 3, phases)
        result["start_to_first_batch"] = start_to_first_batch(config, ds)
        result["with_ui"] = with_ui(config, ds, args.data_dir, args.rounds,
                                    terminal=not args.samples)
    if args.vs_torch:
        step(args, "vs PyTorch", phases - 1, phases)
        try:
            import torch  # noqa: F401
        except ImportError:
            result["vs_torch"] = "PyTorch is not installed: pip install torch==2.13.0"
        else:
            result["vs_torch"] = vs_torch(ds, args.epochs, args.rounds)
    return result


def time_to_target(args: argparse.Namespace) -> dict:
    """Per seed, the default run (or --hidden/--batch-size/--epochs) trained until the test
    accuracy first reaches the target at an epoch end: the training seconds to get there
    (test-set evaluation left out) and the training matmul GFLOPs spent (machine-independent)."""
    import threading

    flops = flops_per_sample

    ds = data.load(args.data_dir)
    base = TrainConfig(hidden=args.hidden, batch_size=args.batch_size,
                       epochs=args.epochs or TrainConfig.epochs)
    rows = []
    for seed in range(args.seeds):
        step(args, f"seed {seed}", seed, args.seeds)
        config = TrainConfig(**{**base.__dict__, "seed": seed})
        stop = threading.Event()
        seconds, samples, row = 0.0, 0, {"seed": seed, "reached": False}
        for ev in train.train(config, ds, stop=stop):
            if isinstance(ev, events.EpochEnd):
                seconds += ev.seconds - ev.eval_seconds
                samples += ds.n_train
                row.update(epochs=ev.epoch, test_acc=ev.test_acc)
                if ev.test_acc >= args.target:
                    row.update(reached=True, seconds=seconds,
                               gflops=flops(config.hidden) * samples / 1e9)
                    stop.set()
            elif isinstance(ev, events.Diverged):
                row["diverged"] = ev.message
        rows.append(row)
        if not args.json:
            print(_target_line(row), flush=True)
    hit = [r for r in rows if r["reached"]]
    summary = {"target": args.target, "seeds": args.seeds, "reached": len(hit),
               "config": base.__dict__ | {"seed": "0.." + str(args.seeds - 1)}, "runs": rows}
    for key in ("seconds", "gflops", "epochs"):
        values = [r[key] for r in hit]
        summary[f"{key}_mean"] = statistics.mean(values) if values else None
        summary[f"{key}_std"] = statistics.stdev(values) if len(values) > 1 else (0.0 if values else None)
    return summary


def _target_line(r: dict) -> str:
    if not r["reached"]:
        why = r.get("diverged") or f"best of its {r.get('epochs', 0)} epochs: {r.get('test_acc', 0):.2%}"
        return f"seed {r['seed']}: not reached ({why})"
    return (f"seed {r['seed']}: {r['seconds']:6.2f} s  {r['gflops']:7.1f} GFLOPs  "
            f"(epoch {r['epochs']}, test accuracy {r['test_acc']:.2%})")


def optimizer_costs(args: argparse.Namespace) -> dict:
    """Each optimizer's epoch seconds on the default run (its default lr), `rounds` rounds of
    2 epochs each, the optimizers in a rotated order every round; per optimizer the median
    epoch and the median of its per-round ratio to momentum (with quartiles)."""
    from .core.config import DEFAULT_LR, OPTIMIZERS

    ds = load(args)
    seconds: dict[str, list[float]] = {o: [] for o in OPTIMIZERS}
    for r in range(args.rounds):
        order = OPTIMIZERS[r % len(OPTIMIZERS):] + OPTIMIZERS[: r % len(OPTIMIZERS)]
        for k, opt in enumerate(order):
            step(args, f"round {r + 1}: {opt}", r * len(order) + k, args.rounds * len(order))
            config = TrainConfig(hidden=args.hidden, batch_size=min(args.batch_size, ds.n_train), epochs=2,
                                 optimizer=opt, lr=DEFAULT_LR[opt])
            seconds[opt].append(statistics.median(headless_epochs(config, ds)[0]))
        if not args.json:
            print(f"round {r + 1}/{args.rounds}: " + "  ".join(
                f"{o} {seconds[o][-1]:.3f}s" for o in OPTIMIZERS), flush=True)
    out = {}
    for opt in OPTIMIZERS:
        ratios = [a / m for a, m in zip(seconds[opt], seconds["momentum"], strict=True)]
        q = statistics.quantiles(ratios, n=4) if len(ratios) > 1 else [ratios[0]] * 3
        out[opt] = {"epoch_seconds": statistics.median(seconds[opt]),
                    "vs_momentum": statistics.median(ratios), "quartiles": [q[0], q[2]]}
    return out


def main(args: argparse.Namespace) -> int:
    if args.optimizers:
        r = optimizer_costs(args)
        if args.json:
            print(json.dumps(r))
            return 0
        print(f"784-{args.hidden}-10, batch {args.batch_size}, each optimizer at its default lr; "
              f"epoch seconds (evaluation included), medians of {args.rounds} rounds")
        for opt, row in r.items():
            print(f"  {opt:<9} {row['epoch_seconds']:.3f} s  x{row['vs_momentum']:.3f} momentum's "
                  f"(quartiles {row['quartiles'][0]:.3f}-{row['quartiles'][1]:.3f})")
        return 0
    if args.target is not None:
        r = time_to_target(args)
        if args.json:
            print(json.dumps(r))
            return 0 if r["reached"] else 1  # a target no seed reached is a failed benchmark
        c = TrainConfig(hidden=args.hidden, batch_size=args.batch_size,
                        epochs=args.epochs or TrainConfig.epochs)
        if r["reached"]:
            print(f"time to {r['target']:.2%} test accuracy, 784-{c.hidden}-10 {c.optimizer} lr "
                  f"{c.lr:g} {c.schedule} over {c.epochs} epochs, batch {c.batch_size}: "
                  f"{r['seconds_mean']:.2f} ± {r['seconds_std']:.2f} s of training, "
                  f"{r['gflops_mean']:.1f} ± {r['gflops_std']:.1f} GFLOPs, epoch "
                  f"{r['epochs_mean']:.1f} ± {r['epochs_std']:.1f} (mean ± std of {r['reached']} "
                  f"of {r['seeds']} seeds that reached it; checked at each epoch's end)")
        else:
            print(f"no seed reached {r['target']:.2%} in {c.epochs} epochs: try more --epochs")
            return 1
        return 0
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
    if "start_to_first_batch" in r:
        rows.append(("Start to first batch", ", ".join(f"{s * 1000:.0f} ms"
                                                       for s in r["start_to_first_batch"])
                     + " (3 starts in the app, one after the other)"))
    for row in r.get("with_ui", []):
        med = {k: statistics.median(row[k]) for k in ("headless", "pilot", "terminal") if row[k]}
        text = (f"headless {med['headless']:.3f} s, app (Pilot) {med['pilot']:.3f} s "
                f"= {row['pilot_cost']:+.1%} cost")
        if "terminal" in med:
            text += f", app in a pty {med['terminal']:.3f} s = {row['terminal_cost']:+.1%} cost"
        rows.append((f"with the app {row['size']}", text + f" (median of {len(row['headless'])})"))
    if isinstance(r.get("vs_torch"), str):
        rows.append(("vs PyTorch", r["vs_torch"]))
    for row in r.get("vs_torch", []) if isinstance(r.get("vs_torch"), list) else []:
        rows.append((f"vs PyTorch n={row['hidden']} b={row['batch_size']}",
                     f"{row['ratio']:.2f}x PyTorch's epoch time (ours {row['ours']:.3f} s, "
                     f"PyTorch {row['torch']:.3f} s, best of 1-2 threads; training only)"))
    width = max(len(k) for k, _ in rows)
    for k, v in rows:
        print(f"{k:<{width}}  {v}")
    return 0
