"""Command line: `mnist-tui` opens the dashboard; `train`, `download` and `bench` run headless.

Exit codes: 0 success, 1 data or checkpoint error, 2 invalid flag, 3 training diverged,
130 interrupted. Errors are one line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import errno
import json
import math
import os
import signal
import sys
import time
from dataclasses import asdict, fields

import numpy as np

from . import __version__
from .core import checkpoint, data, resources, store, train
from .core import config as cfg
from .core import events as ev_
from .core.files import FileError, check_target, write_atomic
from .core.history import RunHistory
from .core.model import Perceptron
from .core.render import config_words

EXIT_DATA, EXIT_USAGE, EXIT_DIVERGED, EXIT_INTERRUPTED = 1, 2, 3, 130
OUTPUT_ERRORS = (errno.ENOSPC, errno.EIO, errno.EFBIG, errno.EDQUOT)  # writing stdout failed
FLAG_NAMES = {"batch_size": "--batch-size", "weight_decay": "--weight-decay",
              "val_split": "--val-split"}


class Parser(argparse.ArgumentParser):
    """ArgumentParser whose errors are one line, pointing at --help."""

    def error(self, message: str):
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def run_id(text: str) -> int:
    """A run id: ASCII digits, 1 to 2^63-1 (SQLite's integer range)."""
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) < 2**63:
        raise argparse.ArgumentTypeError(f"a run id is a whole number from 1 to {2**63 - 1} (got {text!r})")
    return int(text)


def port_number(text: str) -> int:
    if not (text.isascii() and text.strip().isdigit()) or not 1 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"a port is a whole number from 1 to 65535 (got {text!r})")
    return int(text)


def positive_int(text: str) -> int:
    if not (text.isascii() and text.strip().isdigit()) or int(text) < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1 (got {text!r})")
    return int(text)


def probability(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"must be a number from 0 to 1 (got {text!r})")
    return value


def target_accuracy(text: str) -> float:
    value = probability(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"a target accuracy is above 0 and at most 1 (got {text!r})")
    return value


def flag(name: str) -> str:
    return FLAG_NAMES.get(name, "--" + name)


def _field_type(name: str):
    def parse(text: str):
        try:
            return cfg.parse_field(name, text)
        except ValueError as e:
            raise argparse.ArgumentTypeError(str(e)) from None

    parse.__name__ = name  # argparse names the type in some messages
    return parse


def add_config_flags(p: argparse.ArgumentParser, defaults: bool = True) -> None:
    """One flag per TrainConfig field, validated by the same rules as the dashboard's form.

    A subcommand passes defaults=False, so `mnist-tui --epochs 3 train` keeps the 3 given
    before the subcommand instead of the subcommand's default overwriting it.
    """
    g = p.add_argument_group("training (the same rules as the dashboard's form)")
    for f in fields(cfg.TrainConfig):
        spec = cfg.SPECS[f.name]
        default = f.default
        shown = f.default
        if f.name == "lr":  # the optimizer's own default unless given (see config.DEFAULT_LR)
            default, shown = None, "0.1; 0.001 for adam and adamw"
        g.add_argument(
            flag(f.name),
            dest=f.name,
            type=_field_type(f.name),
            default=default if defaults else argparse.SUPPRESS,
            metavar=f.name.upper() if not spec.choices else "{" + ",".join(spec.choices) + "}",
            help=f"{spec.help}, {cfg.range_text(spec)} (default: {shown})",
        )
    p.add_argument(
        "--data-dir", metavar="DIR", default=None if defaults else argparse.SUPPRESS,
        help="directory holding the four MNIST .gz files (default: $MNIST_TUI_DATA, then the "
        "project's data/mnist, then ~/.cache/mnist-tui, downloading there if none has them)",
    )


def add_db_flag(p: argparse.ArgumentParser, defaults: bool = False) -> None:
    """--db at every level; only the top level sets the default (see add_config_flags)."""
    p.add_argument("--db", metavar="PATH", default=None if defaults else argparse.SUPPRESS,
                   help=f"run history database (default: $XDG_DATA_HOME or "
                   f"{store.default_path()})")


def config_from_args(args: argparse.Namespace) -> cfg.TrainConfig:
    values = {f.name: getattr(args, f.name) for f in fields(cfg.TrainConfig)}
    if values["lr"] is None:
        values["lr"] = cfg.DEFAULT_LR[values["optimizer"]]
    return cfg.TrainConfig(**values)


