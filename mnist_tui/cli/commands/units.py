"""`mnist-tui units CHECKPOINT`: each hidden unit of a checkpoint, and what silencing it costs."""

from __future__ import annotations

import argparse
import sys

import numpy as np

from ...core import checkpoint, data, insight
from ..options import add_data_dir_flag, index
from ..output import EXIT_USAGE, fail, load_data, to_json


def add_arguments(un: argparse.ArgumentParser) -> None:
    un.description = (
        "One hidden unit at a time, from a saved checkpoint, on the test set of its "
        "dataset: how often it fires, whether it is dead, the class it votes for most, and its "
        "ablation (each class's test accuracy with the unit silenced, the run untouched). "
        "With --unit J, that unit alone in full: its activations, the 9 test digits that "
        "excite it most, its outgoing weights and the per-class ablation. The dashboard shows "
        "the same on the Weights tab (Enter on a unit).")
    un.epilog = "Example: mnist-tui train --save run.npz; mnist-tui units run.npz --sort ablation"
    un.add_argument("checkpoint", help="a .npz checkpoint (from train --save or w in the app)")
    un.add_argument("--unit", type=index, default=None, metavar="J",
                    help="show one unit in full (default: a line for every unit)")
    un.add_argument("--sort", choices=("unit", "ablation", "active"), default="unit",
                    help="order of the lines: unit number, largest accuracy loss when silenced, "
                    "or most often active (default: unit)")
    un.add_argument("--format", choices=("text", "json"), default="text",
                    help="text for people, json for programs (default: text)")
    add_data_dir_flag(un)


def pp(change: float, decimals: int = 2) -> str:
    """An accuracy difference in percentage points: -0.0052 -> '-0.52 pp' (not '%')."""
    return f"{100 * change:+.{decimals}f} pp"


def run(args: argparse.Namespace) -> int:
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
            sys.stdout.write(to_json(row, indent=2) + "\n")
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
                  f"{pp(v['silenced'] - v['with'])}")
        return 0
    rows = [describe(j, False) for j in range(n)]
    key = {"unit": lambda r: r["unit"], "ablation": lambda r: r["ablation_mean_change"],
           "active": lambda r: -r["active"]}[args.sort]
    rows.sort(key=key)
    if args.format == "json":
        sys.stdout.write(to_json(rows, indent=2) + "\n")
        return 0
    dead = sum(r["dead"] for r in rows)
    print(f"{n} hidden units of {args.checkpoint}, on {len(labels):,} test images: {dead} dead; "
          "silenced one at a time")
    print("accuracy changes in percentage points (pp)")
    print(f"{'unit':>5}  {'active':>7}  {'votes for':<9}  {'mean change':>11}  worst class")
    for r in rows:
        print(f"{r['unit']:>5}  {'dead' if r['dead'] else format(r['active'], '.1%'):>7}  "
              f"{r['votes_most_for']:<9}  {pp(r['ablation_mean_change'], 3):>11}  "
              f"{r['ablation_worst_class']} {pp(r['ablation_worst_change'])}")
    return 0
