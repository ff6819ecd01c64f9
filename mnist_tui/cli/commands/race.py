"""`mnist-tui race FIELD VALUES`: 2 to 4 runs that differ in one field, trained at once."""

from __future__ import annotations

import argparse
import queue
import signal
import sys

from ...core import data, resources
from ...core import events as ev_
from ...core.engine import Engine
from ...core.race import RACED_NAMES, check, label, parse_race
from ...core.session import Race
from ..options import add_config_flags, add_db_flag, add_format_flag, config_from_args
from ..output import (
    EXIT_INTERRUPTED,
    EXIT_USAGE,
    Progress,
    detach_on_hangup,
    fail,
    interrupt_on_signals,
    load_data,
    plural,
    signal_handlers_kept,
    to_json,
)


def add_arguments(ra: argparse.ArgumentParser) -> None:
    ra.description = ("Train 2 to 4 runs at once that differ only in FIELD (same seed, same "
                      "data order), each in its own process with one BLAS thread, and print a "
                      "leaderboard line per epoch. Each racer is a run in the history ('runs "
                      "compare' them afterwards).")
    ra.epilog = ("Examples: mnist-tui race lr 0.3,0.1,0.03 --epochs 5;  "
                 "mnist-tui race optimizer sgd,momentum,adam")
    ra.add_argument("field", help="the field to race, named as its flag: " + RACED_NAMES)
    ra.add_argument("values", help="2 to 4 values, comma-separated")
    add_config_flags(ra, defaults=False)
    add_format_flag(ra, words="text for people; json (a JSON object per line: each racer's "
                    "epochs, then the leaderboard) for programs", json_alias=True)
    add_db_flag(ra)


def run(args: argparse.Namespace) -> int:
    with signal_handlers_kept(signal.SIGTERM, signal.SIGHUP):
        return _race(args)


def _race(args: argparse.Namespace) -> int:
    args.json = args.format == "json"
    base = config_from_args(args)
    try:
        field, configs = parse_race(f"{args.field} {args.values}", base,
                                    lr_given=getattr(args, "lr", None) is not None)
    except ValueError as e:
        return fail(str(e), EXIT_USAGE)
    ds = load_data(args.data_dir, base.dataset)
    for c in configs:
        reason = resources.check_run(c, ds.n_train, ds.n_test)
        if reason:
            return fail(f"{label(c, field)}: {reason}", EXIT_USAGE)
    reason = check(configs, ds.n_train, ds.n_test)  # the racers train at once
    if reason:
        return fail(reason, EXIT_USAGE)
    names = [label(c, field) for c in configs]
    inbox: queue.Queue = queue.Queue()  # (session, event), from the racers' reader threads
    if not args.json:
        print(f"racing {field} on {data.INFO[ds.name].title}: " + ", ".join(names) +
              f" ({plural(base.epochs, 'epoch')}" + ("" if field == "seed" else f", seed {base.seed}")
              + ", one process each)", flush=True)
    caught = interrupt_on_signals()  # SIGTERM stops the racers as Ctrl-C does
    hung = detach_on_hangup()  # a hangup leaves them racing, detached, to their end
    code = 0
    progress = Progress()  # a line per racer on stderr, with an ETA
    tasks = {name: progress.add(name, base.epochs) for name in names}
    with Engine(ds) as engine, progress:
        race = Race(engine, configs, names, db_path=args.db,
                    on_event=lambda s, ev: inbox.put((s, ev))).start()
        try:
            while not race.over or not inbox.empty():
                try:
                    s, ev = inbox.get(timeout=0.5)
                except queue.Empty:
                    continue
                if isinstance(ev, ev_.BatchProgress):
                    progress.update(tasks[s.label], completed=ev.epoch - 1 + ev.batch / ev.n_batches,
                                    note=f"loss {ev.running_loss:.4f}")
                elif isinstance(ev, ev_.EpochEnd):
                    progress.update(tasks[s.label], completed=ev.epoch)
                    if args.json:
                        print(to_json({"event": "epoch", "racer": s.label, "epoch": ev.epoch,
                                          "test_acc": ev.test_acc, "val_acc": ev.val_acc,
                                          "seconds": ev.seconds}), flush=True)
                    else:
                        print(f"epoch {ev.epoch:>3}  {s.label:<16} test acc {ev.test_acc:.2%}  "
                              f"best {s.history.best()[0]:.2%}  {ev.seconds:.2f}s", flush=True)
                elif isinstance(ev, (ev_.Diverged, ev_.Failed)):
                    print(f"mnist-tui: {s.label}: {ev.message}", file=sys.stderr)
        except KeyboardInterrupt:
            name = signal.Signals(caught[0]).name if caught else "Ctrl-C"
            print(f"mnist-tui: interrupted ({name}): stopping the racers", file=sys.stderr)
            race.stop_all()
            race.wait(5)  # each records how it ended (stopped)
            code = 128 + caught[0] if caught else EXIT_INTERRUPTED
        if hung:  # detached: each racer's weights are kept, as a detached dashboard's
            for s in race:
                try:
                    s.save_checkpoint()
                except Exception:  # noqa: BLE001 - a full disk: the run is recorded all the same
                    pass
    ranked = sorted(race, key=lambda s: -(s.history.best() or (-1,))[0])
    if args.json:
        print(to_json({"event": "done", "field": field, "racers": [
            {"racer": s.label, "best_test_acc": (s.history.best() or (None,))[0],
             "last_test_acc": (s.history["test_acc"] or [None])[-1], "state": s.state,
             "lr": s.config.lr, "run_id": s.db_run_id} for s in ranked]}), flush=True)
    else:
        print("leaderboard (best test accuracy):")
        for k, s in enumerate(ranked, start=1):
            best = "--" if s.history.best() is None else f"{s.history.best()[0]:.2%}"
            print(f"  {k}. {s.label:<16} {best:>7}  {s.state}  run {s.db_run_id}")
    return code

