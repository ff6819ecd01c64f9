"""`mnist-tui sweep`: search hyperparameters with Optuna, trials in worker processes."""

from __future__ import annotations

import argparse
import signal
import socket
import time

from ...core import config as cfg
from ...core import sweep as sw
from ...core.engine import Engine
from ..options import add_data_dir_flag, add_db_flag, add_format_flag, field_type, positive_int
from ..output import (
    EXIT_DATA,
    EXIT_INTERRUPTED,
    EXIT_USAGE,
    Progress,
    fail,
    interrupt_on_signals,
    load_data,
    plural,
    signal_handlers_kept,
    to_json,
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.description = (
        "Search hyperparameters with Optuna: its TPE sampler proposes, its "
        "MedianPruner stops trials whose validation accuracy lags, WORKERS processes share "
        "one study. Trials choose by validation accuracy only; test accuracy is reported "
        "beside it. Every trial is a run in the history, tagged with its study. Start it "
        "again with the same --study to resume a killed sweep, or from another machine with "
        "the same --storage URL to join it.")
    p.epilog = (
        "Ranges are LOW:HIGH, lists are A,B,C. Example: mnist-tui sweep --trials 30 "
        "--workers 2 --lr 0.003:0.3 --hidden 64,128,256 --optimizer momentum,adam")
    p.add_argument("--trials", type=positive_int, default=30, help="finished trials wanted "
                   "(pruned ones count) (default: 30)")
    p.add_argument("--workers", type=positive_int, default=2,
                   help="processes running trials at once, one BLAS thread each (default: 2)")
    # The study's fixed settings: without a flag, a sweep that joins a study takes the study's
    # value (None here), and a new study the default.
    p.add_argument("--epochs", type=field_type("epochs"), default=None,
                   help="epochs per trial (default: 4, or the study's)")
    p.add_argument("--val-split", dest="sweep_val", type=positive_int, default=None,
                   metavar="N", help="training samples held out to score trials (default: 10000, "
                   "or the study's)")
    p.add_argument("--lr", dest="space_lr", default=None, metavar="LOW:HIGH",
                   help="learning rate range, log-uniform (default: 0.001:0.5)")
    p.add_argument("--hidden", dest="space_hidden", default=None, metavar="LIST",
                   help="hidden units to try (default: 64,128,256)")
    p.add_argument("--batch-size", dest="space_batch", default=None, metavar="LIST",
                   help="batch sizes to try (default: 32,64,128)")
    p.add_argument("--momentum", dest="space_momentum", default=None, metavar="LOW:HIGH",
                   help="momentum range, uniform, drawn for the momentum and nesterov "
                   "optimizers only (default: 0:0.95)")
    p.add_argument("--weight-decay", dest="space_wd", default=None, metavar="LOW:HIGH",
                   help="weight decay range, uniform (default: 0:0.001)")
    p.add_argument("--optimizer", dest="space_opt", default=None, metavar="LIST",
                   help=f"optimizers to try, of {','.join(cfg.OPTIMIZERS)} (default: momentum,adam)")
    p.add_argument("--study", default="mnist-tui", help="study name (default: mnist-tui)")
    p.add_argument("--storage", default="", metavar="URL",
                   help=f"a database URL, e.g. sqlite:///s.db or postgresql://user@host/db "
                   f"(default: ${sw.STORAGE_ENV}, else sweeps.sqlite next to the run history). "
                   f"Keep passwords out of it: a command line is seen by every user (ps); use "
                   f"${sw.STORAGE_ENV}, PGPASSWORD or ~/.pgpass")
    p.add_argument("--seed", dest="sweep_seed", type=field_type("seed"), default=0,
                   help="seeds the sampler and every trial's weights and data order (default: 0)")
    p.add_argument("--dataset", dest="sweep_dataset", choices=cfg.DATASETS, default=None,
                   help="dataset (default: mnist, or the study's)")
    add_data_dir_flag(p)
    add_format_flag(p, words="text for people; json (a JSON object per line: each trial, then "
                    "a summary) for programs", json_alias=True)
    add_db_flag(p)


SPACE_FLAGS = {"lr": ("space_lr", sw.parse_range), "hidden": ("space_hidden", sw.parse_choices),
               "batch_size": ("space_batch", sw.parse_choices),
               "momentum": ("space_momentum", sw.parse_range),
               "weight_decay": ("space_wd", sw.parse_range),
               "optimizer": ("space_opt", sw.parse_choices)}


def plan_from_args(args: argparse.Namespace) -> sw.Sweep:
    """The sweep the flags ask for; `given` names the study settings they set."""
    given = {name for name, (dest, _) in SPACE_FLAGS.items() if getattr(args, dest) is not None}
    given |= {name for name, dest in (("epochs", "epochs"), ("val_split", "sweep_val"),
                                      ("dataset", "sweep_dataset"))
              if getattr(args, dest) is not None}
    space = sw.Space(**{name: parse(name, getattr(args, dest))
                        for name, (dest, parse) in SPACE_FLAGS.items()
                        if getattr(args, dest) is not None})
    fixed = {k: v for k, v in (("epochs", args.epochs), ("val_split", args.sweep_val),
                               ("dataset", args.sweep_dataset)) if v is not None}
    return sw.Sweep(space=space, trials=args.trials, workers=args.workers, study=args.study,
                    storage=args.storage, seed=args.sweep_seed, data_dir=args.data_dir,
                    db_path=args.db, given=frozenset(given), **fixed)


def run(args: argparse.Namespace) -> int:
    args.json = args.format == "json"
    with signal_handlers_kept(signal.SIGTERM, signal.SIGHUP):
        return _sweep(args)


def _sweep(args: argparse.Namespace) -> int:
    # Refused up front, in one line, with nothing written: bad values, a storage no worker
    # can share, other settings than the study's, a split, workers or memory over the limit.
    try:
        plan = sw.join(plan_from_args(args))
    except sw.SweepError as e:
        return fail(str(e), EXIT_USAGE)
    ds = load_data(args.data_dir, plan.dataset)  # once, shared by the workers
    reason = sw.check(plan, ds.n_train, ds.n_test)
    if reason:
        return fail(reason, EXIT_USAGE)
    caught = interrupt_on_signals()  # SIGTERM and SIGHUP end the sweep as Ctrl-C does
    engine = Engine(ds)  # the dataset in shared memory: every worker reads the same copy
    del ds
    started = time.time()
    printed: set[int] = set()
    here = socket.gethostname()

    def show(rows) -> None:
        for r in rows:
            if r.state in ("complete", "pruned", "fail", "diverged", "stopped") \
                    and r.number not in printed:
                printed.add(r.number)
                if args.json:
                    print(to_json({"event": "trial", "number": r.number, "state": r.state,
                                      "val_acc": r.val_acc, "test_acc": r.test_acc,
                                      "epochs": r.epochs, "params": r.params,
                                      "run_id": r.run_id, "host": r.host, "seed": r.seed}),
                          flush=True)
                    continue
                val = "--" if r.val_acc is None else f"{r.val_acc:.2%}"
                test = "--" if r.test_acc is None else f"{r.test_acc:.2%}"
                where = f"  on {r.host}" if r.host and r.host != here else ""
                print(f"trial {r.number:>3}  {r.state:<8}  val {val:>6}  test {test:>6}  "
                      f"{r.epochs} ep  {sw.params_words(r.params)}{where}", flush=True)
        running = sum(r.state == "running" for r in rows)
        progress.update(task, completed=len(printed), note=f"{running} running")

    if not args.json:
        print(f"sweep {plan.study!r}: {plural(plan.trials, 'trial')}, "
              f"{plural(plan.workers, 'worker')}, {plural(plan.epochs, 'epoch')} each, scored on "
              f"{plural(plan.val_split, 'validation sample')} "
              f"({sw.shown(sw.storage_url(plan))})", flush=True)
    progress = Progress()  # on stderr, above which the trial lines go
    task = progress.add("trials", plan.trials)
    try:
        with progress:
            study = sw.run(plan, on_update=show, shared=engine.shared)
    except sw.SweepError as e:
        return fail(str(e), EXIT_USAGE if "cannot change" in str(e) else EXIT_DATA)
    except KeyboardInterrupt:
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):  # the workers are gone:
            signal.signal(sig, signal.SIG_IGN)  # say so before a second signal cuts us off
        name = signal.Signals(caught[0]).name if caught else "Ctrl-C"
        return fail(f"{name}: the running trials were recorded as stopped; run the same "
                    f"command again to resume study {plan.study!r}",
                    128 + caught[0] if caught else EXIT_INTERRUPTED)
    finally:
        engine.close()
    result = sw.summary(study, started)
    if args.json:
        print(to_json({"event": "done", **result}), flush=True)
    elif "best_trial" in result:
        test = result["best_test_acc"]  # None when the best "trial" diverged at once
        host = result.get("best_host") or "?"
        print(f"best: trial {result['best_trial']} on {host} (run {result['best_run_id']} of "
              f"{'this' if host == here else 'its'} history), val {result['best_val_acc']:.2%}, "
              f"test {'--' if test is None else format(test, '.2%')}: "
              f"{sw.params_words(result['best_params'])}")
        print(f"{result['complete']} complete ({result['diverged']} of them diverged), "
              f"{result['pruned']} pruned, {result['seconds']:.0f} s")
    else:
        print("no trial finished")
    return 0