def build_parser() -> Parser:
    p = Parser(
        prog="mnist-tui",
        description="Watch and steer a from-scratch NumPy perceptron learning MNIST, in the "
        "terminal. With no command, opens the dashboard.",
        epilog="Commands: train (headless), runs (list, show, export past runs), serve (the "
        "dashboard in a browser), race (2-4 values of one field at once), sweep (search "
        "hyperparameters with Optuna), suspects (test labels that look wrong), units (each "
        "hidden unit of a checkpoint, silenced one at a time), explain (a sample's saliency "
        "and nudge), download (fetch "
        "the data), bench (speed figures; --target for time to an accuracy). "
        "'mnist-tui COMMAND --help' explains each. In the dashboard: s start, p pause, x stop, "
        "f form, w/l save/load, 1-9 and 0 tabs, q quit, ctrl+p palette. Environment: MNIST_TUI_DATA "
        "(data directory), MNIST_TUI_OFFLINE=1 (never download), NO_COLOR (no colour).",
    )
    p.add_argument("--version", action="version", version=f"mnist-tui {__version__}")
    add_config_flags(p)
    p.add_argument("--autostart", action="store_true",
                   help="start training at once with the values given (default: wait for Start)")
    p.add_argument("--no-mouse", action="store_true",
                   help="do not capture the mouse; saves bandwidth over SSH (default: mouse on)")
    p.add_argument("--load", metavar="PATH",
                   help="open with the weights and curves of a saved .npz checkpoint "
                   "(default: none)")
    add_db_flag(p, defaults=True)
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)

    t = sub.add_parser("train", help="train headless and print a line per epoch",
                       description="Train headless, printing a line per epoch (or JSON lines).")
    add_config_flags(t, defaults=False)
    t.add_argument("--save", metavar="PATH",
                   help="write an .npz checkpoint (weights, config, history) at the end, or when "
                   "interrupted (default: none)")
    t.add_argument("--json", action="store_true",
                   help="print one JSON object per line instead of text (default: text)")
    add_db_flag(t)

    r = sub.add_parser("runs", help="list, show and export past runs",
                       description="The run history: every run's config and per-epoch metrics.")
    add_db_flag(r)
    rsub = r.add_subparsers(dest="runs_command", metavar="ACTION", parser_class=Parser,
                            required=True)
    rl = rsub.add_parser("list", help="one line per run, newest first")
    add_db_flag(rl)
    rs = rsub.add_parser("show", help="a run's config, summary, epochs and confusion matrix")
    rs.add_argument("id", type=run_id, help="run id, from 'runs list'")
    rs.add_argument("--format", choices=("text", "json"), default="text",
                    help="text for people, json for programs (default: text)")
    add_db_flag(rs)
    rx = rsub.add_parser("export", help="a run's epochs as CSV or JSON")
    rx.add_argument("id", type=run_id, help="run id, from 'runs list'")
    rx.add_argument("--format", choices=("csv", "json"), default="csv",
                    help="output format (default: csv)")
    rx.add_argument("--output", metavar="PATH",
                    help="write here, atomically ('-' is stdout); the directory must exist "
                    "(default: stdout)")
    add_db_flag(rx)

    rc = rsub.add_parser("compare", help="two or more runs side by side",
                         description="Compare runs: the config fields that differ, each run's "
                         "best test (and validation) accuracy and its epoch, and how the final "
                         "confusion matrices differ cell by cell.")
    rc.add_argument("ids", type=run_id, nargs="+", metavar="ID",
                    help="two or more run ids, from 'runs list'; the first is the baseline")
    rc.add_argument("--format", choices=("text", "csv", "json"), default="text",
                    help="text for people; csv (one row per epoch, a test and val column per "
                    "run) or json for programs (default: text)")
    add_db_flag(rc)

    ra = sub.add_parser("race", help="race 2 to 4 values of one field, at once",
                        description="Train 2 to 4 runs at once that differ only in FIELD (same "
                        "seed, same data order), each in its own process with one BLAS thread, "
                        "and print a leaderboard line per epoch. Each racer is a run in the "
                        "history ('runs compare' them afterwards).",
                        epilog="Examples: mnist-tui race lr 0.3,0.1,0.03 --epochs 5;  "
                        "mnist-tui race optimizer sgd,momentum,adam")
    ra.add_argument("field", help="the field to race: lr, hidden, batch, momentum, decay, "
                    "schedule, augment, optimizer, beta1, beta2, val_split")
    ra.add_argument("values", help="2 to 4 values, comma-separated")
    add_config_flags(ra, defaults=False)
    ra.add_argument("--json", action="store_true", help="JSON lines instead of text")
    add_db_flag(ra)

    sw = sub.add_parser(
        "sweep", help="search hyperparameters with Optuna (TPE + median pruning)",
        description="Search hyperparameters with Optuna: its TPE sampler proposes, its "
        "MedianPruner stops trials whose validation accuracy lags, WORKERS processes share "
        "one study. Trials choose by validation accuracy only; test accuracy is reported "
        "beside it. Every trial is a run in the history, tagged with its study. Start it "
        "again with the same --study to resume a killed sweep, or from another machine with "
        "the same --storage URL to join it.",
        epilog="Ranges are LOW:HIGH, lists are A,B,C. Example: mnist-tui sweep --trials 30 "
        "--workers 2 --lr 0.003:0.3 --hidden 64,128,256 --optimizer momentum,adam")
    sw.add_argument("--trials", type=positive_int, default=30, help="finished trials wanted "
                    "(pruned ones count) (default: 30)")
    sw.add_argument("--workers", type=positive_int, default=2,
                    help="processes running trials at once, one BLAS thread each (default: 2)")
    sw.add_argument("--epochs", type=_field_type("epochs"), default=4,
                    help="epochs per trial (default: 4)")
    sw.add_argument("--val-split", dest="sweep_val", type=positive_int, default=10000,
                    metavar="N", help="training samples held out to score trials (default: 10000)")
    sw.add_argument("--lr", dest="space_lr", default="0.001:0.5", metavar="LOW:HIGH",
                    help="learning rate range, log-uniform (default: 0.001:0.5)")
    sw.add_argument("--hidden", dest="space_hidden", default="64,128,256", metavar="LIST",
                    help="hidden units to try (default: 64,128,256)")
    sw.add_argument("--batch-size", dest="space_batch", default="32,64,128", metavar="LIST",
                    help="batch sizes to try (default: 32,64,128)")
    sw.add_argument("--momentum", dest="space_momentum", default="0:0.95", metavar="LOW:HIGH",
                    help="momentum range, uniform (default: 0:0.95)")
    sw.add_argument("--weight-decay", dest="space_wd", default="0:0.001", metavar="LOW:HIGH",
                    help="weight decay range, uniform (default: 0:0.001)")
    sw.add_argument("--optimizer", dest="space_opt", default="momentum,adam", metavar="LIST",
                    help=f"optimizers to try, of {','.join(cfg.OPTIMIZERS)} (default: momentum,adam)")
    sw.add_argument("--study", default="mnist-tui", help="study name (default: mnist-tui)")
    sw.add_argument("--storage", default="", metavar="URL",
                    help="any Optuna storage URL, e.g. sqlite:///s.db or postgresql://… "
                    "(default: sweeps.sqlite next to the run history)")
    sw.add_argument("--seed", dest="sweep_seed", type=_field_type("seed"), default=0,
                    help="seeds the sampler and every trial's weights and data order (default: 0)")
    sw.add_argument("--dataset", dest="sweep_dataset", choices=cfg.DATASETS, default="mnist",
                    help="dataset (default: mnist)")
    sw.add_argument("--data-dir", metavar="DIR", default=argparse.SUPPRESS,
                    help="as for train (default: the same search order)")
    sw.add_argument("--json", action="store_true", help="JSON lines: one per trial, then a summary")
    add_db_flag(sw)

    su = sub.add_parser(
        "suspects", help="test samples whose label looks wrong, found across your runs",
        description="Suspect labels: test samples that at least MIN_RUNS different runs in the "
        "history (other seeds or configs; runs with the same config count once) each get wrong "
        "with probability >= MIN_CONF, agreeing on the same other class (each run's last "
        "epoch). Runs that diverged, failed or were lost are left out. Train a few runs with "
        "different --seed values first. Marks ('label looks wrong', 'model is wrong') given "
        "here or in the dashboard (Mistakes tab, S) are stored and exported.",
        epilog="Example: for s in 1 2 3 4 5; do mnist-tui train --seed $s; done; "
        "mnist-tui suspects --format csv > suspects.csv")
    su.add_argument("--dataset", choices=cfg.DATASETS, default="mnist",
                    help="whose runs to use (default: mnist)")
    su.add_argument("--min-runs", "--runs", dest="min_runs", type=positive_int, default=3,
                    metavar="N",
                    help="runs that must agree (default: 3)")
    su.add_argument("--min-conf", "--min-confidence", "--confidence", dest="min_conf",
                    type=probability, default=0.9, metavar="P",
                    help="how sure each of them must be, 0-1 (default: 0.9)")
    su.add_argument("--format", choices=("text", "csv", "json"), default="text",
                    help="text for people, csv or json for programs (default: text)")
    su.add_argument("--output", metavar="PATH",
                    help="write the list here, atomically ('-' is stdout) (default: stdout)")
    su.add_argument("--mark", action="append", default=[], metavar="INDEX=KIND",
                    help="mark a test sample: KIND is 'label' (label looks wrong), 'model' (model "
                    "is wrong) or 'none' (take the mark back); may be repeated (default: none)")
    add_db_flag(su)

    un = sub.add_parser(
        "units", help="what each hidden unit of a checkpoint does, and what silencing it costs",
        description="One hidden unit at a time, from a saved checkpoint, on the test set of its "
        "dataset: how often it fires, whether it is dead, the class it votes for most, and its "
        "ablation (each class's test accuracy with the unit silenced, the run untouched). "
        "With --unit J, that unit alone in full: its activations, the 9 test digits that "
        "excite it most, its outgoing weights and the per-class ablation. The dashboard shows "
        "the same on the Weights tab (Enter on a unit).",
        epilog="Example: mnist-tui train --save run.npz; mnist-tui units run.npz --sort ablation")
    un.add_argument("checkpoint", help="a .npz checkpoint (from train --save or w in the app)")
    un.add_argument("--unit", type=int, default=None, metavar="J",
                    help="show one unit in full (default: a line for every unit)")
    un.add_argument("--sort", choices=("unit", "ablation", "active"), default="unit",
                    help="order of the lines: unit number, largest accuracy loss when silenced, "
                    "or most often active (default: unit)")
    un.add_argument("--format", choices=("text", "json"), default="text",
                    help="text for people, json for programs (default: text)")
    un.add_argument("--data-dir", metavar="DIR", default=argparse.SUPPRESS,
                    help="as for train (default: the same search order)")

    ex = sub.add_parser(
        "explain", help="why a checkpoint answers what it does for a test sample, and what would "
        "change it", description="For one test sample and a saved checkpoint: the model's "
        "probabilities, the saliency of its answer (the gradient of log p(class) with respect "
        "to each pixel), and with --nudge CLASS the smallest change the gradient walk finds "
        "that makes the model answer CLASS (as n then a class key does on the Draw tab).",
        epilog="Example: mnist-tui explain run.npz --sample 2654 --nudge 6")
    ex.add_argument("checkpoint", help="a .npz checkpoint")
    ex.add_argument("--sample", type=int, required=True, metavar="I",
                    help="test sample index, 0 to 9999")
    ex.add_argument("--nudge", type=int, default=None, metavar="CLASS",
                    help="walk the image toward this class (0-9) until the answer flips")
    ex.add_argument("--format", choices=("text", "json"), default="text",
                    help="text (with the images in shade characters) or json, with the "
                    "saliency and the nudged image as 784 numbers (default: text)")
    ex.add_argument("--data-dir", metavar="DIR", default=argparse.SUPPRESS,
                    help="as for train (default: the same search order)")

    sv = sub.add_parser("serve", help="serve the dashboard to a browser (textual-serve)",
                        description="Serve the dashboard over HTTP with textual-serve, one process per "
                        "browser tab. Flags given before 'serve' (--db, --load, --data-dir, the "
                        "training values) apply to every tab. It has no authentication: keep it "
                        "on localhost.")
    sv.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    sv.add_argument("--port", type=port_number, default=8000, help="port (default: 8000)")
    sv.add_argument("--max-sessions", type=positive_int, default=4, metavar="N",
                    help="dashboards (browser tabs) run at once, each a process of about 120 MB; "
                    "a tab past the limit is told why (default: 4)")
    sv.add_argument("--data-dir", metavar="DIR", default=argparse.SUPPRESS,
                    help="as for train (default: the same search order)")

    d = sub.add_parser("download", help="download and verify MNIST or Fashion-MNIST",
                       description="Download the four files of a dataset from its public "
                       "mirrors, verifying the SHA-256 of each file's uncompressed bytes.")
    d.add_argument("--dataset", choices=cfg.DATASETS, default="mnist",
                   help="which dataset (default: mnist, which also ships with the project)")
    d.add_argument("--dir", metavar="DIR",
                   help=f"where to put them (default: {data.cache_dir()}, and its fashion/ "
                   "subdirectory for Fashion-MNIST)")

    b = sub.add_parser("bench", help="measure training speed against the matmul peak",
                       description="Measure headless training speed, the machine's float32 "
                       "matmul peak, and the seed's float64 recipe, in one process; with "
                       "--with-ui, what the dashboard costs; with --vs-torch, the ratio to "
                       "PyTorch. Timings compare back to back; medians are reported.")
    b.add_argument("--hidden", type=_field_type("hidden"), default=128,
                   help="hidden units n (default: 128)")
    b.add_argument("--batch-size", dest="batch_size", type=_field_type("batch_size"), default=64,
                   help="batch size (default: 64)")
    b.add_argument("--epochs", type=_field_type("epochs"), default=None,
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
    b.add_argument("--json", action="store_true", help="print one JSON object (default: a table)")
    return p


# --- progress display -----------------------------------------------------------------------


def _progress_line(text: str, stream=None) -> None:
    stream = sys.stderr if stream is None else stream  # looked up now: it may have been replaced
    if stream.isatty():
        stream.write("\r\x1b[2K" + text)
        stream.flush()


def download_progress(name: str, done: int, total: int) -> None:
    if total:
        frac = done / total
        bar = "█" * int(frac * 20)
        _progress_line(f"downloading {name} {bar:<20} {frac:4.0%} {done / 1e6:.1f}/{total / 1e6:.1f} MB")
    else:
        _progress_line(f"downloading {name} {done / 1e6:.1f} MB")
    if done == total:
        _progress_line("")


def load_data(data_dir: str | None, dataset: str = "mnist") -> data.Dataset:
    ds = data.load(data_dir, progress=download_progress, dataset=dataset)
    _progress_line("")
    return ds


# --- commands -------------------------------------------------------------------------------


def fail(message: str, code: int) -> int:
    print(f"mnist-tui: {message}", file=sys.stderr)
    return code


def cmd_train(args: argparse.Namespace) -> int:
    watched = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    before = {sig: signal.getsignal(sig) for sig in watched}
    try:
        return _train(args)
    finally:  # a caller (a test, a script) gets its own handlers back
        for sig, handler in before.items():
            signal.signal(sig, handler)


def race_line(history: RunHistory, config: cfg.TrainConfig, db_path, run_id) -> str:
    """This run's time to the dataset's target against the history's fastest on this machine
    (the dashboard's ghost), or "" if neither reached it."""
    from .core.insight import GHOST_TARGETS, fastest_to_target, time_to_target

    target = GHOST_TARGETS.get(config.dataset, 0.9)
    mine = time_to_target(history["test_acc"], history["seconds"], target)
    try:
        with store.Store(db_path, readonly=True) as db:
            ghost = fastest_to_target(db, config.dataset, target, exclude=run_id)
    except store.StoreError:
        ghost = None
    words = []
    if mine:
        words.append(f"time to {target:.0%}: {mine[1]:.1f}s over {mine[0]} epoch"
                     + "s" * (mine[0] != 1))
    if ghost:
        words.append(f"the fastest before on this machine: run {ghost.run_id}, "
                     f"{ghost.reached_seconds:.1f}s over {ghost.reached_epoch} epoch"
                     + "s" * (ghost.reached_epoch != 1))
    return "; ".join(words)


def calibrate_run(model: Perceptron, config: cfg.TrainConfig, ds: data.Dataset):
    """Temperature scaling fitted on the run's own validation split (core/calibration.py)."""
    from .core.calibration import calibrate

    _, val_idx, _ = train.split_indices(ds.n_train, config.val_split, config.seed)
    return calibrate(model, ds.train_images[val_idx], ds.train_labels[val_idx],
                     ds.test_images, ds.test_labels)


def calibration_words(cal) -> str:
    return (f"calibration: temperature {cal.temperature:.3f} fitted on the {cal.val_samples} "
            f"validation samples; ECE on validation {cal.val_ece_before:.2%} -> "
            f"{cal.val_ece_after:.2%}, on test {cal.before.ece:.2%} -> {cal.after.ece:.2%}")


def _train(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    if args.save is not None:
        checkpoint.save_path(args.save)  # a bad place is found now, not after the whole run
    ds = load_data(args.data_dir, config.dataset)
    reason = resources.check_run(config, ds.n_train, ds.n_test)
    if reason:
        return fail(reason, EXIT_USAGE)
    model = Perceptron(config.hidden, seed=config.seed)
    history = RunHistory()
    out = sys.stdout
    tty = out.isatty() and not args.json

    def clear_line() -> None:
        if tty:  # not under --json: escape codes must never reach the JSON lines
            _progress_line("", out)

    def emit(obj: dict) -> None:
        print(json.dumps(obj), file=out, flush=True)

    recorder = store.Recorder(args.db, config, labels=ds.test_labels)
    warned = False

    def warn_history() -> None:
        nonlocal warned
        if recorder.error and not warned:
            warned = True
            print(f"mnist-tui: warning: not recording this run: {recorder.error}", file=sys.stderr)

    warn_history()
    code = 0
    final = None
    pipe_closed = False
    caught = _interrupt_on_signals()  # SIGTERM and SIGHUP end the run as Ctrl-C does
    try:
        if not args.json:
            held = f" ({config.val_split} held out for validation)" if config.val_split else ""
            print(f"training 784-{config.hidden}-10 on {data.INFO[ds.name].title}, "
                  f"{ds.n_train - config.val_split} samples{held}, testing on "
                  f"{ds.n_test}: " + " ".join(f"{flag(k)[2:]}={v}" for k, v in asdict(config).items()),
                  file=out, flush=True)
        for ev in train.train(config, ds, model=model):
            if isinstance(ev, ev_.BatchProgress) and tty:
                frac = ev.batch / ev.n_batches
                _progress_line(
                    f"epoch {ev.epoch}/{ev.epochs} {'█' * int(frac * 24):<24} {frac:4.0%} "
                    f"loss {ev.running_loss:.4f} {ev.samples_per_second:,.0f} samples/s", out)
            elif isinstance(ev, ev_.EpochEnd):
                history.add(ev)
                if not recorder.epoch(ev):
                    warn_history()
                if args.json:
                    emit({"event": "epoch", **history.epoch_row(ev)})
                else:
                    clear_line()
                    print(f"epoch {ev.epoch:>{len(str(ev.epochs))}}/{ev.epochs}  "
                          f"train loss {ev.train_loss:.4f} acc {ev.train_acc:.2%}  "
                          f"test loss {ev.test_loss:.4f} acc {ev.test_acc:.2%}  "
                          + (f"val acc {ev.val_acc:.2%}  " if ev.val_acc is not None else "")
                          + f"lr {ev.lr:.4g}  {ev.seconds:.2f}s", file=out, flush=True)
            elif isinstance(ev, ev_.Diverged):
                clear_line()
                if args.json:
                    emit({"event": "diverged", "epoch": ev.epoch, "batch": ev.batch,
                          "lr": ev.lr, "message": ev.message})
                print(f"mnist-tui: {ev.message}", file=sys.stderr)
                code = EXIT_DIVERGED
            elif isinstance(ev, ev_.Finished):
                final = ev
    except KeyboardInterrupt:
        clear_line()
        name = signal.Signals(caught[0]).name if caught else "Ctrl-C"
        print(f"mnist-tui: interrupted ({name})", file=sys.stderr)
        code = 128 + caught[0] if caught else EXIT_INTERRUPTED
    except OSError as e:
        if not isinstance(e, BrokenPipeError) and e.errno not in OUTPUT_ERRORS:
            raise
        # `train --json | head`: the reader left (quietly, exit 0); or `> /dev/full`
        # (one line, exit 1). Either way the run ends as stopped and the checkpoint is written.
        pipe_closed = isinstance(e, BrokenPipeError)
        code = EXIT_INTERRUPTED if pipe_closed else EXIT_DATA
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, out.fileno())
        if not pipe_closed:
            print(f"mnist-tui: cannot write the output ({e.strerror}); training stopped",
                  file=sys.stderr)
            final = None
    if final is not None and not pipe_closed and code != EXIT_DATA:
        if args.json:
            emit({"event": "done", "test_acc": final.test_acc, "seconds": final.seconds,
                  "epochs": final.epochs_done, "config": asdict(config)})
        else:
            acc = "n/a" if final.test_acc is None else f"{final.test_acc:.2%}"
            print(f"done: test accuracy {acc} after {final.epochs_done} epochs, "
                  f"{final.seconds:.1f}s of training", file=out)
        if config.val_split and final.epochs_done:
            cal = calibrate_run(model, config, ds)
            words = calibration_words(cal)
            if args.json:
                emit({"event": "calibration", "temperature": cal.temperature,
                      "val_ece_before": cal.val_ece_before, "val_ece_after": cal.val_ece_after,
                      "test_ece_before": cal.before.ece, "test_ece_after": cal.after.ece})
            else:
                print(words, file=out)
        if not args.json:
            line = race_line(history, config, args.db, recorder.run_id)
            if line:
                print(line, file=out)
    saved = None
    # A signal during the save must not leave half a file: the save finishes, then we go.
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)
    if args.save and code != EXIT_DIVERGED and len(history):
        try:
            saved = str(checkpoint.save(args.save, model, config, history.epoch_columns()))
        except checkpoint.CheckpointError as e:
            print(f"mnist-tui: {e}", file=sys.stderr)
            saved = _rescue(model, config, history)
            code = EXIT_DATA
        if saved and not args.json and not pipe_closed:
            print(f"saved {saved}", file=out)
    status = "diverged" if code == EXIT_DIVERGED else ("done" if code == 0 else "stopped")
    if code == EXIT_DATA and final is not None and not final.stopped:
        status = "done"  # trained to the end; only the save or the output failed
    recorder.finish(status, saved)
    warn_history()
    return 0 if pipe_closed else code


