"""`mnist-tui bench`: training speed, and where it goes (the work is in ../../bench/)."""

from __future__ import annotations

import argparse

from ... import bench
from ...core.config import TrainConfig
from ..options import (
    add_config_flags,
    add_format_flag,
    config_from_args,
    field_type,
    positive_int,
    target_accuracy,
)
from ..output import EXIT_USAGE, Progress, fail


def add_arguments(b: argparse.ArgumentParser) -> None:
    b.description = (
        "Measure headless training speed, the machine's float32 "
        "matmul peak, and the seed's float64 recipe, in one process; with "
        "--with-ui, what the dashboard costs; with --vs-torch, the ratio to "
        "PyTorch; with --optimizers [--grid], every optimizer against momentum; with "
        "--profile, where a step's time goes; with --augment-cost, the loader process against "
        "the training thread; with --target, the time to an accuracy. Timings compare back to "
        "back; medians are reported, with the machine's load.")
    b.add_argument("--hidden", type=field_type("hidden"), default=128,
                   help="hidden units n (default: 128)")
    b.add_argument("--batch-size", dest="batch_size", type=field_type("batch_size"), default=64,
                   help="batch size (default: 64)")
    b.add_argument("--epochs", type=field_type("epochs"), default=None,
                   help="epochs to time; the median is reported (default: 3; with --target, "
                   "the training default, 10)")
    b.add_argument("--target", type=target_accuracy, default=None, metavar="ACC",
                   help="time to target instead: train each seed (every training flag applies) "
                   "and report the training seconds and GFLOPs until the test accuracy first "
                   "reaches ACC (0-1, e.g. 0.98), and the accuracy each seed ends at, per seed "
                   "and as mean ± std (default: off)")
    b.add_argument("--seeds", type=positive_int, default=5, metavar="N",
                   help="with --target, seeds 0..N-1 (default: 5)")
    b.add_argument("--optimizers", action="store_true",
                   help="each optimizer's epoch time on the default run and its ratio to "
                   "momentum's, --rounds rounds back to back, medians (default: off)")
    b.add_argument("--grid", action="store_true",
                   help="with --optimizers: over every shape of n in 32,128,256,800,1024 and "
                   "batch in 16,64,128,512, one epoch of 12,000 samples each (--samples to "
                   "change), training time only (default: off)")
    b.add_argument("--cpu", action="store_true",
                   help="with --grid, --vs-torch, --profile, --augment-cost or --target: one "
                   "thread, timed by the training thread's CPU clock, which a busy machine "
                   "disturbs least (default: off, the wall clock)")
    b.add_argument("--profile", action="store_true",
                   help="where one training step's time goes at n=128/batch 64 and n=800/batch "
                   "128: matmuls, elementwise work, the update, Python, in us and %% (default: off)")
    b.add_argument("--augment-cost", dest="augment_cost", action="store_true",
                   help="epoch time of affine and elastic runs at n=800/batch 128, distorted in "
                   "the loader process and on the training thread, against a plain epoch "
                   "(default: off)")
    b.add_argument("--samples", type=positive_int, default=None, metavar="N",
                   help="train on the first N samples only, for a quick smoke run (default: all)")
    b.add_argument("--with-ui", action="store_true",
                   help="also time training with the dashboard open, at 100x30 and 160x50: in "
                   "Textual's headless driver and as the real program in a pty (default: off)")
    b.add_argument("--vs-torch", action="store_true",
                   help="time the same network in PyTorch, if installed (not a dependency: pip "
                   "install torch==2.13.0), at n=128/b=64 and n=800/b=128 (default: off)")
    b.add_argument("--rounds", type=positive_int, default=3, metavar="N",
                   help="back-to-back rounds; medians are reported (default: 3)")
    add_format_flag(b, words="text (a table) for people; json (one object) for programs",
                    json_alias=True)
    b.add_argument("--attach", action="store_true",
                   help="instead: what serving a run to viewers costs: epoch seconds not "
                   "served, served, and with a viewer attached (--rounds back to back, medians), "
                   "the viewer's receive delay, and the memory of a detached run (default: off)")
    b.add_argument("--history", action="store_true",
                   help="instead: the dashboard and the CLI on a history of --runs runs (20 "
                   "epochs each, with predictions), built in SQL in --history-dir: the Runs "
                   "tab's keys, runs list, suspects, the app's memory (default: off)")
    b.add_argument("--runs", type=positive_int, default=10_000, metavar="N",
                   help="with --history, runs in the history (default: 10000)")
    b.add_argument("--history-dir", metavar="DIR",
                   help="with --history, where the history is built, or reused if there "
                   "(default: a new temporary directory)")
    add_config_flags(b, defaults=False, skip=("hidden", "batch_size", "epochs"))


def params(args: argparse.Namespace) -> bench.BenchParams:
    """The bench's typed parameters from the parsed flags: with --target, the run to time is
    the TrainConfig every training flag gives (10 epochs unless --epochs)."""
    options = dict(vars(args))
    options["json"] = getattr(args, "format", "text") == "json"
    if args.target is not None:
        epochs = args.epochs or TrainConfig.epochs
        options["config"] = config_from_args(argparse.Namespace(**{**options, "epochs": epochs}))
    return bench.BenchParams.from_options(options)


HISTORY_MIN_RUNS = 50  # the Runs tab's keys move through 20 rows and back


def _check_history_flags(args: argparse.Namespace) -> str | None:
    """What is wrong with --history, --runs and --history-dir together (None: nothing); the
    folder is made here, so that a file or a forbidden place is one line, not a traceback."""
    from pathlib import Path

    if not args.history:
        if args.history_dir or args.runs != 10_000:
            return "--runs and --history-dir go with --history"
        return None
    if args.runs < HISTORY_MIN_RUNS:
        return f"--runs: at least {HISTORY_MIN_RUNS} with --history (got {args.runs})"
    if args.history_dir:
        folder = Path(args.history_dir)
        if folder.exists() and not folder.is_dir():
            return f"--history-dir {folder}: not a folder"
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            return f"--history-dir {folder}: cannot make it ({e.strerror})"
    return None


def run(args: argparse.Namespace) -> int:
    wrong = _check_history_flags(args)
    if wrong:
        return fail(wrong, EXIT_USAGE)
    with Progress() as progress:  # on stderr; the bench says where it is through params.progress
        task = progress.add("bench", None)
        args.progress = lambda what, done, total: progress.update(
            task, description=what, completed=done, total=total)
        return bench.main(params(args))
