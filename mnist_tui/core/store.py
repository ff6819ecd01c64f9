"""Run history in SQLite: every run's config, per-epoch metrics and final confusion matrix.

WAL mode, so several dashboards can write at once; a busy timeout instead of failing on a
lock; each epoch committed on its own, so a killed run keeps every epoch it finished. The
schema is versioned with PRAGMA user_version and migrated forward. A file that is not a
database is reported and never overwritten.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np

from .config import TrainConfig
from .events import EpochEnd, LiveChanged
from .history import EPOCH_KEYS

SCHEMA_VERSION = 3
MIGRATIONS = {
    1: """
        CREATE TABLE runs (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            started_at REAL NOT NULL,
            finished_at REAL,
            config TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'running',
            best_test_acc REAL,
            seconds REAL NOT NULL DEFAULT 0
        );
        CREATE TABLE epochs (
            run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
            epoch INTEGER NOT NULL,
            train_loss REAL, train_acc REAL, test_loss REAL, test_acc REAL,
            lr REAL, seconds REAL,
            PRIMARY KEY (run_id, epoch)
        );
    """,
    2: """
        ALTER TABLE runs ADD COLUMN checkpoint TEXT;
        ALTER TABLE runs ADD COLUMN confusion TEXT;
    """,
    3: """
        CREATE TABLE live_changes (
            run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
            epoch INTEGER NOT NULL,
            batch INTEGER NOT NULL,
            name TEXT NOT NULL,
            value REAL NOT NULL
        );
    """,
}
EPOCH_COLUMNS = EPOCH_KEYS


class StoreError(Exception):
    """The history database cannot be used (locked, corrupt, unwritable); training goes on."""


def default_path(env: dict[str, str] | None = None) -> Path:
    """$XDG_DATA_HOME/mnist-tui/runs.sqlite, else ~/.local/share/mnist-tui/runs.sqlite."""
    env = os.environ if env is None else env
    base = env.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "mnist-tui" / "runs.sqlite"


class Store:
    """One connection to the history database; use one Store per thread."""

    def __init__(self, path: str | os.PathLike | None = None, timeout: float = 5.0):
        self.path = Path(path) if path else default_path()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(self.path, timeout=timeout, isolation_level=None)
        except (OSError, sqlite3.Error) as e:
            raise StoreError(f"{self.path}: cannot open the run history ({e})") from None
        deadline = time.monotonic() + timeout
        while True:
            try:
                self._setup()
                break
            except sqlite3.OperationalError as e:
                # Two processes opening a new file at once: SQLite can answer "locked" at once
                # here, without waiting on the busy timeout. Try again until the timeout.
                if _reason(e).startswith("the run history is locked") and time.monotonic() < deadline:
                    time.sleep(0.05)
                    continue
                self.db.close()
                raise StoreError(f"{self.path}: {_reason(e)}; the file was left as it is") from None
            except sqlite3.DatabaseError as e:
                self.db.close()
                raise StoreError(f"{self.path}: {_reason(e)}; the file was left as it is") from None

    def _setup(self) -> None:
        self.db.execute("PRAGMA foreign_keys = ON")
        if self.db.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            self.db.execute("PRAGMA journal_mode = WAL")
        self.db.execute("PRAGMA synchronous = NORMAL")
        self._migrate()

    def _migrate(self) -> None:
        version = self.db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise sqlite3.DatabaseError(
                f"schema version {version} is newer than this mnist-tui knows ({SCHEMA_VERSION})")
        for v in range(version + 1, SCHEMA_VERSION + 1):
            self.db.execute("BEGIN IMMEDIATE")
            try:
                # Another process may have migrated while we waited for the lock.
                if self.db.execute("PRAGMA user_version").fetchone()[0] >= v:
                    self.db.execute("COMMIT")
                    continue
                for statement in MIGRATIONS[v].split(";"):
                    if statement.strip():
                        self.db.execute(statement)
                self.db.execute(f"PRAGMA user_version = {v}")
                self.db.execute("COMMIT")
            except BaseException:
                self.db.execute("ROLLBACK")
                raise

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _write(self, sql: str, args: tuple = ()) -> sqlite3.Cursor:
        try:
            return self.db.execute(sql, args)
        except sqlite3.Error as e:
            raise StoreError(f"{self.path}: {_reason(e)}") from None

    # --- writing ------------------------------------------------------------------------------

    def start_run(self, config: TrainConfig) -> int:
        cur = self._write("INSERT INTO runs (started_at, config) VALUES (?, ?)",
                          (time.time(), json.dumps(asdict(config))))
        return int(cur.lastrowid)

    def add_epoch(self, run_id: int, ev: EpochEnd, epoch: int | None = None) -> None:
        """Commit one epoch (autocommit: a killed process keeps it) and the run's summary."""
        values = [epoch or ev.epoch] + [getattr(ev, k) for k in EPOCH_COLUMNS[1:]]
        self._write(f"INSERT OR REPLACE INTO epochs (run_id, {', '.join(EPOCH_COLUMNS)}) "
                    f"VALUES (?, {', '.join('?' * len(EPOCH_COLUMNS))})", (run_id, *values))
        self._write("UPDATE runs SET best_test_acc = max(coalesce(best_test_acc, 0), ?), "
                    "seconds = ?, confusion = ? WHERE id = ?",
                    (ev.test_acc, ev.elapsed, json.dumps(np.asarray(ev.confusion).tolist()), run_id))

    def add_live_change(self, run_id: int, ev: LiveChanged, epoch: int | None = None) -> None:
        """Record that a live edit took effect at this epoch and batch."""
        self._write("INSERT INTO live_changes (run_id, epoch, batch, name, value) "
                    "VALUES (?, ?, ?, ?, ?)", (run_id, epoch or ev.epoch, ev.batch, ev.name, ev.value))

    def finish_run(self, run_id: int, status: str, checkpoint: str | None = None) -> None:
        self._write("UPDATE runs SET status = ?, finished_at = ?, "
                    "checkpoint = coalesce(?, checkpoint) WHERE id = ?",
                    (status, time.time(), checkpoint, run_id))

    def set_checkpoint(self, run_id: int, path: str) -> None:
        self._write("UPDATE runs SET checkpoint = ? WHERE id = ?", (path, run_id))

    def delete_run(self, run_id: int) -> bool:
        return self._write("DELETE FROM runs WHERE id = ?", (run_id,)).rowcount > 0

    # --- reading ------------------------------------------------------------------------------

    def runs(self) -> list[dict]:
        """All runs, newest first, each with its config as a dict."""
        rows = self._write(
            "SELECT id, started_at, finished_at, config, status, best_test_acc, seconds, "
            "checkpoint, (SELECT count(*) FROM epochs WHERE run_id = runs.id) "
            "FROM runs ORDER BY id DESC").fetchall()
        keys = ("id", "started_at", "finished_at", "config", "status", "best_test_acc",
                "seconds", "checkpoint", "epochs")
        out = []
        for row in rows:
            run = dict(zip(keys, row, strict=True))
            run["config"] = json.loads(run["config"])
            out.append(run)
        return out

    def run(self, run_id: int) -> dict:
        """One run with its epochs (a dict of lists) and confusion matrix; KeyError if absent."""
        row = self._write("SELECT config, status, started_at, finished_at, best_test_acc, "
                          "seconds, checkpoint, confusion FROM runs WHERE id = ?",
                          (run_id,)).fetchone()
        if row is None:
            raise KeyError(run_id)
        config, status, started, finished, best, seconds, ckpt, confusion = row
        epochs = self._write(f"SELECT {', '.join(EPOCH_COLUMNS)} FROM epochs WHERE run_id = ? "
                             "ORDER BY epoch", (run_id,)).fetchall()
        changes = self._write("SELECT epoch, batch, name, value FROM live_changes WHERE run_id = ? "
                              "ORDER BY rowid", (run_id,)).fetchall()
        return {
            "id": run_id, "config": json.loads(config), "status": status, "started_at": started,
            "finished_at": finished, "best_test_acc": best, "seconds": seconds,
            "checkpoint": ckpt, "confusion": json.loads(confusion) if confusion else None,
            "epochs": {k: [e[i] for e in epochs] for i, k in enumerate(EPOCH_COLUMNS)},
            "live_changes": [dict(zip(("epoch", "batch", "name", "value"), c, strict=True))
                             for c in changes],
        }