def _interrupt_on_signals() -> list[int]:
    """Turn SIGTERM and SIGHUP into KeyboardInterrupt, as SIGINT is, so that an interrupted run
    is saved and recorded the same way; returns a list that receives the signal caught."""
    caught: list[int] = []

    def interrupt(sig, frame):
        caught.append(sig)
        raise KeyboardInterrupt

    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, interrupt)
    return caught


def _rescue(model, config, history) -> str | None:
    """The save failed: keep the weights anyway, in the cache, and say where they went."""
    name = time.strftime("rescued-%Y%m%d-%H%M%S.npz")
    fallback = data.cache_dir() / "rescued" / name
    try:
        fallback.parent.mkdir(parents=True, exist_ok=True)
        path = checkpoint.save(fallback, model, config, history.epoch_columns())
    except (OSError, checkpoint.CheckpointError) as e:
        print(f"mnist-tui: the weights are lost: the fallback save failed too ({e})",
              file=sys.stderr)
        return None
    print(f"mnist-tui: the weights were saved to {path} instead", file=sys.stderr)
    return str(path)


def cmd_download(args: argparse.Namespace) -> int:
    from pathlib import Path

    title = data.INFO[args.dataset].title
    target = Path(args.dir).expanduser() if args.dir else data.cache_dir(dataset=args.dataset)
    if data.has_files(target):
        print(f"the {title} files are already in {target}")
        return 0
    if os.environ.get("MNIST_TUI_OFFLINE", "") not in ("", "0"):
        return fail(f"MNIST_TUI_OFFLINE is set: not downloading {title} (unset it, or copy the "
                    f"four .gz files into {target})", EXIT_DATA)
    data.download(target, progress=download_progress, dataset=args.dataset)
    data.load_dir(target, args.dataset)  # parse once, so a bad file shows now, not at a run
    print(f"downloaded and verified the {title} files into {target}")
    return 0


