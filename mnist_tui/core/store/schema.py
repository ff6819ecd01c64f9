"""The history database's schema: each version's migration (PRAGMA user_version counts them)
and the columns the readers and the writers name."""

from __future__ import annotations

from ..history import EPOCH_KEYS

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
EPOCH_COLUMNS = (*EPOCH_KEYS, "val_loss", "val_acc", "ece")  # val: NULL for a run without a split
# What an epoch cost the machine (core/machine.py): NULL where it was not sampled.
USAGE_COLUMNS = ("cpu_percent", "rss_mb", "threads", "samples_per_s", "load1", "free_mb")
