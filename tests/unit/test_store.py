"""The run history: schema, migration, corrupt files and deletes (other processes: tests/integration/test_store_processes.py)."""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest
from helpers import wait_for

from mnist_tui.core import store
from mnist_tui.core.config import TrainConfig
from mnist_tui.core.events import EpochEnd
from mnist_tui.core.store import Recorder, Store, StoreError


def fake_epoch(epoch: int, acc: float = 0.9) -> EpochEnd:
    return EpochEnd(epoch=epoch, epochs=3, train_loss=0.5, train_acc=acc - 0.01, test_loss=0.4,
                    test_acc=acc, lr=0.1, seconds=1.0, elapsed=float(epoch),
                    confusion=np.eye(10, dtype=np.int64), test_proba=np.zeros((1, 10)),
                    sample_indices=(0,))


def test_schema_is_created_in_wal_mode(tmp_path):
    db = Store(tmp_path / "h.sqlite")
    assert db.db.execute("PRAGMA user_version").fetchone()[0] == store.SCHEMA_VERSION
    assert db.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    run = db.start_run(TrainConfig())
    for e in (1, 2):
        db.add_epoch(run, fake_epoch(e, acc=0.8 + e / 100))
    db.finish_run(run, "done", "/x/ck.npz")
    got = db.run(run)
    assert got["status"] == "done" and got["checkpoint"] == "/x/ck.npz"
    assert got["epochs"]["epoch"] == [1, 2] and got["best_test_acc"] == pytest.approx(0.82)
    assert got["confusion"] == np.eye(10).tolist() and got["config"]["hidden"] == 128
    assert [r["id"] for r in db.runs()] == [run]
    assert db.delete_run(run) and db.runs() == []
    assert db.db.execute("SELECT count(*) FROM epochs").fetchone()[0] == 0  # cascaded


def test_migration_from_version_1_keeps_the_data(tmp_path):
    path = tmp_path / "old.sqlite"
    old = sqlite3.connect(path)
    old.executescript(store.MIGRATIONS[1])
    old.execute("INSERT INTO runs (started_at, config, status) VALUES (1.0, '{\"hidden\": 7}', 'done')")
    old.execute("INSERT INTO epochs VALUES (1, 1, 0.5, 0.8, 0.4, 0.85, 0.1, 1.0)")
    old.execute("PRAGMA user_version = 1")
    old.commit()
    old.close()
    db = Store(path)
    assert db.db.execute("PRAGMA user_version").fetchone()[0] == store.SCHEMA_VERSION
    run = db.run(1)
    assert run["config"] == {"hidden": 7} and run["epochs"]["test_acc"] == [0.85]
    assert run["checkpoint"] is None


def test_a_newer_schema_is_refused_not_touched(tmp_path):
    path = tmp_path / "new.sqlite"
    con = sqlite3.connect(path)
    con.execute("PRAGMA user_version = 99")
    con.close()
    with pytest.raises(StoreError, match="newer"):
        Store(path)


def test_a_running_run_whose_process_lives_is_still_running(tmp_path):
    path = tmp_path / "h.sqlite"
    rec = Recorder(path, TrainConfig())
    rec.epoch(fake_epoch(1))
    assert Store(path).runs()[0]["status"] == "running"
    rec.finish("done")


def _readers():
    from mnist_tui.cli import main

    return {
        "list": lambda db: main(["runs", "list", "--db", str(db)]),
        "show": lambda db: main(["runs", "show", "1", "--db", str(db)]),
        "export": lambda db: main(["runs", "export", "1", "--db", str(db)]),
        "store": lambda db: Store(db, readonly=True).runs(),
    }


def _v3_history(path):
    con = sqlite3.connect(path)
    for v in (1, 2, 3):
        con.executescript(store.MIGRATIONS[v])
    con.execute("INSERT INTO runs (started_at, config, status) VALUES (1.0, '{\"hidden\": 7}', 'done')")
    con.execute("PRAGMA user_version = 3")
    con.commit()
    con.close()


@pytest.mark.parametrize("kind", ["newer schema", "foreign runs table", "foreign file", "old schema",
                                  "ours, in WAL"])
@pytest.mark.parametrize("reader", ["list", "show", "export", "store"])
def test_reading_never_changes_a_byte(tmp_path, kind, reader, capsys):
    path = tmp_path / "h.sqlite"
    if kind == "ours, in WAL":
        rec = Recorder(path, TrainConfig())
        rec.epoch(fake_epoch(1))
        rec.finish("done")
    elif kind == "old schema":
        _v3_history(path)
    else:
        con = sqlite3.connect(path)
        if kind == "newer schema":
            con.execute("PRAGMA user_version = 99")
        elif kind == "foreign runs table":
            con.execute("CREATE TABLE runs (x TEXT)")
        else:
            con.execute("CREATE TABLE songs (title TEXT)")
        con.commit()
        con.close()
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    try:
        _readers()[reader](path)
    except StoreError:
        pass
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.count("\n") <= 1


def test_reading_a_missing_history_creates_nothing(tmp_path, capsys):
    from mnist_tui.cli import main

    path = tmp_path / "sub" / "none.sqlite"
    assert main(["runs", "list", "--db", str(path)]) == 0
    assert "no runs" in capsys.readouterr().out
    assert main(["runs", "show", "1", "--db", str(path)]) == 1
    assert not (tmp_path / "sub").exists()