def number(value, spec: str) -> str:
    """`value` formatted with `spec`, or '--' (as wide) when it is missing or damaged."""
    if value is None:
        width = "".join(c for c in spec.split(".")[0] if c.isdigit())
        return "--".rjust(int(width or 0))
    return format(value, spec)


def local_time(t) -> str:
    """A timestamp as local 'YYYY-MM-DD HH:MM', or '?' when it is not a usable time."""
    try:
        return time.strftime("%Y-%m-%d %H:%M", time.localtime(float(t)))
    except (TypeError, ValueError, OverflowError, OSError):
        return "?"


def cmd_runs(args: argparse.Namespace) -> int:
    if args.runs_command == "export" and args.output not in (None, "-"):
        check_target(args.output)  # a bad path is one line now, before reading anything
    # Reading only: opened read-only, so listing never creates, migrates or changes the file.
    with store.Store(args.db, readonly=True) as db:
        if args.runs_command == "list":
            runs = db.runs()
            if not runs:
                print(f"no runs yet in {db.path}")
                return 0
            print(f"{'id':>4}  {'started':<16}  {'status':<8} {'best':>7}  {'epochs':>6}  "
                  f"{'time':>8}  config")
            for r in runs:
                damaged = f"  [damaged: {', '.join(r['damaged'])}]" if r["damaged"] else ""
                print(f"{r['id']:>4}  {local_time(r['started_at']):<16}  {r['status']:<8} "
                      f"{number(r['best_test_acc'], '7.2%')}  {r['epochs']:>6}  "
                      f"{number(r['seconds'], '7.1f')}s  {config_words(r['config'])}{damaged}")
            return 0
        if args.runs_command == "compare":
            return compare_runs(db, args)
        try:
            run = db.run(args.id)
        except KeyError:
            return fail(f"no run {args.id} in {db.path} (see 'mnist-tui runs list')", EXIT_DATA)
        if args.runs_command == "show":
            sys.stdout.write(export_run(run, "json") if args.format == "json" else show_run(run))
            return 0
        text = export_run(run, args.format)
        write_atomic(args.output or "-", text)
        return 0


