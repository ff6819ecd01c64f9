"""A past run for people and programs: `runs show` (text), `runs export` (CSV, JSON) and
`runs compare` (text, CSV, JSON)."""

from __future__ import annotations

import csv
import io
import json

from ..core import data, store
from ..core.compare import change_words
from .options import flag
from .output import local_time, number, plural


def compare_text(result: dict, runs: list[dict], ids: list[int], fmt: str) -> str:
    """core.compare's result as `fmt` (text, csv or json); the first of `ids` is the baseline."""
    if fmt == "json":
        return json.dumps(result, indent=2) + "\n"
    if fmt == "csv":
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
        return buf.getvalue()
    lines = ["runs " + ", ".join(f"#{i}" for i in ids) + f" (baseline #{ids[0]})", ""]
    differ = result["differing_config"]
    if differ:
        lines.append("config that differs:")
        width = max(len(k) for k in differ)
        for k, values in differ.items():
            lines.append(f"  {k:<{width}}  " + "  ".join(f"#{i}={v}" for i, v in zip(
                ids, values, strict=True)))
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
    return "\n".join(lines) + "\n"


def trial_words(run: dict) -> str:
    """'  [study s, trial 3, on host]' for a sweep's trial, '' for any other run."""
    if run.get("study") is None:
        return ""
    trial = f", trial {run['trial']}" if run.get("trial") is not None else ""
    host = f", on {run['host']}" if run.get("host") else ""
    return f"  [study {run['study']}{trial}{host}]"


# The per-epoch machine figures (schema 10-11, core/machine.py) as `runs show` heads them.
MACHINE = {"cpu_percent": ("cpu %", "5.0f"), "rss_mb": ("rss MB", "6.0f"),
           "threads": ("threads", "7"), "samples_per_s": ("samples/s", "9,.0f"),
           "load1": ("load", "5.2f"), "free_mb": ("free MB", "8,.0f")}  # the machine's


def show_run(run: dict) -> str:
    """A run for people: config, dates, best and last accuracy, epochs, the matrix as a grid."""
    c, e = run["config"], run["epochs"]
    lines = [f"run {run['id']}  {run['status']}  started {local_time(run['started_at'])}"
             + (f", finished {local_time(run['finished_at'])}" if run.get("finished_at") else ""),
             # Each field by its flag's name, as train, race and sweep name it.
             "config: " + "  ".join(f"{flag(k)[2:]}={v}" for k, v in c.items())]
    if run.get("study") is not None:
        lines.append(f"sweep: study {run['study']}"
                     + (f", trial {run['trial']}" if run.get("trial") is not None else ""))
    if run.get("host"):
        lines.append(f"host: {run['host']}")
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
        lines.append(f"test samples over {plural(f['epochs'], 'epoch')}: {f['never learned']} never learned, "
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
    if any(v is not None for k in MACHINE for v in e.get(k, ())):  # what it cost the machine
        for k, (title, spec) in MACHINE.items():
            header += f"  {title:>{len(format(0, spec.replace(',', '')))}}"
            specs.append((k, spec))
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
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    cols = list(store.EPOCH_COLUMNS)
    w.writerow(["run_id", *cols])
    e = run["epochs"]
    for i in range(len(e["epoch"])):
        w.writerow([run["id"], *(e[c][i] for c in cols)])
    return buf.getvalue()