def test_an_old_schema_is_read_without_migrating(tmp_path):
    path = tmp_path / "h.sqlite"
    _v3_history(path)
    run = Store(path, readonly=True).run(1)
    assert run["config"] == {"hidden": 7} and run["status"] == "done"
    con = sqlite3.connect(path)
    assert con.execute("PRAGMA user_version").fetchone()[0] == 3
    con.close()


def test_a_read_only_file_in_a_read_only_directory_is_listed(tmp_path, capsys):
    import os

    from mnist_tui.cli import main

    d = tmp_path / "ro"
    d.mkdir()
    rec = Recorder(d / "h.sqlite", TrainConfig())
    rec.epoch(fake_epoch(1))
    rec.finish("done")
    os.chmod(d / "h.sqlite", 0o444)
    os.chmod(d, 0o555)
    try:
        assert main(["runs", "list", "--db", str(d / "h.sqlite")]) == 0
    finally:
        os.chmod(d, 0o755)
    assert "done" in capsys.readouterr().out


DAMAGE = {
    "config not json": "UPDATE runs SET config = 'not json'",
    "config a list": "UPDATE runs SET config = '[1,2]'",
    "config deep": "UPDATE runs SET config = '" + "[" * 5000 + "]" * 5000 + "'",
    "started_at 1e300": "UPDATE runs SET started_at = 1e300",
    "text in numbers": "UPDATE runs SET best_test_acc = 'abc', seconds = 'x'",
    "text in epochs": "UPDATE epochs SET test_acc = 'high', epoch = 'one'",
    "null metrics": "UPDATE epochs SET train_loss = NULL, test_acc = NULL, lr = NULL",
    "bad confusion": "UPDATE runs SET confusion = '[[1,2],[3]]'",
    "ansi in config": "UPDATE runs SET config = '{\"hidden\": \"\u001b[2J\u001b]0;pwned\u0007\", "
                      "\"schedule\": \"\u009b31m\"}', status = 'do\u001b[31mne'",
}


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_a_damaged_row_is_shown_as_damaged_and_the_rest_goes_on(tmp_path, damage, capsys):
    from mnist_tui.cli import main

    path = tmp_path / "h.sqlite"
    for _ in range(2):
        rec = Recorder(path, TrainConfig())
        rec.epoch(fake_epoch(1))
        rec.finish("done")
    con = sqlite3.connect(path)
    con.execute(DAMAGE[damage].replace("'\\u", "'\\u") + " WHERE " +
                ("run_id" if "epochs" in DAMAGE[damage] else "id") + " = 1")
    con.commit()
    con.close()
    capsys.readouterr()
    assert main(["runs", "list", "--db", str(path)]) == 0
    listed = capsys.readouterr().out
    for command in (["runs", "show", "1"], ["runs", "show", "1", "--format", "json"],
                    ["runs", "export", "1"], ["runs", "export", "1", "--format", "json"]):
        assert main([*command, "--db", str(path)]) == 0, command
    out = listed + capsys.readouterr().out
    assert "\x1b" not in out and "\x9b" not in out and "\x07" not in out
    if damage not in ("null metrics", "ansi in config"):
        assert "damaged" in (listed if damage != "text in epochs" else out)
    assert "   2  " in listed  # the healthy run is listed too


def test_a_corrupt_file_is_an_error_and_is_never_overwritten(tmp_path):
    path = tmp_path / "h.sqlite"
    garbage = b"this is not a database" * 100
    path.write_bytes(garbage)
    with pytest.raises(StoreError, match="not a valid SQLite database"):
        Store(path)
    rec = Recorder(path, TrainConfig())
    assert rec.error and not rec.epoch(fake_epoch(1))
    rec.finish("done")
    assert path.read_bytes() == garbage


def test_runs_starting_at_once_on_a_new_history_are_all_recorded(tmp_path):
    """Three racers' recorders opening a history none had made yet: one of them read the schema
    version before the first migration committed and the tables after, took the file for
    someone else's and recorded nothing (1 of 30 fresh histories)."""
    import threading

    errors = []
    for trial in range(30):
        path = tmp_path / f"h{trial}.sqlite"
        recorders = [None] * 3

        def make(i, path=path, recorders=recorders):
            recorders[i] = Recorder(path, TrainConfig(lr=0.1 / (i + 1)))
            if recorders[i].error is None:
                recorders[i].finish("done")  # in its own thread: one Store per thread

        threads = [threading.Thread(target=make, args=(i,)) for i in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        errors += [r.error for r in recorders if r.error]
    assert errors == []


async def finish_run(app, pilot) -> None:
    await pilot.press("s")
    await wait_for(pilot, lambda: app.main.state in ("done", "stopped", "diverged", "error"))


def test_the_store_refuses_to_delete_a_run_whose_process_is_alive(tmp_path):
    from mnist_tui.core.store import StoreError

    s = Store(tmp_path / "h.sqlite")
    rid = s.start_run(TrainConfig())  # this process: alive
    with pytest.raises(StoreError, match="training"):
        s.delete_run(rid)
    assert [r["id"] for r in s.runs()] == [rid]
    s.finish_run(rid, "stopped")
    assert s.delete_run(rid) and s.runs() == []
    s.close()