def compare_runs(db, args: argparse.Namespace) -> int:
    from .core.compare import change_words, compare

    if len(args.ids) < 2 or len(set(args.ids)) != len(args.ids):
        return fail("compare needs two or more different run ids", EXIT_USAGE)
    runs = []
    for i in args.ids:
        try:
            runs.append(db.run(i))
        except KeyError:
            return fail(f"no run {i} in {db.path} (see 'mnist-tui runs list')", EXIT_DATA)
    result = compare(runs)
    if args.format == "json":
        sys.stdout.write(json.dumps(result, indent=2) + "\n")
        return 0
    if args.format == "csv":
        import csv
        import io

        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(["epoch", *(f"{k}_{r['id']}" for r in runs for k in ("test_acc", "val_acc"))])
        n = max(len(r["epochs"]["epoch"]) for r in runs)
        for i in range(n):
            row = [i + 1]
            for r in runs:
                e = r["epochs"]
                row += [e[k][i] if i < len(e[k]) and e[k][i] is not None else ""
                        for k in ("test_acc", "val_acc")]
            w.writerow(row)
        sys.stdout.write(buf.getvalue())
        return 0
    lines = ["runs " + ", ".join(f"#{i}" for i in args.ids) + f" (baseline #{args.ids[0]})", ""]
    differ = result["differing_config"]
    if differ:
        lines.append("config that differs:")
        width = max(len(k) for k in differ)
        for k, values in differ.items():
            lines.append(f"  {k:<{width}}  " + "  ".join(f"#{i}={v}" for i, v in zip(
                args.ids, values, strict=True)))
    else:
        lines.append("the configs are the same (only the seed's draws could differ: none do)")
    lines.append("")
    lines.append("  run  status     best test   at epoch  best val  at epoch  last test  epochs")
    for s_ in result["summary"]:
        lines.append(f"{'#' + str(s_['id']):>5}  {s_['status']:<9} {number(s_['best_test_acc'], '10.2%')}"
                     f"  {number(s_['best_epoch'], '8')}  {number(s_['best_val_acc'], '8.2%')}"
                     f"  {number(s_['best_val_epoch'], '8')}  {number(s_['last_test_acc'], '9.2%')}"
                     f"  {s_['epochs']:>6}")
    dataset = runs[0]["config"].get("dataset", "mnist")
    for block in result["confusion"]:
        lines.append("")
        if not block["changes"]:
            lines.append(f"#{block['b']} vs #{block['a']}: no confusion matrix to compare, or "
                         "the same mistakes")
            continue
        lines.append(f"#{block['b']} vs #{block['a']}, the largest changes in mistakes:")
        lines += ["  " + change_words(c, block["a"], block["b"], dataset) for c in block["changes"]]
    sys.stdout.write("\n".join(lines) + "\n")
    return 0


def show_run(run: dict) -> str:
    """A run for people: config, dates, best and last accuracy, epochs, the matrix as a grid."""
    c, e = run["config"], run["epochs"]
    lines = [f"run {run['id']}  {run['status']}  started {local_time(run['started_at'])}"
             + (f", finished {local_time(run['finished_at'])}" if run.get("finished_at") else ""),
             "config: " + "  ".join(f"{k}={v}" for k, v in c.items())]
    if run.get("damaged"):
        lines.append("damaged: " + ", ".join(run["damaged"]) + " (shown as --)")
    acc = [(a, ep) for a, ep in zip(e["test_acc"], e["epoch"], strict=True) if a is not None]
    if acc:
        best = max(acc, key=lambda pair: pair[0])
        lines.append(f"test accuracy: best {best[0]:.2%} at epoch {best[1]}, "
                     f"last {acc[-1][0]:.2%} at epoch {acc[-1][1]}; "
                     f"{number(run['seconds'], '.1f')}s of training")
    if run.get("checkpoint"):
        lines.append(f"checkpoint: {run['checkpoint']}")
    f = run.get("forgetting")
    if f:
        lines.append(f"test samples over {f['epochs']} epochs: {f['never learned']} never learned, "
                     f"{f['learned late']} learned late, {f['flip-flopping']} flip-flopping, "
                     f"{f['forgotten']} forgotten at the end; {f['forgetting events']} "
                     "forgetting events")
    for ch in run.get("live_changes", []):
        if ch["name"] == "revive":
            lines.append(f"hidden unit {number(ch['value'], 'g')} revived (re-initialised) at "
                         f"epoch {ch['epoch']}, batch {ch['batch']}")
            continue
        lines.append(f"live change: {ch['name']} = {number(ch['value'], 'g')} from epoch "
                     f"{ch['epoch']}, batch {ch['batch']}")
    lines.append("")
    header = "epoch  train loss  train acc  test loss  test acc        lr  seconds"
    specs = [("epoch", "5"), ("train_loss", "10.4f"), ("train_acc", "9.2%"), ("test_loss", "9.4f"),
             ("test_acc", "8.2%"), ("lr", "8.3g"), ("seconds", "7.2f")]
    if any(v is not None for v in e.get("val_acc", [])):
        header += "  val acc"
        specs.append(("val_acc", "7.2%"))
    if any(v is not None for v in e.get("ece", [])):
        header += "     ECE"
        specs.append(("ece", "6.2%"))
    lines.append(header)
    for i in range(len(e["epoch"])):
        lines.append("  ".join(number(e[k][i], spec) for k, spec in specs))
    if run.get("confusion"):
        lines.append("")
        names = data.class_names(c.get("dataset", "mnist") if c.get("dataset") in data.INFO
                                 else "mnist")
        lines.append("confusion matrix (rows: true class, columns: predicted)")
        lines.append(" " * 9 + "".join(f"{n[:7]:>8}" for n in names))
        for k, row in enumerate(run["confusion"]):
            lines.append(f"{names[k][:8]:>8} " + "".join(f"{v:>8}" for v in row))
    return "\n".join(lines) + "\n"


def export_run(run: dict, fmt: str) -> str:
    """A run's epochs as CSV (one row per epoch) or JSON (config, summary and epochs)."""
    if fmt == "json":
        return json.dumps(run, indent=2) + "\n"
    import csv
    import io

    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    cols = list(store.EPOCH_COLUMNS)
    w.writerow(["run_id", *cols])
    e = run["epochs"]
    for i in range(len(e["epoch"])):
        w.writerow([run["id"], *(e[c][i] for c in cols)])
    return buf.getvalue()


