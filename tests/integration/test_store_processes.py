"""The run history with other processes: a locked database, a killed writer, two writers at once."""

from __future__ import annotations

import multiprocessing
import sqlite3
import subprocess
import sys

import numpy as np
from helpers import readline_within

from mnist_tui.core import train
from mnist_tui.core.config import TrainConfig
from mnist_tui.core.events import EpochEnd
from mnist_tui.core.store import Recorder, Store


def fake_epoch(epoch: int, acc: float = 0.9) -> EpochEnd:
    return EpochEnd(epoch=epoch, epochs=3, train_loss=0.5, train_acc=acc - 0.01, test_loss=0.4,
                    test_acc=acc, lr=0.1, seconds=1.0, elapsed=float(epoch),
                    confusion=np.eye(10, dtype=np.int64), test_proba=np.zeros((1, 10)),
                    sample_indices=(0,))


def _killed_writer(path: str) -> None:
    rec = Recorder(path, TrainConfig())
    rec.epoch(fake_epoch(1))
    rec.epoch(fake_epoch(2))
    import os

    os._exit(1)  # killed mid-run: no finish, no close


def _writer(path: str, n_runs: int) -> None:
    for _ in range(n_runs):
        rec = Recorder(path, TrainConfig())
        for e in range(1, 4):
            assert rec.epoch(fake_epoch(e)), rec.error
        rec.finish("done")


def test_an_interrupted_run_keeps_every_finished_epoch(tmp_path):
    path = str(tmp_path / "h.sqlite")
    p = multiprocessing.get_context("spawn").Process(target=_killed_writer, args=(path,))
    p.start()
    p.join(30)
    assert Store(path, readonly=True).run(1)["status"] == "lost"  # read as lost, not written
    con = sqlite3.connect(path)
    assert con.execute("SELECT status FROM runs").fetchone()[0] == "running"
    con.close()
    run = Store(path).run(1)  # a writer records it
    assert run["epochs"]["epoch"] == [1, 2] and run["status"] == "lost"
    con = sqlite3.connect(path)
    assert con.execute("SELECT status FROM runs").fetchone()[0] == "lost"
    con.close()


def test_two_writers_at_once_lose_nothing(tmp_path):
    path = str(tmp_path / "h.sqlite")
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(path, 15)) for _ in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0, 0]
    runs = Store(path).runs()
    assert len(runs) == 30 and all(r["epochs"] == 3 and r["status"] == "done" for r in runs)
    assert Store(path).db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_a_locked_database_fails_fast_and_training_goes_on(tmp_path, tiny):
    path = tmp_path / "h.sqlite"
    Store(path).close()
    locker = subprocess.Popen(
        [sys.executable, "-c",
         "import sqlite3, sys, time; c = sqlite3.connect(sys.argv[1], isolation_level=None); "
         "c.execute('BEGIN EXCLUSIVE'); print('locked', flush=True); time.sleep(30)", str(path)],
        stdout=subprocess.PIPE, text=True)
    try:
        assert readline_within(locker.stdout).strip() == "locked"
        rec = Recorder(path, TrainConfig(), timeout=0.3)
        events = list(train.train(TrainConfig(hidden=8, epochs=2, batch_size=64), tiny))
        recorded = [rec.epoch(e) for e in events if isinstance(e, EpochEnd)]
        assert len(recorded) == 2 and not any(recorded) and "locked" in rec.error
    finally:
        locker.kill()
        locker.wait(10)
    db = Store(path)
    assert db.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_a_reader_in_the_recording_process_never_costs_the_recorder_its_writes(tmp_path):
    """SQLite's locks are POSIX locks, which a process loses on its file when it closes any
    descriptor of that file. The read-only Store once read the file's header with a plain
    open() and close(): in the dashboard (a Runs tab read while its run recorded) that dropped
    the recorder's lock, the next reader elsewhere took the file for its own, checkpointed and
    deleted the WAL, and every later write of the run went into the deleted file: a detached
    run ended 'running' with 23 of its 40 epochs (seen in the hangup test)."""
    path = str(tmp_path / "h.sqlite")
    rec = Recorder(path, TrainConfig())
    assert rec.epoch(fake_epoch(1))
    with Store(path, readonly=True) as db:  # the dashboard reads its history, same process
        assert db.run(rec.run_id)["status"] == "running"
    # Another process reads and closes: the last connection, as far as it can tell?
    subprocess.run([sys.executable, "-c", "import sqlite3,sys; c = sqlite3.connect(sys.argv[1]); "
                    "c.execute('SELECT count(*) FROM epochs').fetchall(); c.close()", path],
                   check=True, timeout=60)
    viewer = sqlite3.connect(path)  # someone still reading when the run ends
    viewer.execute("SELECT count(*) FROM epochs").fetchall()
    assert rec.epoch(fake_epoch(2))
    rec.finish("done")
    viewer.close()
    con = sqlite3.connect(path)
    try:
        assert con.execute("SELECT status FROM runs").fetchall() == [("done",)]
        assert con.execute("SELECT count(*) FROM epochs").fetchone()[0] == 2
    finally:
        con.close()