def _reason(e: sqlite3.Error) -> str:
    text = str(e)
    if "not a database" in text or "malformed" in text:
        return "not a valid SQLite database (corrupt?)"
    if "locked" in text or "busy" in text:
        return "the run history is locked by another process"
    return text


class Recorder:
    """Records one run. After the first failure it stops, keeps the reason, and never raises,
    so a locked or corrupt history never stops training."""

    def __init__(self, path: str | os.PathLike | None, config: TrainConfig, timeout: float = 5.0):
        self.store: Store | None = None
        self.run_id: int | None = None
        self.error: str | None = None
        try:
            self.store = Store(path, timeout=timeout)
            self.run_id = self.store.start_run(config)
        except StoreError as e:
            self._fail(e)

    def _fail(self, e: Exception) -> None:
        self.error = str(e)
        if self.store is not None:
            self.store.close()
        self.store = None

    def epoch(self, ev: EpochEnd, epoch: int | None = None) -> bool:
        """Record an epoch; False if the history is (now) unavailable."""
        return self._record(self.store.add_epoch if self.store else None, ev, epoch)

    def live_change(self, ev: LiveChanged, epoch: int | None = None) -> bool:
        """Record a live edit; False if the history is (now) unavailable."""
        return self._record(self.store.add_live_change if self.store else None, ev, epoch)

    def _record(self, write, ev, epoch: int | None) -> bool:
        """Call write(run_id, ev, epoch); after a failure, stop recording and keep the reason."""
        if write is None:
            return False
        try:
            write(self.run_id, ev, epoch)
            return True
        except StoreError as e:
            self._fail(e)
            return False

    def finish(self, status: str, checkpoint: str | None = None) -> None:
        if self.store is None:
            return
        try:
            self.store.finish_run(self.run_id, status, checkpoint)
        except StoreError as e:
            self._fail(e)
        finally:
            if self.store is not None:
                self.store.close()
                self.store = None