def cmd_serve(args: argparse.Namespace) -> int:
    import ipaddress

    try:
        loopback = ipaddress.ip_address(args.host).is_loopback
    except ValueError:
        loopback = args.host == "localhost"
    if not loopback:
        print(f"mnist-tui: warning: serving on {args.host}, which is not localhost. textual-serve "
              "has no authentication: anyone who can reach this port can use the dashboard.",
              file=sys.stderr)
    import shlex

    from .serve import CappedServer

    # textual-serve runs this through /bin/sh; `exec` makes each app a direct child of the
    # server, so an app can tell when the server is gone (see MnistApp._exit_if_orphaned).
    command = f"exec {shlex.quote(sys.executable)} -m mnist_tui" + "".join(
        f" {name} {shlex.quote(str(value))}" for name, value in dashboard_flags(args))
    if args.autostart:
        command += " --autostart"
    try:
        CappedServer(command, host=args.host, port=args.port, title="mnist-tui",
                     max_sessions=args.max_sessions).serve()
    except OSError as e:  # the port is taken, or the host cannot be resolved or bound
        return fail(f"cannot serve on {args.host}:{args.port}: {e.strerror or e}", EXIT_DATA)
    return 0


def dashboard_flags(args: argparse.Namespace) -> list[tuple[str, object]]:
    """The flags given before `serve` that each served dashboard gets: --db, --load,
    --data-dir and every config value that differs from its default."""
    given = [(flag(f.name), getattr(args, f.name)) for f in fields(cfg.TrainConfig)
             if getattr(args, f.name) not in (None, f.default)]
    for name in ("db", "load", "data_dir"):
        if getattr(args, name, None):  # absolute: a session need not start in this directory
            given.append(("--" + name.replace("_", "-"), os.path.abspath(getattr(args, name))))
    return given


def cmd_race(args: argparse.Namespace) -> int:
    watched = (signal.SIGTERM, signal.SIGHUP)
    before = {sig: signal.getsignal(sig) for sig in watched}
    try:
        return _race(args)
    finally:  # a caller gets its own handlers back
        for sig, handler in before.items():
            signal.signal(sig, handler)


def _race(args: argparse.Namespace) -> int:
    import queue

    from .core.engine import Engine, Started
    from .core.race import label, parse_race

    base = config_from_args(args)
    try:
        field, configs = parse_race(f"{args.field} {args.values}", base)
    except ValueError as e:
        return fail(str(e), EXIT_USAGE)
    ds = load_data(args.data_dir, base.dataset)
    for c in configs:
        reason = resources.check_run(c, ds.n_train, ds.n_test)
        if reason:
            return fail(f"{label(c, field)}: {reason}", EXIT_USAGE)
    names = [label(c, field) for c in configs]
    inbox: queue.Queue = queue.Queue()
    results: list[dict] = [{"name": n, "accs": [], "state": "starting", "run_id": None}
                           for n in names]
    recorders: list = [None] * len(configs)
    if not args.json:
        print(f"racing {field} on {data.INFO[ds.name].title}: " + ", ".join(names) +
              f" ({base.epochs} epochs, seed {base.seed}, one process each)", flush=True)
    caught = _interrupt_on_signals()
    code = 0
    with Engine(ds) as engine:
        handles = [engine.start(c, threads=1, on_event=lambda ev, i=i: inbox.put((i, ev)))
                   for i, c in enumerate(configs)]
        try:
            while any(r["state"] in ("starting", "training") for r in results):
                i, ev = inbox.get()
                r = results[i]
                if isinstance(ev, Started):
                    recorders[i] = store.Recorder(args.db, configs[i], labels=ds.test_labels)
                    r["run_id"], r["state"] = recorders[i].run_id, "training"
                elif isinstance(ev, ev_.EpochEnd):
                    recorders[i].epoch(ev)
                    r["accs"].append(ev.test_acc)
                    if args.json:
                        print(json.dumps({"event": "epoch", "racer": r["name"], "epoch": ev.epoch,
                                          "test_acc": ev.test_acc, "val_acc": ev.val_acc,
                                          "seconds": ev.seconds}), flush=True)
                    else:
                        print(f"epoch {ev.epoch:>3}  {r['name']:<16} test acc {ev.test_acc:.2%}  "
                              f"best {max(r['accs']):.2%}  {ev.seconds:.2f}s", flush=True)
                elif isinstance(ev, (ev_.Finished, ev_.Diverged, ev_.Failed)):
                    r["state"] = ("stopped" if isinstance(ev, ev_.Finished) and ev.stopped else
                                  "done" if isinstance(ev, ev_.Finished) else
                                  "diverged" if isinstance(ev, ev_.Diverged) else "failed")
                    if recorders[i] is not None:
                        recorders[i].finish(r["state"])
                    if not isinstance(ev, ev_.Finished):
                        print(f"mnist-tui: {r['name']}: {ev.message}", file=sys.stderr)
        except KeyboardInterrupt:
            name = signal.Signals(caught[0]).name if caught else "Ctrl-C"
            print(f"mnist-tui: interrupted ({name}): stopping the racers", file=sys.stderr)
            for h in handles:
                h.stop()
            for h in handles:
                h.join(5)
            while not inbox.empty():  # record how each ended
                i, ev = inbox.get()
                if isinstance(ev, (ev_.Finished, ev_.Diverged, ev_.Failed)) and recorders[i]:
                    recorders[i].finish("stopped")
            code = 128 + caught[0] if caught else EXIT_INTERRUPTED
    ranked = sorted(results, key=lambda r: -max(r["accs"], default=-1))
    if args.json:
        print(json.dumps({"event": "done", "field": field, "racers": [
            {"racer": r["name"], "best_test_acc": max(r["accs"], default=None),
             "last_test_acc": r["accs"][-1] if r["accs"] else None, "state": r["state"],
             "run_id": r["run_id"]} for r in ranked]}), flush=True)
    else:
        print("leaderboard (best test accuracy):")
        for k, r in enumerate(ranked, start=1):
            best = "--" if not r["accs"] else f"{max(r['accs']):.2%}"
            print(f"  {k}. {r['name']:<16} {best:>7}  {r['state']}  run {r['run_id']}")
    return code


