"""Run history in SQLite: every run's config, per-epoch metrics and final confusion matrix.

WAL mode, so several dashboards can write at once; a busy timeout instead of failing on a
lock; each epoch committed on its own, so a killed run keeps every epoch it finished. The
schema is versioned with PRAGMA user_version and migrated forward.

Only a run that records creates or migrates the file. Reading (`Store(path, readonly=True)`:
`runs list/show/export`, the Runs tab) opens it with SQLite's `mode=ro`, checks the schema
first and changes no byte; a missing file reads as an empty history. A file that is not ours
(not a database, a newer schema, someone else's tables) is reported and left as it is.

Rows are read defensively: a value of the wrong type is shown as missing and the row is marked
damaged (`run["damaged"]` says why), and control characters are stripped from every string, so
nothing stored can reach the terminal as an escape sequence. A "running" run whose process is
gone (killed with SIGKILL, say) reads as "lost".
"""

from __future__ import annotations

import json
import math
import os
import re
import socket
import sqlite3
import time
import urllib.parse
from dataclasses import asdict
from pathlib import Path

import numpy as np

from .config import TrainConfig
from .events import EpochEnd, LiveChanged
from .history import EPOCH_KEYS

SCHEMA_VERSION = 11
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
    4: """
        ALTER TABLE runs ADD COLUMN pid INTEGER;
        ALTER TABLE runs ADD COLUMN host TEXT;
    """,
    5: """
        ALTER TABLE epochs ADD COLUMN val_loss REAL;
        ALTER TABLE epochs ADD COLUMN val_acc REAL;
    """,
    6: """
        ALTER TABLE runs ADD COLUMN study TEXT;
        ALTER TABLE runs ADD COLUMN trial INTEGER;
    """,
    7: """
        CREATE TABLE predictions (
            run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
            epoch INTEGER NOT NULL,
            classes BLOB NOT NULL,
            PRIMARY KEY (run_id, epoch)
        );
        CREATE TABLE test_labels (
            run_id INTEGER PRIMARY KEY REFERENCES runs(id) ON DELETE CASCADE,
            labels BLOB NOT NULL
        );
    """,
    8: """
        ALTER TABLE epochs ADD COLUMN ece REAL;
        ALTER TABLE predictions ADD COLUMN confidence BLOB;
        CREATE TABLE marks (
            dataset TEXT NOT NULL,
            sample INTEGER NOT NULL,
            mark TEXT NOT NULL,
            marked_at REAL NOT NULL,
            PRIMARY KEY (dataset, sample)
        );
    """,
    # At 10,000 runs: opening a history to record scans runs for this host's 'running' ones,
    # and deleting a run (its live changes cascade) scanned every live change.
    9: """
        CREATE INDEX IF NOT EXISTS runs_status_host ON runs (status, host);
        CREATE INDEX IF NOT EXISTS live_changes_run ON live_changes (run_id);
    """,
    # What each epoch cost the machine (core/machine.py): the run's CPU, memory and threads,
    # the machine's load and free memory.
    10: """
        ALTER TABLE epochs ADD COLUMN cpu_percent REAL;
        ALTER TABLE epochs ADD COLUMN rss_mb REAL;
        ALTER TABLE epochs ADD COLUMN threads INTEGER;
        ALTER TABLE epochs ADD COLUMN load1 REAL;
        ALTER TABLE epochs ADD COLUMN free_mb REAL;
    """,
    11: "ALTER TABLE epochs ADD COLUMN samples_per_s REAL;",  # the epoch's training speed
}
MARKS = ("label looks wrong", "model is wrong")  # what a person says of a suspect sample
RUN_COLUMNS = ("id", "started_at", "finished_at", "config", "status", "best_test_acc",
               "seconds", "checkpoint", "confusion", "pid", "host", "study", "trial")
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # all but tab and newline
MAX_JSON_DEPTH = 20
EPOCH_COLUMNS = (*EPOCH_KEYS, "val_loss", "val_acc", "ece")  # val: NULL for a run without a split
# What an epoch cost the machine (core/machine.py): NULL where it was not sampled.
USAGE_COLUMNS = ("cpu_percent", "rss_mb", "threads", "samples_per_s", "load1", "free_mb")


