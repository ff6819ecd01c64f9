"""`mnist-tui suspects`: test samples whose label looks wrong, found across the history's runs."""

from __future__ import annotations

import argparse
import csv
import io
import sys

from ...core import config as cfg
from ...core import data, store, suspects
from ...core.files import check_target, write_atomic
from ..options import add_db_flag, digits, positive_int, probability
from ..output import EXIT_USAGE, fail, to_json


def add_arguments(su: argparse.ArgumentParser) -> None:
    su.description = (
        "Suspect labels: test samples that at least MIN_RUNS different runs in the "
        "history (other seeds or configs; runs with the same config count once) each get wrong "
        "with probability >= MIN_CONF, agreeing on the same other class (each run's last "
        "epoch). Runs that diverged, failed or were lost are left out. Train a few runs with "
        "different --seed values first. Marks ('label looks wrong', 'model is wrong') given "
        "here or in the dashboard (Mistakes tab, S) are stored and exported.")
    su.epilog = ("Example: for s in 1 2 3 4 5; do mnist-tui train --seed $s; done; "
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


MARK_WORDS = {"label": "label looks wrong", "model": "model is wrong", "none": None}


def parse_mark(text: str) -> tuple[int, str | None]:
    index, _, kind = text.partition("=")
    i = digits(index)  # ASCII digits only: int() took '1_0' as 10 and '٣' as 3
    if i is None or kind not in MARK_WORDS:
        raise ValueError(f"--mark {text!r}: expected INDEX=label, INDEX=model or INDEX=none, "
                         "INDEX in the ASCII digits 0-9, e.g. --mark 4176=label")
    return i, MARK_WORDS[kind]


def run(args: argparse.Namespace) -> int:
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
        title = data.INFO[args.dataset].title
        text = args.format == "text" and args.output in (None, "-")
        for i, mark in marks:  # a mark is an edit: say it was made, not the whole list again
            print(f"marked {title} test #{i}: {mark}" if mark else f"unmarked {title} test #{i}",
                  file=sys.stdout if text else sys.stderr, flush=True)
        if text:  # a program (--format json/csv, --output) still gets the list, marks included
            return 0
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
        return to_json({
            "dataset": args.dataset, "min_runs": args.min_runs, "min_conf": args.min_conf,
            "runs": evidence.run_ids, "suspects": rows}, indent=2) + "\n"
    if args.format == "csv":
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
