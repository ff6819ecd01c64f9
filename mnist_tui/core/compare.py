"""Comparing stored runs: what differs in their configs, each one's best epoch, and how their
final confusion matrices differ cell by cell ("B makes 31 fewer 4→9 mistakes").

The input is runs as `Store.run` returns them; the CLI (`runs compare`) and the app's Compare
view show the same result.
"""

from __future__ import annotations

import numpy as np

from . import history
from .data import class_names


def differing_config(runs: list[dict]) -> dict[str, list]:
    """Only the config fields whose values are not the same in every run, in field order."""
    keys: list[str] = []
    for r in runs:
        keys += [k for k in r["config"] if k not in keys]
    out = {}
    for k in keys:
        values = [r["config"].get(k) for r in runs]
        if any(v != values[0] for v in values[1:]):
            out[k] = values
    return out


def best_of(run: dict, key: str = "test_acc") -> tuple[float, int] | None:
    """(best value, its epoch) of a stored run's per-epoch series (history.best_of)."""
    return history.best_of(run["epochs"], key)


def confusion_changes(a: dict, b: dict, top: int = 5) -> list[dict]:
    """The off-diagonal cells where run b makes the most fewer (or more) mistakes than run a:
    [{"true": 4, "pred": 9, "a": 40, "b": 9, "change": -31}], largest changes first."""
    if not a.get("confusion") or not b.get("confusion"):
        return []
    ca, cb = np.asarray(a["confusion"]), np.asarray(b["confusion"])
    diff = cb - ca
    np.fill_diagonal(diff, 0)
    order = np.argsort(-np.abs(diff), axis=None)[:top]
    out = []
    for flat in order:
        t, p = divmod(int(flat), 10)
        if diff[t, p] == 0:
            break
        out.append({"true": t, "pred": p, "a": int(ca[t, p]), "b": int(cb[t, p]),
                    "change": int(diff[t, p])})
    return out


def compare(runs: list[dict]) -> dict:
    """Everything the comparison shows, as plain data (JSON-ready)."""
    summary = []
    for r in runs:
        best = best_of(r)
        best_val = best_of(r, "val_acc")
        e = r["epochs"]
        last = next((v for v in reversed(e["test_acc"]) if v is not None), None)
        summary.append({
            "id": r["id"], "status": r["status"], "epochs": len(e["epoch"]),
            "best_test_acc": best[0] if best else None, "best_epoch": best[1] if best else None,
            "best_val_acc": best_val[0] if best_val else None,
            "best_val_epoch": best_val[1] if best_val else None,
            "last_test_acc": last, "seconds": r.get("seconds"),
        })
    base = runs[0]
    return {
        "runs": [r["id"] for r in runs],
        "differing_config": differing_config(runs),
        "summary": summary,
        "confusion": [{"a": base["id"], "b": r["id"], "changes": confusion_changes(base, r)}
                      for r in runs[1:]],
        "curves": {r["id"]: {k: r["epochs"].get(k, []) for k in ("epoch", "test_acc", "val_acc")}
                   for r in runs},
    }


def change_words(change: dict, a: int, b: int, dataset: str = "mnist") -> str:
    """'#7 makes 31 fewer 4→9 mistakes than #3 (9 vs 40)'."""
    names = class_names(dataset)
    n = change["change"]
    more = "fewer" if n < 0 else "more"
    return (f"#{b} makes {abs(n)} {more} {names[change['true']]}→{names[change['pred']]} "
            f"mistakes than #{a} ({change['b']} vs {change['a']})")