class StoreError(Exception):
    """The history database cannot be used (locked, corrupt, unwritable); training goes on."""


def default_path(env: dict[str, str] | None = None) -> Path:
    """$XDG_DATA_HOME/mnist-tui/runs.sqlite, else ~/.local/share/mnist-tui/runs.sqlite."""
    env = os.environ if env is None else env
    base = env.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "mnist-tui" / "runs.sqlite"


def make_folder(path: str | os.PathLike) -> Path:
    """Make the folder a database file `path` goes in, with its parents, as the user's umask
    allows (a fresh account has no $XDG_DATA_HOME/mnist-tui yet); StoreError says why not."""
    folder = Path(path).parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise StoreError(f"{folder}: cannot make the folder ({e.strerror or e})") from None
    return folder


class Store:
    """One connection to the history database; use one Store per thread."""

    def __init__(self, path: str | os.PathLike | None = None, timeout: float = 5.0,
                 readonly: bool = False):
        self.path = Path(path) if path else default_path()
        self.readonly = readonly
        self.columns: set[str] = set(RUN_COLUMNS)
        self.epoch_columns: set[str] = set(EPOCH_COLUMNS)
        self.tables: set[str] = {"runs", "epochs", "live_changes", "predictions", "test_labels",
                                 "marks"}
        if readonly:
            self._open_readonly(timeout)
            return
        make_folder(self.path)
        try:
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

    def _open_readonly(self, timeout: float) -> None:
        """Open without writing a byte; a missing file is an empty history, not a new file."""
        self.db = None
        if not os.path.lexists(self.path):
            return
        if not self.path.is_file():
            raise StoreError(f"{self.path}: not a regular file; the file was left as it is")
        uri = "file:" + urllib.parse.quote(os.fsencode(self.path.resolve()))  # bytes: any name
        last = None
        # mode=ro. A WAL file with no -wal beside it has no writer now and nothing outside the
        # main file: read that with immutable=1, which creates no -wal/-shm files; so is a
        # file whose -shm cannot be made (a read-only directory).
        queries = ["?mode=ro", "?mode=ro&immutable=1"]
        if _wal_header(self.path) and not os.path.exists(f"{self.path}-wal"):
            queries.reverse()
        for query in queries:
            try:
                self.db = sqlite3.connect(uri + query, uri=True, timeout=timeout,
                                          isolation_level=None)
                self._check_schema()
                break
            except sqlite3.OperationalError as e:
                last = e
                if self.db is not None:
                    self.db.close()
                    self.db = None
                if "unable to open" not in str(e) and "readonly" not in str(e):
                    break
            except sqlite3.DatabaseError as e:
                self.db.close()
                self.db = None
                raise StoreError(f"{self.path}: {_reason(e)}; the file was left as it is") from None
        if self.db is None:
            raise StoreError(f"{self.path}: {_reason(last)}; the file was left as it is")
        self.tables = {n for (n,) in self.db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")}
        if "runs" in self.tables:
            self.columns = {r[1] for r in self.db.execute("PRAGMA table_info(runs)")}
        if "epochs" in self.tables:
            self.epoch_columns = {r[1] for r in self.db.execute("PRAGMA table_info(epochs)")}

    def _check_schema(self) -> int:
        """The file's schema version, after checking it is ours; nothing is written."""
        # One read transaction: the version and the tables from the same moment. Read apart,
        # a history another process was creating meanwhile looked like someone else's file
        # (version 0 read before its first migration committed, its tables after).
        outside = not self.db.in_transaction
        if outside:
            self.db.execute("BEGIN")
        try:
            version = self.db.execute("PRAGMA user_version").fetchone()[0]
            names = sorted(n for (n,) in self.db.execute(
                "SELECT name FROM sqlite_master WHERE type IN ('table', 'view')"))
        finally:
            if outside:
                self.db.execute("COMMIT")
        if version > SCHEMA_VERSION:
            raise sqlite3.DatabaseError(
                f"schema version {version} is newer than this mnist-tui knows ({SCHEMA_VERSION})")
        if version == 0:
            if names:
                raise sqlite3.DatabaseError(
                    f"not an mnist-tui run history (it holds other tables: {', '.join(names[:5])})")
        return version

    def _setup(self) -> None:
        self._check_schema()  # before anything writes: WAL mode alone changes the header
        self.db.execute("PRAGMA foreign_keys = ON")
        if self.db.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            self.db.execute("PRAGMA journal_mode = WAL")
        self.db.execute("PRAGMA synchronous = NORMAL")
        self._migrate()
        self._mark_lost()

    def _mark_lost(self) -> None:
        """Runs of this host still 'running' whose process is gone are recorded as lost."""
        here = socket.gethostname()
        for run_id, pid in self.db.execute(
                "SELECT id, pid FROM runs WHERE status = 'running' AND host = ?", (here,)).fetchall():
            if not _alive(pid):
                self.db.execute("UPDATE runs SET status = 'lost' WHERE id = ? AND status = 'running'",
                                (run_id,))

    def _migrate(self) -> None:
        version = self._check_schema()
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
        if self.db is not None:
            self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _write(self, sql: str, args: tuple = ()) -> sqlite3.Cursor:
        if self.db is None:
            raise StoreError(f"{self.path}: no run history there yet")
        try:
            return self.db.execute(sql, args)
        except sqlite3.Error as e:
            raise StoreError(f"{self.path}: {_reason(e)}") from None
        except (UnicodeEncodeError, OverflowError, ValueError, TypeError) as e:
            # A value sqlite3 cannot bind (a str with surrogates, an int past 64 bits): the
            # history misses this write, the run and the app go on.
            raise StoreError(f"{self.path}: cannot record a value ({e})") from None

    # --- writing ------------------------------------------------------------------------------

    def start_run(self, config: TrainConfig, study: str | None = None,
                  trial: int | None = None) -> int:
        """A new run; `study` and `trial` tag a sweep's trial (see core/sweep.py)."""
        cur = self._write(
            "INSERT INTO runs (started_at, config, pid, host, study, trial) VALUES (?, ?, ?, ?, ?, ?)",
            (time.time(), json.dumps(asdict(config)), os.getpid(), socket.gethostname(), study, trial))
        return int(cur.lastrowid)

    def add_epoch(self, run_id: int, ev: EpochEnd, epoch: int | None = None) -> None:
        """Commit one epoch (autocommit: a killed process keeps it) and the run's summary."""
        values = [epoch or ev.epoch] + [getattr(ev, k) for k in EPOCH_COLUMNS[1:]]
        values = [None if v is None else float(v) if not isinstance(v, int) else v for v in values]
        self._write(f"INSERT OR REPLACE INTO epochs (run_id, {', '.join(EPOCH_COLUMNS)}) "
                    f"VALUES (?, {', '.join('?' * len(EPOCH_COLUMNS))})", (run_id, *values))
        self._write("UPDATE runs SET best_test_acc = max(coalesce(best_test_acc, 0), ?), "
                    "seconds = ?, confusion = ? WHERE id = ?",
                    (ev.test_acc, ev.elapsed, json.dumps(np.asarray(ev.confusion).tolist()), run_id))

    def set_usage(self, run_id: int, usage, epoch: int) -> None:
        """What the run cost the machine at this epoch's end (a core.machine.Usage)."""
        self._write(f"UPDATE epochs SET {' = ?, '.join(USAGE_COLUMNS)} = ? "
                    "WHERE run_id = ? AND epoch = ?",
                    (*(getattr(usage, k) for k in USAGE_COLUMNS), run_id, epoch))

    def add_predictions(self, run_id: int, ev: EpochEnd, epoch: int | None = None) -> None:
        """Every test sample's predicted class at this epoch, one byte each (10 kB for MNIST),
        and its probability in 1/65535ths (20 kB): what suspect labels are found from."""
        proba = np.asarray(ev.test_proba)
        classes = proba.argmax(axis=1).astype(np.uint8)
        confidence = np.round(proba.max(axis=1).astype(np.float64) * 65535).astype("<u2")
        self._write("INSERT OR REPLACE INTO predictions (run_id, epoch, classes, confidence) "
                    "VALUES (?, ?, ?, ?)",
                    (run_id, epoch or ev.epoch, classes.tobytes(), confidence.tobytes()))

    def set_labels(self, run_id: int, labels: np.ndarray) -> None:
        self._write("INSERT OR REPLACE INTO test_labels (run_id, labels) VALUES (?, ?)",
                    (run_id, np.asarray(labels, dtype=np.uint8).tobytes()))

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

    def set_mark(self, dataset: str, sample: int, mark: str | None) -> None:
        """Mark a sample "label looks wrong" or "model is wrong"; None takes the mark back."""
        if mark is None:
            self._write("DELETE FROM marks WHERE dataset = ? AND sample = ?", (dataset, sample))
            return
        if mark not in MARKS:
            raise ValueError(f"a mark is one of: {', '.join(MARKS)}")
        self._write("INSERT OR REPLACE INTO marks (dataset, sample, mark, marked_at) "
                    "VALUES (?, ?, ?, ?)", (dataset, int(sample), mark, time.time()))

    def add_live_change(self, run_id: int, ev: LiveChanged, epoch: int | None = None) -> None:
        """Record that a live edit took effect at this epoch and batch."""
        self._write("INSERT INTO live_changes (run_id, epoch, batch, name, value) "
                    "VALUES (?, ?, ?, ?, ?)", (run_id, epoch or ev.epoch, ev.batch, ev.name, ev.value))

    def finish_run(self, run_id: int, status: str,
                   checkpoint: str | os.PathLike | None = None) -> None:
        self._write("UPDATE runs SET status = ?, finished_at = ?, "
                    "checkpoint = coalesce(?, checkpoint) WHERE id = ?",
                    (status, time.time(), path_value(checkpoint), run_id))

    def set_checkpoint(self, run_id: int, path: str | os.PathLike) -> None:
        self._write("UPDATE runs SET checkpoint = ? WHERE id = ?", (path_value(path), run_id))

    def delete_run(self, run_id: int) -> bool:
        """Delete a run and its epochs; refused (StoreError) while its process still trains
        it: the run would go on unrecorded."""
        row = self._write("SELECT status, pid, host FROM runs WHERE id = ?", (run_id,)).fetchone()
        if row is not None and row[0] == "running" and (
                row[2] != socket.gethostname() or _alive(row[1])):
            raise StoreError(f"run {run_id} is still training: stop it first, then delete it")
        return self._write("DELETE FROM runs WHERE id = ?", (run_id,)).rowcount > 0

    # --- reading ------------------------------------------------------------------------------

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
            from .forgetting import analyse

            run["forgetting"] = analyse(*stored).counts()
        else:
            run["forgetting"] = None
        run["live_changes"] = [
            {"epoch": _number(c[0], bad, "live change", whole=True),
             "batch": _number(c[1], bad, "live change", whole=True),
             "name": clean_text(c[2]), "value": _number(c[3], bad, "live change")}
            for c in changes]
        return run


def path_value(path: str | os.PathLike | None) -> str | bytes | None:
    """A file path as the history stores it: absolute; text when it is valid UTF-8, else the
    file system's own bytes (`os.fsencode`, a BLOB), so a Latin-1 name like b'r\\xe9sultats'
    is kept exactly instead of failing to bind (sqlite3 refuses a str with surrogates)."""
    if path is None:
        return None
    text = os.path.abspath(os.fspath(path))
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return os.fsencode(text)
    return text


def show_path(value: str | bytes | os.PathLike) -> str:
    """A path as text that any UTF-8 stream can print: bytes that are not UTF-8 (stored or
    surrogate-escaped) become U+FFFD, as `ls` shows them with '?'."""
    raw = value if isinstance(value, bytes) else os.fsencode(value)
    return raw.decode("utf-8", errors="replace")


def clean_text(value) -> str:
    """A string safe to print: control characters (ANSI escapes included) removed."""
    return CONTROL.sub("", value if isinstance(value, str) else str(value))


def _clean_json(value, depth: int = 0):
    if depth > MAX_JSON_DEPTH:
        raise ValueError("nested too deeply")
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, list):
        return [_clean_json(v, depth + 1) for v in value]
    if isinstance(value, dict):
        return {clean_text(k): _clean_json(v, depth + 1) for k, v in value.items()}
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _number(value, damaged: list[str], what: str, whole: bool = False):
    """A finite number (an int if `whole`), or None, noting in `damaged` what was wrong."""
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        if not whole:
            return float(value)
        if float(value).is_integer() and abs(value) < 2**63:
            return int(value)
    if f"bad {what}" not in damaged:
        damaged.append(f"bad {what}")
    return None


