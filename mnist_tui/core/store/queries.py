"""The readers' queries of the history database: a page of runs, one run with its epochs,
predictions and marks; every row cleaned (rows.py), every table and column an older schema
lacks read as empty."""

from __future__ import annotations

import math
import sqlite3

import numpy as np

from .rows import _number, clean_run, clean_text
from .schema import EPOCH_COLUMNS, RUN_COLUMNS, USAGE_COLUMNS


class Queries:
    """Store's reading methods (a mixin: Connection holds the database and `_write`)."""

    def predictions(self, run_id: int) -> tuple[np.ndarray, np.ndarray] | None:
        """(predictions (epochs, n) uint8, labels (n,) uint8) of a run, or None if not stored
        (or damaged: rows of another length are left out)."""
        if self.db is None or not {"predictions", "test_labels"} <= self.tables:
            return None
        row = self._write("SELECT labels FROM test_labels WHERE run_id = ?", (run_id,)).fetchone()
        if row is None or not isinstance(row[0], bytes):
            return None
        labels = np.frombuffer(row[0], dtype=np.uint8)
        rows = self._write("SELECT classes FROM predictions WHERE run_id = ? ORDER BY epoch",
                           (run_id,)).fetchall()
        kept = [np.frombuffer(r[0], dtype=np.uint8) for r in rows
                if isinstance(r[0], bytes) and len(r[0]) == len(labels)]
        if not kept:
            return None
        return np.stack(kept), labels

    def final_predictions(self, run_id: int) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """(classes (n,) uint8, confidence (n,) float, labels (n,) uint8) of a run's last
        epoch with confidences stored; None if there is none (or it is damaged)."""
        if self.db is None or not {"predictions", "test_labels"} <= self.tables:
            return None
        try:
            row = self.db.execute(
                "SELECT p.classes, p.confidence, t.labels FROM predictions p JOIN test_labels t "
                "USING (run_id) WHERE run_id = ? AND p.confidence IS NOT NULL "
                "ORDER BY p.epoch DESC LIMIT 1", (run_id,)).fetchone()
        except sqlite3.Error:  # an older schema, without the confidence column
            return None
        if row is None or not all(isinstance(v, bytes) for v in row):
            return None
        classes, labels = np.frombuffer(row[0], np.uint8), np.frombuffer(row[2], np.uint8)
        conf = np.frombuffer(row[1], "<u2") if len(row[1]) % 2 == 0 else np.zeros(0)
        if not len(labels) == len(classes) == len(conf):
            return None
        return classes, conf / 65535.0, labels

    def marks(self, dataset: str) -> dict[int, str]:
        """The marks people gave suspect samples of a dataset: {sample index: mark}."""
        if self.db is None or "marks" not in self.tables:
            return {}
        rows = self._write("SELECT sample, mark FROM marks WHERE dataset = ?", (dataset,))
        return {int(i): clean_text(m) for i, m in rows.fetchall()
                if isinstance(i, int) and isinstance(m, str)}

    def _select(self, names) -> str:
        """Column names for a SELECT on runs; NULL for a column an older schema lacks."""
        return ", ".join(n if n in self.columns else f"NULL AS {n}" for n in names)

    def count_runs(self) -> int:
        """How many runs the history holds."""
        if self.db is None or "runs" not in self.tables:
            return 0
        return int(self._write("SELECT count(*) FROM runs").fetchone()[0])

    def runs(self, limit: int | None = None, offset: int = 0,
             confusion: bool = True) -> list[dict]:
        """Runs, newest first, each with its config as a dict (see `clean_run`): all of them,
        or the page of `limit` runs after the `offset` newest (the Runs tab, `runs list`).
        `confusion=False` reads no confusion matrix (None): a scan of every run that needs
        none (suspects, the ghost) then takes a third of the time."""
        if self.db is None or "runs" not in self.tables:
            return []
        count = ("(SELECT count(*) FROM epochs WHERE run_id = runs.id)" if "epochs" in self.tables
                 else "0")
        # The page's ids first (the id index alone), then only their rows and epoch counts.
        page = ("" if limit is None else
                f"WHERE id IN (SELECT id FROM runs ORDER BY id DESC "
                f"LIMIT {max(0, min(int(limit), 2**62))} OFFSET {max(0, min(int(offset), 2**62))}) ")
        names = RUN_COLUMNS if confusion else [n for n in RUN_COLUMNS if n != "confusion"]
        rows = self._write(f"SELECT {self._select(names)}, {count} FROM runs {page}"
                           "ORDER BY id DESC").fetchall()
        live: dict[int, dict[str, float]] = {}  # each run's last value of each live field
        if "live_changes" in self.tables:
            for run_id, name, value in self._write(
                    "SELECT run_id, name, value FROM live_changes ORDER BY rowid").fetchall():
                if isinstance(name, str) and isinstance(value, (int, float)):
                    live.setdefault(run_id, {})[clean_text(name)] = value
        out = []
        for row in rows:
            run = clean_run({"confusion": None, **dict(zip((*names, "epochs"), row, strict=True))})
            run["epochs"] = _number(row[-1], run["damaged"], "epochs", whole=True) or 0
            run["live"] = live.get(run["id"], {})
            if not run["epochs"]:
                run["seconds"] = None  # stopped before its first epoch: no time, not "0.0s"
            out.append(run)
        return out

    def epoch_series(self, run_id: int) -> dict[str, list]:
        """A run's epoch numbers, test accuracies and epoch seconds (rows with all three)."""
        if self.db is None or "epochs" not in self.tables:
            return {"epoch": [], "test_acc": [], "seconds": []}
        rows = self._write("SELECT epoch, test_acc, seconds FROM epochs WHERE run_id = ? "
                           "ORDER BY epoch", (run_id,)).fetchall()
        rows = [r for r in rows if isinstance(r[0], int) and all(
            isinstance(v, (int, float)) and math.isfinite(v) for v in r[1:])]
        return {"epoch": [r[0] for r in rows], "test_acc": [float(r[1]) for r in rows],
                "seconds": [float(r[2]) for r in rows]}

    def run(self, run_id: int, forgetting: bool = True) -> dict:
        """One run with its epochs (a dict of lists) and confusion matrix; KeyError if absent.
        `forgetting=False` leaves out the forgetting counts (every stored epoch's predictions
        read and analysed): an overlay on the charts needs only the epochs."""
        if self.db is None or "runs" not in self.tables:
            raise KeyError(run_id)
        row = self._write(f"SELECT {self._select(RUN_COLUMNS)} FROM runs WHERE id = ?",
                          (run_id,)).fetchone()
        if row is None:
            raise KeyError(run_id)
        run = clean_run(dict(zip(RUN_COLUMNS, row, strict=True)))
        epochs = []
        if "epochs" in self.tables:
            names = ", ".join(c if c in self.epoch_columns else f"NULL AS {c}"
                              for c in EPOCH_COLUMNS + USAGE_COLUMNS)
            epochs = self._write(f"SELECT {names} FROM epochs WHERE run_id = ? ORDER BY epoch",
                                 (run_id,)).fetchall()
        changes = []
        if "live_changes" in self.tables:
            changes = self._write("SELECT epoch, batch, name, value FROM live_changes "
                                  "WHERE run_id = ? ORDER BY rowid", (run_id,)).fetchall()
        bad = run["damaged"]
        run["epochs"] = {k: [_number(e[i], bad, f"epoch {k}", whole=k in ("epoch", "threads"))
                             for e in epochs]
                         for i, k in enumerate(EPOCH_COLUMNS + USAGE_COLUMNS)}
        stored = self.predictions(run_id) if forgetting else None
        if stored is not None:
            from ..forgetting import analyse

            run["forgetting"] = analyse(*stored).counts()
        else:
            run["forgetting"] = None
        run["live_changes"] = [
            {"epoch": _number(c[0], bad, "live change", whole=True),
             "batch": _number(c[1], bad, "live change", whole=True),
             "name": clean_text(c[2]), "value": _number(c[3], bad, "live change")}
            for c in changes]
        return run
