"""`mnist-tui runs list|show|export|compare`: the run history, read-only.

The text, CSV and JSON of a run and of a comparison are in ../runs_text.py.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys

from ...core import host, store
from ...core.compare import compare
from ...core.files import check_target, write_atomic
from ...core.render import config_words
from ..options import Parser, add_db_flag, add_format_flag, non_negative_int, positive_int, run_id
from ..output import EXIT_DATA, EXIT_USAGE, fail, local_time, number, to_json
from ..runs_text import compare_text, export_run, show_run, trial_words


def add_arguments(r: argparse.ArgumentParser) -> None:
    r.description = "The run history: every run's config and per-epoch metrics."
    add_db_flag(r)
    rsub = r.add_subparsers(dest="runs_command", metavar="ACTION", parser_class=Parser,
                            required=True)
    rl = rsub.add_parser("list", help="one line per run, newest first; runs going are marked "
                         "live (pid, host, viewers)")
    rl.add_argument("--limit", type=positive_int, default=None, metavar="N",
                    help="only the N newest runs (after --offset) (default: every run)")
    rl.add_argument("--offset", type=non_negative_int, default=0, metavar="N",
                    help="skip the N newest runs: with --limit, pages through a long history "
                    "(default: 0)")
    add_format_flag(rl, ("text", "json", "csv"), words="text for people; json (a list of runs, "
                    "each with its config) or csv (a row per run) for programs", json_alias=True)
    add_db_flag(rl)
    for verb, words in STEER.items():
        rv = rsub.add_parser(verb, help=f"{words} a run that is going, from any terminal")
        rv.add_argument("id", type=run_id, help="run id, from 'runs list' (a live one)")
        rv.add_argument("--json", action="store_true",
                        help="its state after, as JSON (default: a line of text)")
        add_db_flag(rv)  # run ids are per history: its run 3 is not another's
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


STEER = {"stop": "stop", "pause": "pause", "resume": "resume"}  # sent to the run's host


def steer(args: argparse.Namespace) -> int:
    """`runs stop|pause|resume ID`: one command to the run's host (core/host.py)."""
    try:
        info = host.command(args.id, args.runs_command, db_path=args.db)
    except host.HostError as e:
        return fail(str(e), EXIT_DATA)
    state = "stopping" if args.runs_command == "stop" and info["state"] == "training" \
        else info["state"]
    if args.json:
        print(json.dumps({"run_id": args.id, "command": args.runs_command, "state": state,
                          "pid": info["pid"], "host": info["host"]}))
    else:
        print(f"run {args.id}: {state}")
    return 0


def live_words(info: dict | None) -> str:
    """The live mark of a run that is going: '  [live: pid 123 on vm, 1 viewer]'."""
    if info is None:
        return ""
    n = info["viewers"]
    paused = ", paused" if info.get("state") == "paused" else ""
    return f"  [live{paused}: pid {info['pid']} on {info['host']}, {n} viewer{'s' * (n != 1)}]"


def run(args: argparse.Namespace) -> int:
    if args.runs_command in STEER:
        return steer(args)
    if args.runs_command == "export" and args.output not in (None, "-"):
        check_target(args.output)  # a bad path is one line now, before reading anything
    # Reading only: opened read-only, so listing never creates, migrates or changes the file.
    with store.Store(args.db, readonly=True) as db:
        if args.runs_command == "list":
            live = host.live_runs(args.db)  # this history's runs going on this machine: live
            if args.format != "text":
                runs = db.runs(limit=args.limit, offset=args.offset)
                sys.stdout.write(runs_table(runs, args.format, live))
                return 0
            return list_runs(db, args.limit, args.offset, live)
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


LIST_COLUMNS = ("id", "started_at", "finished_at", "status", "best_test_acc", "epochs",
                "seconds", "checkpoint", "study", "trial", "host")


def runs_table(runs: list[dict], fmt: str, live: dict[int, dict] | None = None) -> str:
    """`runs list --format json|csv`: every run, newest first (an empty list or a header when
    there are none); the csv has the config in its short words and the damage, if any; a run
    going has `live` (its pid, host, viewers and state; null otherwise)."""
    live = live or {}

    def live_of(r: dict) -> dict | None:
        info = live.get(r["id"])
        return None if info is None else {k: info.get(k) for k in ("pid", "host", "viewers", "state")}

    if fmt == "json":
        return to_json([{k: r.get(k) for k in (*LIST_COLUMNS, "config", "damaged")}
                        | {"live": live_of(r)} for r in runs], indent=2) + "\n"
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow([*LIST_COLUMNS, "config", "damaged", "live"])
    for r in runs:
        w.writerow([*("" if r.get(k) is None else r[k] for k in LIST_COLUMNS),
                    config_words(r["config"]), "; ".join(r["damaged"]),
                    live_words(live.get(r["id"])).strip()])
    return buf.getvalue()


LIST_PAGE = 500  # runs read at a time: the first lines print at once, memory stays flat


def list_runs(db: store.Store, limit: int | None, offset: int,
              live: dict[int, dict] | None = None) -> int:
    """Print the runs, newest first, a page at a time; `limit` and `offset` page by hand."""
    total = db.count_runs()
    shown, at, header = 0, offset, False
    while limit is None or shown < limit:
        want = LIST_PAGE if limit is None else min(LIST_PAGE, limit - shown)
        runs = db.runs(limit=want, offset=at)
        if not runs:
            break
        if not header:
            print(f"{'id':>4}  {'started':<16}  {'status':<8}  {'best':>7}  {'epochs':>6}  "
                  f"{'time':>8}  {'seed':>4}  config")
            header = True
        for r in runs:
            damaged = f"  [damaged: {', '.join(r['damaged'])}]" if r["damaged"] else ""
            seconds = "--" if r["seconds"] is None else f"{number(r['seconds'], '.1f')}s"
            print(f"{r['id']:>4}  {local_time(r['started_at']):<16}  {r['status']:<8}  "
                  f"{number(r['best_test_acc'], '7.2%')}  {r['epochs']:>6}  {seconds:>8}  "
                  f"{str(r['config'].get('seed', '?')):>4}  "
                  f"{config_words(r['config'], r.get('live'))}{trial_words(r)}{damaged}"
                  f"{live_words((live or {}).get(r['id']))}")
        shown, at = shown + len(runs), at + len(runs)
    if not header:
        print(f"no runs yet in {db.path}" if not total else
              f"no runs past the {offset} newest in {db.path} ({total} in all)")
    elif at < total:  # on stderr: a script reading stdout gets the rows only
        print(f"runs {offset + 1}-{at} of {total}, newest first: --offset {at} for more",
              file=sys.stderr)
    return 0


def compare_runs(db, args: argparse.Namespace) -> int:
    if len(args.ids) < 2 or len(set(args.ids)) != len(args.ids):
        return fail("compare needs two or more different run ids", EXIT_USAGE)
    runs = []
    for i in args.ids:
        try:
            runs.append(db.run(i))
        except KeyError:
            return fail(f"no run {i} in {db.path} (see 'mnist-tui runs list')", EXIT_DATA)
    result = compare(runs)
    sys.stdout.write(compare_text(result, runs, args.ids, args.format))
    return 0