def cmd_sweep(args: argparse.Namespace) -> int:
    from .core import sweep as sw

    try:
        space = sw.Space(
            lr=sw.parse_range("lr", args.space_lr),
            hidden=sw.parse_choices("hidden", args.space_hidden),
            batch_size=sw.parse_choices("batch_size", args.space_batch),
            momentum=sw.parse_range("momentum", args.space_momentum),
            weight_decay=sw.parse_range("weight_decay", args.space_wd),
            optimizer=sw.parse_choices("optimizer", args.space_opt))
        plan = sw.Sweep(space=space, trials=args.trials, workers=args.workers,
                        epochs=args.epochs, val_split=args.sweep_val, study=args.study,
                        storage=args.storage, seed=args.sweep_seed, dataset=args.sweep_dataset,
                        data_dir=args.data_dir, db_path=args.db)
    except sw.SweepError as e:
        return fail(str(e), EXIT_USAGE)
    ds = load_data(args.data_dir, plan.dataset)  # once, shared by the workers
    reason = resources.check_run(plan.config({"batch_size": max(space.batch_size)}),
                                 ds.n_train, ds.n_test)
    if reason:
        return fail(reason, EXIT_USAGE)
    from .core.engine import Engine

    engine = Engine(ds)  # the dataset in shared memory: every worker reads the same copy
    del ds
    started = time.time()
    printed: set[int] = set()

    def show(rows) -> None:
        for r in rows:
            if r.state in ("complete", "pruned", "fail", "diverged") and r.number not in printed:
                printed.add(r.number)
                if args.json:
                    print(json.dumps({"event": "trial", "number": r.number, "state": r.state,
                                      "val_acc": r.val_acc, "test_acc": r.test_acc,
                                      "epochs": r.epochs, "params": r.params,
                                      "run_id": r.run_id}), flush=True)
                    continue
                val = "--" if r.val_acc is None else f"{r.val_acc:.2%}"
                test = "--" if r.test_acc is None else f"{r.test_acc:.2%}"
                print(f"trial {r.number:>3}  {r.state:<8}  val {val:>6}  test {test:>6}  "
                      f"{r.epochs} ep  {sw.params_words(r.params)}", flush=True)
        running = sum(r.state == "running" for r in rows)
        if not args.json:
            _progress_line(f"{len(printed)}/{plan.trials} trials done, {running} running")

    if not args.json:
        print(f"sweep {plan.study!r}: {plan.trials} trials, {plan.workers} workers, "
              f"{plan.epochs} epochs each, scored on {plan.val_split} validation samples "
              f"({plan.storage or sw.default_storage(plan.db_path)})", flush=True)
    try:
        study = sw.run(plan, on_update=show, shared=engine.shared)
    except sw.SweepError as e:
        return fail(str(e), EXIT_DATA)
    except KeyboardInterrupt:
        _progress_line("")
        return fail(f"interrupted: run the same command again to resume study {plan.study!r}",
                    EXIT_INTERRUPTED)
    finally:
        engine.close()
    _progress_line("")
    result = sw.summary(study, started)
    if args.json:
        print(json.dumps({"event": "done", **result}), flush=True)
    elif "best_trial" in result:
        test = result["best_test_acc"]
        print(f"best: trial {result['best_trial']} (run {result['best_run_id']}), val "
              f"{result['best_val_acc']:.2%}, test {test:.2%}: "
              f"{sw.params_words(result['best_params'])}")
        print(f"{result['complete']} complete ({result['diverged']} of them diverged), "
              f"{result['pruned']} pruned, {result['seconds']:.0f} s")
    else:
        print("no trial finished")
    return 0


MARK_WORDS = {"label": "label looks wrong", "model": "model is wrong", "none": None}


def parse_mark(text: str) -> tuple[int, str | None]:
    index, _, kind = text.partition("=")
    try:
        i = int(index)
    except ValueError:
        i = -1
    if i < 0 or kind not in MARK_WORDS:
        raise ValueError(f"--mark {text!r}: expected INDEX=label, INDEX=model or INDEX=none, "
                         "e.g. --mark 4176=label")
    return i, MARK_WORDS[kind]


def cmd_suspects(args: argparse.Namespace) -> int:
    from .core import suspects

    try:
        marks = [parse_mark(m) for m in args.mark]
    except ValueError as e:
        return fail(str(e), EXIT_USAGE)
    if args.output not in (None, "-"):
        check_target(args.output)  # a bad path is one line now, before anything is written
    if marks:
        n_test = 10000  # both datasets' test sets
        for i, _ in marks:
            if i >= n_test:
                return fail(f"--mark {i}: {data.INFO[args.dataset].title} has test samples "
                            f"0 to {n_test - 1}", EXIT_USAGE)
        with store.Store(args.db) as db:  # writes only the marks
            for i, mark in marks:
                db.set_mark(args.dataset, i, mark)
    with store.Store(args.db, readonly=True) as db:
        found, evidence = suspects.find(db, args.dataset, args.min_runs, args.min_conf)
        path = db.path
    names = data.class_names(args.dataset)
    rows = [s.as_dict(names) for s in found]
    write_atomic(args.output or "-", suspects_text(args, found, rows, evidence, path, names))
    return 0


def suspects_text(args, found, rows, evidence, path, names) -> str:
    """The suspect list as args.format asks: text for people, csv or json for programs."""
    if args.format == "json":
        return json.dumps({
            "dataset": args.dataset, "min_runs": args.min_runs, "min_conf": args.min_conf,
            "runs": evidence.run_ids, "suspects": rows}, indent=2) + "\n"
    if args.format == "csv":
        import csv
        import io

        buf = io.StringIO()
        cols = ["index", "label", "runs_say", "agree", "runs", "agreement", "mean_confidence",
                "mark", "run_ids"]
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(cols)
        for r in rows:
            w.writerow([" ".join(map(str, r[c])) if c == "run_ids" else
                        "" if r[c] is None else r[c] for c in cols])
        return buf.getvalue()
    n, title = len(evidence.run_ids), data.INFO[args.dataset].title
    if n < args.min_runs:
        return (f"{n} usable {title} run{'s' * (n != 1)} in {path}; suspects need at least "
                f"{args.min_runs} that differ (seed or config). Train more, e.g.: mnist-tui "
                "train --seed 1\n")
    lines = [f"{len(found)} suspect label{'s' * (len(found) != 1)} in {title}'s test set: at "
             f"least {args.min_runs} of {n} runs (#{', #'.join(map(str, evidence.run_ids))}) "
             f"say the same other class with p >= {args.min_conf:g}"]
    if found:
        width = max(8, max(len(x) for x in names))
        lines.append(f"{'sample':>6}  {'label':<{width}}  {'runs say':<{width}}  "
                     f"{'agree':<11} {'mean p':>6}  mark")
        for r in rows:
            agree = f"{r['agree']}/{r['runs']} {r['agreement']:.0%}"
            lines.append(f"{r['index']:>6}  {r['label_name']:<{width}}  "
                         f"{r['runs_say_name']:<{width}}  {agree:<11} "
                         f"{r['mean_confidence']:>6.3f}  {r['mark'] or ''}".rstrip())
    return "\n".join(lines) + "\n"


def cmd_explain(args: argparse.Namespace) -> int:
    from .core import insight, render

    model, config, _ = checkpoint.load(args.checkpoint)
    if args.nudge is not None and not 0 <= args.nudge <= 9:
        return fail(f"--nudge {args.nudge}: a class is 0 to 9", EXIT_USAGE)
    ds = load_data(getattr(args, "data_dir", None), config.dataset)
    if not 0 <= args.sample < ds.n_test:
        return fail(f"--sample {args.sample}: the test set has samples 0 to {ds.n_test - 1}",
                    EXIT_USAGE)
    names = data.class_names(config.dataset)
    x = ds.test_images[args.sample].astype(np.float64) / 255
    label = int(ds.test_labels[args.sample])
    pred, proba, grad = insight.saliency(model, x)
    out = {"sample": args.sample, "label": names[label], "predicted": names[pred],
           "probabilities": {names[c]: float(p) for c, p in enumerate(proba)}}
    n = insight.nudge(model, x, args.nudge) if args.nudge is not None else None
    if n is not None:
        out["nudge"] = {"target": names[n.target], "flipped_at_step": n.flipped_at,
                        "steps": len(n.images) - 1, "pixels_changed": n.pixels_changed,
                        "l2_change": n.change,
                        "probabilities": {names[c]: float(p) for c, p in enumerate(n.proba[-1])}}
    if args.format == "json":
        out["saliency"] = [float(v) for v in grad]
        if n is not None:
            out["nudge"]["image"] = [float(v) for v in n.images[-1]]
        sys.stdout.write(json.dumps(out) + "\n")
        return 0
    print(f"test #{args.sample}: labelled {names[label]}, the model says {names[pred]} "
          f"({proba[pred]:.1%})" + ("" if pred == label else f"; {names[label]} gets "
                                    f"{proba[label]:.1%}"))
    seen = render.shade_rows((x * 255).round().astype(np.uint8))
    _, sal = render.signed_cells(grad)
    print(f"{'as the model sees it':<30}saliency of {names[pred]} "
          "(dense ▓█: more ink raises it, light ░: lowers it)")
    for a, b in zip(seen, sal, strict=True):
        print(f"{a}  {b}")
    if n is not None:
        goal = names[n.target]
        if n.flipped_at is None:
            print(f"nudge toward {goal}: not reached in {len(n.images) - 1} steps "
                  f"(L2 {n.change:.2f})")
        elif n.flipped_at == 0:
            print(f"nudge toward {goal}: the model already says {goal}")
        else:
            print(f"nudge toward {goal}: the model says {goal} ({n.proba[-1][n.target]:.1%}) after "
                  f"{n.flipped_at} steps: {n.pixels_changed} pixels changed by more than 0.1, "
                  f"L2 change {n.change:.2f}")
            for row in render.shade_rows((n.images[-1] * 255).round().astype(np.uint8)):
                print(row)
    return 0


