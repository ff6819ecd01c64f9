"""Opening the history database: for recording (WAL mode, a busy timeout, the schema checked
then migrated forward, a dead process's runs marked lost) or for reading (`mode=ro`, no byte
changed, a missing file an empty history); and `_write`, every statement's one way in, which
turns SQLite's errors into one StoreError line."""

from __future__ import annotations

import os
import socket
import sqlite3
import time
import urllib.parse
from pathlib import Path

from .schema import EPOCH_COLUMNS, MIGRATIONS, RUN_COLUMNS, SCHEMA_VERSION


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


class Connection:
    """One connection to the history database, opened and checked (the base of `Store`)."""

    def __init__(self, path: str | os.PathLike | None = None, timeout: float = 5.0,
                 readonly: bool = False):
        self.path = Path(path) if path else default_path()
        self.readonly = readonly
        self._writing: str | None = None  # the key this connection counts under in _WRITING
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
        self._writing = _key(self.path)
        _WRITING[self._writing] = _WRITING.get(self._writing, 0) + 1
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
                self.close()
                raise StoreError(f"{self.path}: {_reason(e)}; the file was left as it is") from None
            except sqlite3.DatabaseError as e:
                self.close()
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
        # The header is read only when no connection can be open: SQLite's locks are POSIX
        # locks, which a process drops on a file when it closes *any* descriptor of it. A
        # plain open() and close() while this process records a run dropped the recorder's
        # lock; another process then deleted the WAL as its last user, and every later write
        # of the run was lost (tests/integration/test_store_processes.py). A WAL database
        # with a connection open anywhere has its -wal file.
        if (not os.path.exists(f"{self.path}-wal") and not _WRITING.get(_key(self.path))
                and _wal_header(self.path)):
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
        if self._writing is not None:
            _WRITING[self._writing] -= 1
            if not _WRITING[self._writing]:
                del _WRITING[self._writing]
            self._writing = None

    def __enter__(self) -> Connection:
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


_WRITING: dict[str, int] = {}
"""Writable connections open in this process, by database file (see `_open_readonly`)."""


def _key(path: Path) -> str:
    try:
        return os.fsdecode(path.resolve())
    except (OSError, RuntimeError):
        return os.fsdecode(os.path.abspath(path))


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
