"""`mnist-tui bench`: training speed against the matmul peak (the work is in ../../bench.py)."""

from __future__ import annotations

import argparse

from ... import bench
from ..options import add_format_flag, field_type, positive_int, target_accuracy
from ..output import Progress


def add_arguments(b: argparse.ArgumentParser) -> None:
    b.description = (
        "Measure headless training speed, the machine's float32 "
        "matmul peak, and the seed's float64 recipe, in one process; with "
        "--with-ui, what the dashboard costs; with --vs-torch, the ratio to "
        "PyTorch. Timings compare back to back; medians are reported.")
    b.add_argument("--hidden", type=field_type("hidden"), default=128,
                   help="hidden units n (default: 128)")
    b.add_argument("--batch-size", dest="batch_size", type=field_type("batch_size"), default=64,
                   help="batch size (default: 64)")
    b.add_argument("--epochs", type=field_type("epochs"), default=None,
                   help="epochs to time; the median is reported (default: 3; with --target, "
                   "the training default, 10)")
    b.add_argument("--target", type=target_accuracy, default=None, metavar="ACC",
                   help="time to target instead: train each seed until the test accuracy first "
                   "reaches ACC (0-1, e.g. 0.98) and report the training seconds and GFLOPs to "
                   "get there, per seed and as mean ± std (default: off)")
    b.add_argument("--seeds", type=positive_int, default=5, metavar="N",
                   help="with --target, seeds 0..N-1 (default: 5)")
    b.add_argument("--optimizers", action="store_true",
                   help="each optimizer's epoch time on the default run and its ratio to "
                   "momentum's, --rounds rounds back to back, medians (default: off)")
    b.add_argument("--samples", type=positive_int, default=None, metavar="N",
                   help="train on the first N samples only, for a quick smoke run (default: all)")
    b.add_argument("--with-ui", action="store_true",
                   help="also time training with the dashboard open, at 100x30 and 160x50: in "
                   "Textual's headless driver and as the real program in a pty (default: off)")
    b.add_argument("--vs-torch", action="store_true",
                   help="also time the same network in PyTorch, if installed, at n=128/b=64 and "
                   "n=800/b=128 (default: off)")
    b.add_argument("--rounds", type=positive_int, default=3, metavar="N",
                   help="back-to-back rounds for --with-ui and --vs-torch; medians are "
                   "reported (default: 3)")
    b.add_argument("--data-dir", metavar="DIR", help="as for train (default: the same search order)")
    add_format_flag(b, words="text (a table) for people; json (one object) for programs",
                    json_alias=True)
    b.add_argument("--history", action="store_true",
                   help="instead: the dashboard and the CLI on a history of --runs runs (20 "
                   "epochs each, with predictions), built in SQL in --history-dir: the Runs "
                   "tab's keys, runs list, suspects, the app's memory (default: off)")
    b.add_argument("--runs", type=positive_int, default=10_000, metavar="N",
                   help="with --history, runs in the history (default: 10000)")
    b.add_argument("--history-dir", metavar="DIR",
                   help="with --history, where the history is built, or reused if there "
                   "(default: a new temporary directory)")


def run(args: argparse.Namespace) -> int:
    if args.history:
        from ... import bench_history

        bench_history.run(runs=args.runs, directory=args.history_dir)
        return 0
    args.json = args.format == "json"
    with Progress() as progress:  # on stderr; bench.py says where it is through args.progress
        task = progress.add("bench", None)
        args.progress = lambda what, done, total: progress.update(
            task, description=what, completed=done, total=total)
        return bench.main(args)