def cmd_units(args: argparse.Namespace) -> int:
    from .core import insight

    model, config, _ = checkpoint.load(args.checkpoint)
    n = model.n_hidden
    if args.unit is not None and not 0 <= args.unit < n:
        return fail(f"--unit {args.unit}: {args.checkpoint} has units 0 to {n - 1}", EXIT_USAGE)
    ds = load_data(getattr(args, "data_dir", None), config.dataset)
    names = data.class_names(config.dataset)
    A1, Z2 = insight.hidden_activations(model, ds.test_images)
    labels = ds.test_labels
    base = insight.per_class_accuracy(Z2, labels)

    def describe(j: int, full: bool) -> dict:
        u = insight.unit(model, A1, j)
        _, after = insight.ablate(model, A1, Z2, labels, [j])
        delta = after - base
        row = {"unit": j, "dead": u.dead, "active": round(u.active_fraction, 4),
               "max_activation": float(u.activations.max()),
               "votes_most_for": names[int(np.argmax(u.outgoing))],
               "ablation_mean_change": round(float(np.nanmean(delta)), 5),
               "ablation_worst_class": names[int(np.nanargmin(delta))],
               "ablation_worst_change": round(float(np.nanmin(delta)), 5)}
        if full:
            row["top_digits"] = [{"index": int(i), "label": names[labels[i]],
                                  "activation": float(u.activations[i])} for i in u.top]
            row["outgoing"] = {names[c]: float(w) for c, w in enumerate(u.outgoing)}
            row["ablation"] = {names[c]: {"with": float(base[c]), "silenced": float(after[c])}
                               for c in range(len(base))}
            active = u.activations[u.activations > 0]
            counts, edges = np.histogram(active, bins=10) if len(active) else ([], [])
            row["histogram"] = {"counts": list(map(int, counts)), "edges": list(map(float, edges))}
        return row

    if args.unit is not None:
        row = describe(args.unit, True)
        if args.format == "json":
            sys.stdout.write(json.dumps(row, indent=2) + "\n")
            return 0
        j = args.unit
        print(f"unit {j} of {n} ({args.checkpoint}): "
              + ("DEAD, silent on every test image" if row["dead"] else
                 f"active on {row['active']:.1%} of the test images, at most "
                 f"{row['max_activation']:.3g}"))
        print("outgoing weights (its vote): " + "  ".join(
            f"{k} {v:+.3f}" for k, v in row["outgoing"].items()))
        print("the test digits that excite it most: " + ", ".join(
            f"#{t['index']} ({t['label']}, {t['activation']:.2f})" for t in row["top_digits"]))
        print("silenced: test accuracy per class")
        for k, v in row["ablation"].items():
            print(f"  {k:>8} {v['with']:7.2%} -> {v['silenced']:7.2%}  "
                  f"{v['silenced'] - v['with']:+.2%}")
        return 0
    rows = [describe(j, False) for j in range(n)]
    key = {"unit": lambda r: r["unit"], "ablation": lambda r: r["ablation_mean_change"],
           "active": lambda r: -r["active"]}[args.sort]
    rows.sort(key=key)
    if args.format == "json":
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
        return 0
    dead = sum(r["dead"] for r in rows)
    print(f"{n} hidden units of {args.checkpoint}, on {len(labels):,} test images: {dead} dead; "
          "silenced one at a time")
    print(f"{'unit':>5}  {'active':>7}  {'votes for':<9}  {'mean change':>11}  worst class")
    for r in rows:
        print(f"{r['unit']:>5}  {'dead' if r['dead'] else format(r['active'], '.1%'):>7}  "
              f"{r['votes_most_for']:<9}  {r['ablation_mean_change']:+11.3%}  "
              f"{r['ablation_worst_class']} {r['ablation_worst_change']:+.2%}")
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from . import bench

    return bench.main(args)


def cmd_app(args: argparse.Namespace) -> int:
    parent_pid = os.getppid()  # before the slow start-up, so a server that dies meanwhile shows
    config = config_from_args(args)
    # Load what can fail before the screen switches, so errors stay one plain line.
    loaded = checkpoint.load(args.load) if args.load else None
    if loaded and config.dataset != "mnist" and loaded[1].dataset != config.dataset:
        return fail(f"{args.load} was trained on {data.INFO[loaded[1].dataset].title}, not "
                    f"{data.INFO[config.dataset].title}: drop --dataset or load another "
                    "checkpoint", EXIT_USAGE)
    ds = load_data(args.data_dir, loaded[1].dataset if loaded else config.dataset)
    from .ui.app import make_app  # Textual is imported only when the dashboard opens

    app = make_app(dataset=ds, config=config, autostart=args.autostart, loaded=loaded,
                   load_path=args.load, db_path=args.db, parent_pid=parent_pid)
    del ds  # the app holds the dataset in shared memory now: free the first copy
    app.run(mouse=not args.no_mouse)
    return app.return_code or 0


def check_global_flags(parser: Parser, args: argparse.Namespace) -> None:
    """Flags given before a command that the command would silently ignore are errors."""
    if args.db is not None and (not args.db.strip() or args.db == ":memory:"
                                or args.db.startswith("file:")):
        parser.error(f"--db needs the path of a database file (got {args.db!r}): the history "
                     "must outlive the program")
    if args.load is not None and args.command not in (None, "serve"):
        parser.error(f"--load opens a checkpoint in the dashboard; '{args.command}' does not use "
                     "it (drop --load)")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    check_global_flags(parser, args)
    commands = {"train": cmd_train, "download": cmd_download, "bench": cmd_bench,
                "runs": cmd_runs, "serve": cmd_serve, "sweep": cmd_sweep, "race": cmd_race,
                "suspects": cmd_suspects, "units": cmd_units,
                "explain": cmd_explain}
    try:
        code = commands.get(args.command, cmd_app)(args)
        sys.stdout.flush()  # a full disk or a dead device shows here, not at interpreter exit
        return code
    except data.DataError as e:
        return fail(str(e), EXIT_DATA)
    except (checkpoint.CheckpointError, store.StoreError, FileError) as e:
        return fail(str(e), EXIT_DATA)
    except KeyboardInterrupt:
        return fail("interrupted", EXIT_INTERRUPTED)
    except BrokenPipeError:
        # `mnist-tui train | head`: the reader left; exit quietly as other Unix tools do.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except OSError as e:
        if e.errno not in OUTPUT_ERRORS:
            raise
        # `mnist-tui runs list > /dev/full`: say so in one line, and drop what cannot be
        # written (else Python reports it again, with a traceback, while exiting).
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return fail(f"cannot write the output ({e.strerror})", EXIT_DATA)