def _parse_json(text, damaged: list[str], what: str, kind: type):
    if text is None:
        return None
    try:
        value = _clean_json(json.loads(text)) if isinstance(text, str) else None
    except (ValueError, RecursionError):
        value = None
    if not isinstance(value, kind):
        damaged.append(f"bad {what}")
        return None
    return value


def _confusion(text, damaged: list[str]) -> list[list[int]] | None:
    """A stored 10x10 confusion matrix of ints, or None (noted in `damaged` if it was bad).
    Ints only, so no string to clean: this skips _clean_json's walk, which was most of the
    time of listing 10,000 runs."""
    if text is None:
        return None
    try:
        value = json.loads(text) if isinstance(text, str) else None
    except (ValueError, RecursionError):
        value = None
    if isinstance(value, list) and len(value) == 10 and all(
            type(r) is list and len(r) == 10 for r in value) and all(
            type(v) is int for r in value for v in r):
        return value
    damaged.append("bad confusion matrix")
    return None


def clean_run(row: dict) -> dict:
    """A runs row as the readers use it: values of the wrong type become None (the row notes
    why in "damaged"), strings lose control characters, a dead process's run reads "lost"."""
    bad: list[str] = []
    run = {"id": row["id"], "damaged": bad}
    run["config"] = _parse_json(row["config"], bad, "config", dict) or {}
    if row["config"] is None:
        bad.append("no config")
    for key in ("started_at", "finished_at", "best_test_acc", "seconds"):
        run[key] = _number(row[key], bad, key.replace("_", " "))
    if run["started_at"] is not None and not 0 <= run["started_at"] < 1e11:
        bad.append("bad started at")
        run["started_at"] = None
    status = clean_text(row["status"]) if row["status"] is not None else "?"
    if status == "running" and row.get("host") == socket.gethostname() and row.get("pid") \
            and not _alive(row["pid"]):
        status = "lost"
    run["status"] = status
    checkpoint = row.get("checkpoint")
    run["checkpoint"] = clean_text(show_path(checkpoint)) if isinstance(
        checkpoint, (str, bytes)) and checkpoint else None
    run["confusion"] = _confusion(row.get("confusion"), bad)
    run["study"] = clean_text(row["study"]) if row.get("study") is not None else None
    run["trial"] = row.get("trial") if isinstance(row.get("trial"), int) else None
    run["host"] = clean_text(row["host"]) if isinstance(row.get("host"), str) else None
    return run


def _wal_header(path: Path) -> bool:
    """Whether the database header says WAL mode (bytes 18 and 19 are 2)."""
    try:
        with open(path, "rb") as f:
            head = f.read(20)
    except OSError:
        return False
    return head[:16] == b"SQLite format 3\x00" and head[18:20] == b"\x02\x02"


def _alive(pid) -> bool:
    """Whether process `pid` exists (on this host); a bad pid counts as alive (unknown)."""
    if not isinstance(pid, int) or pid <= 0:
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True
    return True


def _reason(e: sqlite3.Error) -> str:
    text = str(e)
    if "not a database" in text or "malformed" in text:
        return "not a valid SQLite database (corrupt?)"
    if "locked" in text or "busy" in text:
        return "the run history is locked by another process"
    return text


def __getattr__(name: str):
    """`store.Recorder` still works: the class lives in core/recording.py."""
    if name == "Recorder":
        from .recording import Recorder

        return Recorder
    raise AttributeError(name)
