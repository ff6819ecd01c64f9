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

The parts, each a module of this package: `schema` (the migrations, the columns), `connection`
(opening, checking and migrating the file; `StoreError`), `writes` (what a recording run
writes), `queries` (what the readers read) and `rows` (cleaning what was read). Every name is
here too: `from mnist_tui.core.store import Store, StoreError`.
"""

from __future__ import annotations

from .connection import Connection, StoreError, default_path, make_folder
from .queries import Queries
from .rows import CONTROL, MAX_JSON_DEPTH, clean_run, clean_text, path_value, show_path
from .schema import EPOCH_COLUMNS, MARKS, MIGRATIONS, RUN_COLUMNS, SCHEMA_VERSION, USAGE_COLUMNS
from .writes import Writes

__all__ = ["CONTROL", "EPOCH_COLUMNS", "MARKS", "MAX_JSON_DEPTH", "MIGRATIONS", "RUN_COLUMNS",
           "SCHEMA_VERSION", "Store", "StoreError", "clean_run", "clean_text", "default_path",
           "make_folder", "path_value", "show_path", "USAGE_COLUMNS"]


class Store(Queries, Writes, Connection):
    """One connection to the history database; use one Store per thread."""


def __getattr__(name: str):
    """`store.Recorder` still works: the class lives in core/recording.py."""
    if name == "Recorder":
        from ..recording import Recorder

        return Recorder
    raise AttributeError(name)
