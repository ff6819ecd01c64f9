"""`mnist-tui race FIELD VALUES`: 2 to 4 runs that differ in one field, trained at once."""

from __future__ import annotations

import argparse
import json
import queue
import signal
import sys

from ...core import data, resources, store
from ...core import events as ev_
from ...core.engine import Engine, Started
from ...core.race import check, label, parse_race
from ..options import add_config_flags, add_db_flag, config_from_args
from ..output import EXIT_INTERRUPTED, EXIT_USAGE, fail, interrupt_on_signals, load_data


def add_arguments(ra: argparse.ArgumentParser) -> None:
    ra.description = ("Train 2 to 4 runs at once that differ only in FIELD (same seed, same "
                      "data order), each in its own process with one BLAS thread, and print a "
                      "leaderboard line per epoch. Each racer is a run in the history ('runs "
                      "compare' them afterwards).")
    ra.epilog = ("Examples: mnist-tui race lr 0.3,0.1,0.03 --epochs 5;  "
                 "mnist-tui race optimizer sgd,momentum,adam")
    ra.add_argument("field", help="the field to race: lr, hidden, batch, momentum, decay, "
                    "schedule, augment, optimizer, beta1, beta2, val_split")
    ra.add_argument("values", help="2 to 4 values, comma-separated")
    add_config_flags(ra, defaults=False)
    ra.add_argument("--json", action="store_true", help="JSON lines instead of text")
    add_db_flag(ra)


def run(args: argparse.Namespace) -> int:
    watched = (signal.SIGTERM, signal.SIGHUP)
    before = {sig: signal.getsignal(sig) for sig in watched}
    try:
        return _race(args)
    finally:  # a caller gets its own handlers back
        for sig, handler in before.items():
            signal.signal(sig, handler)


def _race(args: argparse.Namespace) -> int:
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
    reason = check(configs, ds.n_train, ds.n_test)  # the racers train at once
    if reason:
        return fail(reason, EXIT_USAGE)
    names = [label(c, field) for c in configs]
    inbox: queue.Queue = queue.Queue()
    results: list[dict] = [{"name": n, "accs": [], "state": "starting", "run_id": None}
                           for n in names]
    recorders: list = [None] * len(configs)
    if not args.json:
        print(f"racing {field} on {data.INFO[ds.name].title}: " + ", ".join(names) +
              f" ({base.epochs} epochs, seed {base.seed}, one process each)", flush=True)
    caught = interrupt_on_signals()
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
