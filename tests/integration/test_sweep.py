"""Sweeps with Optuna: the search space's errors, two workers on one storage, resuming."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from mnist_tui.cli import main


def _sweep(tiny_dir, tmp_path, *extra, study="s"):
    return [sys.executable, "-m", "mnist_tui", "sweep", "--data-dir", str(tiny_dir),
            "--db", str(tmp_path / "h.sqlite"), "--storage", f"sqlite:///{tmp_path / 's.db'}",
            "--study", study, "--val-split", "100", "--hidden", "8,16", "--batch-size", "16,32",
            *extra]


@pytest.mark.parametrize("flags, words", [
    (["--lr", "0.5:0.001"], "low end 0.5 is above the high end 0.001"),
    (["--lr=-1:0.1"], "learning rate must be"),
    (["--hidden", ""], "empty"),
    (["--optimizer", "sgd,rmsprop"], "optimizer must be one of"),
    (["--momentum", "0:x"], "not a number range"),
])
def test_a_bad_search_space_is_one_line_and_exit_2(tiny_dir, tmp_path, capsys, flags, words):
    code = main(["sweep", "--data-dir", str(tiny_dir), "--db", str(tmp_path / "h.sqlite"), *flags])
    err = capsys.readouterr().err
    assert code == 2 and words in err and err.count("\n") == 1, err
    assert not (tmp_path / "h.sqlite").exists() and not (tmp_path / "sweeps.sqlite").exists()


def test_a_storage_that_cannot_be_reached_is_one_line(tiny_dir, tmp_path, capsys):
    code = main(["sweep", "--data-dir", str(tiny_dir), "--db", str(tmp_path / "h.sqlite"),
                 "--storage", "sqlite:////nonexistent-dir/x/s.db", "--val-split", "100",
                 "--hidden", "8", "--batch-size", "16"])
    err = capsys.readouterr().err
    assert code == 1 and "cannot open the study storage" in err and err.count("\n") == 1, err


def _trials(tmp_path):
    con = sqlite3.connect(tmp_path / "s.db")
    try:
        return con.execute("SELECT number, state FROM trials ORDER BY number").fetchall()
    except sqlite3.OperationalError:  # the storage is there but Optuna has not made its tables
        return []
    finally:
        con.close()


def _beating(tmp_path) -> bool:
    """A RUNNING trial with a heartbeat recorded."""
    con = sqlite3.connect(tmp_path / "s.db")
    try:
        return bool(con.execute(
            "SELECT 1 FROM trials t JOIN trial_heartbeats h USING (trial_id) "
            "WHERE t.state = 'RUNNING'").fetchall())
    except sqlite3.OperationalError:
        return False
    finally:
        con.close()


def _age_heartbeats(tmp_path, seconds: int = 60) -> None:
    """Date every heartbeat `seconds` back, as if that long had passed since the kill: the
    resume then finds the dead worker's trial stale at once, instead of the test waiting out
    the grace period (core/sweep/storage.py's GRACE, 8 s)."""
    con = sqlite3.connect(tmp_path / "s.db")
    try:
        with con:
            con.execute("UPDATE trial_heartbeats SET heartbeat = datetime('now', ?)",
                        (f"-{seconds} seconds",))
    finally:
        con.close()


def _tagged_runs(tmp_path, study):
    con = sqlite3.connect(tmp_path / "h.sqlite")
    rows = con.execute("SELECT trial, status FROM runs WHERE study = ?", (study,)).fetchall()
    con.close()
    return rows


def test_two_workers_on_one_storage_lose_no_trial_and_run_none_twice(tiny_dir, tmp_path):
    r = subprocess.run(_sweep(tiny_dir, tmp_path, "--trials", "8", "--workers", "2",
                              "--epochs", "3", "--json"),
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    trials = _trials(tmp_path)
    finished = [n for n, state in trials if state in ("COMPLETE", "PRUNED")]
    assert len(finished) >= 8 and len(trials) <= 9  # at most one started as the last ended
    assert len({n for n, _ in trials}) == len(trials)
    runs = _tagged_runs(tmp_path, "s")
    assert sorted(t for t, _ in runs) == sorted(n for n, _ in trials)  # one run per trial
    assert {s for _, s in runs} <= {"done", "pruned", "diverged"}
    assert '"event": "done"' in r.stdout and '"best_val_acc"' in r.stdout


def test_a_killed_sweep_resumes_where_it_stopped(tiny_dir, tmp_path):
    argv = _sweep(tiny_dir, tmp_path, "--trials", "5", "--workers", "1", "--epochs", "40",
                  "--json", study="resume")
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        # Killed once a trial has finished and another has beaten its heart: Optuna never
        # fails a RUNNING trial that has no heartbeat yet (killed between its ask and the
        # heartbeat thread's first beat), and a resume then waits for it for ever (noted).
        if (tmp_path / "s.db").exists() and any(s == "COMPLETE" for _, s in _trials(tmp_path)) \
                and _beating(tmp_path):
            break
        time.sleep(0.3)
    os.killpg(p.pid, signal.SIGKILL)  # the sweep and its worker, with no chance to clean up
    p.wait(10)
    before = _trials(tmp_path)
    assert any(s == "RUNNING" for _, s in before)
    _age_heartbeats(tmp_path)
    r = subprocess.run(argv, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    after = _trials(tmp_path)
    states = [s for _, s in after]
    assert states.count("COMPLETE") + states.count("PRUNED") >= 5
    assert "FAIL" in states  # the killed worker's trial, failed by its stale heartbeat …
    kept = [n for n, s in before if s == "COMPLETE"]
    assert all(dict(after)[n] == "COMPLETE" for n in kept)  # … and nothing finished is redone


def test_two_sweep_commands_join_one_study_as_two_machines_would(tiny_dir, tmp_path):
    argv = _sweep(tiny_dir, tmp_path, "--trials", "6", "--workers", "1", "--epochs", "3",
                  "--json", study="joined")
    procs = [subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [e[-1500:] for _, e in outs]
    trials = _trials(tmp_path)
    assert len({n for n, _ in trials}) == len(trials) >= 6
    assert sum(s in ("COMPLETE", "PRUNED") for _, s in trials) >= 6
    import json

    # Each command reports the one shared study: all its finished trials, whoever ran them.
    for out, _ in outs:
        done = json.loads(out.splitlines()[-1])
        assert done["event"] == "done" and done["complete"] + done["pruned"] >= 6
    runs = _tagged_runs(tmp_path, "joined")
    assert sorted(t for t, _ in runs) == sorted(n for n, _ in trials)
