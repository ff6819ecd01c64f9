"""Runs that outlive the terminal (issue 24): a hangup detaches the dashboard, its run trains
on, recorded, and saves its checkpoint; viewers attach to any run that is going (a dashboard's,
`mnist-tui train`'s, a racer's) and steer it; another user cannot."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from mnist_tui.core import host
from mnist_tui.core.remote import RemoteSession

DEADLINE = 60.0


@pytest.fixture(autouse=True)
def _runtime_dir(monkeypatch, tmp_path):
    rt = tmp_path / "rt"
    rt.mkdir(mode=0o755)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(rt))
    return rt


from helpers import db_rows, until  # noqa: E402  (DEADLINE, 60 s, is its default)


def train_process(tiny_dir, db, epochs=200):
    return subprocess.Popen([sys.executable, "-m", "mnist_tui", "train", "--data-dir",
                             str(tiny_dir), "--epochs", str(epochs), "--batch-size", "2",
                             "--hidden", "64", "--db", str(db)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def test_attach_to_mnist_tui_train_and_steer_it_from_the_command_line(tiny_dir, tmp_path):
    db = tmp_path / "h.sqlite"
    proc = train_process(tiny_dir, db)
    try:
        run_id = until(lambda: host.newest_live(db), "the train run to be served")
        viewer = RemoteSession(run_id, db_path=db).start()
        until(lambda: len(viewer.history) >= 2, "epochs to reach the viewer")
        assert viewer.history.weights is not None  # the weights tab has something to show
        listed = subprocess.run([sys.executable, "-m", "mnist_tui", "runs", "list", "--db",
                                 str(db)], capture_output=True, text=True, timeout=30).stdout
        assert f"[live: pid {proc.pid} on" in listed and "1 viewer]" in listed
        paused = subprocess.run([sys.executable, "-m", "mnist_tui", "runs", "pause",
                                 str(run_id), "--db", str(db)], capture_output=True, text=True, timeout=30)
        assert paused.stdout == f"run {run_id}: paused\n", paused
        until(lambda: viewer.state == "paused", "the viewer to hear of the pause")
        viewer.set_live("lr", 0.01)
        viewer.resume()
        until(lambda: viewer.history.live_changes, "the live lr to take effect")
        stopped = subprocess.run([sys.executable, "-m", "mnist_tui", "runs", "stop",
                                  str(run_id), "--json", "--db", str(db)], capture_output=True, text=True, timeout=30)
        assert '"command": "stop"' in stopped.stdout
        assert viewer.wait(DEADLINE) and viewer.state == "stopped"
        assert proc.wait(DEADLINE) == 130  # stopped, as a Ctrl-C stops it
    finally:
        if proc.poll() is None:
            proc.kill()
    assert db_rows(db, "SELECT status FROM runs") == [("stopped",)]
    assert db_rows(db, "SELECT name, value FROM live_changes") == [("lr", 0.01)]
    assert db_rows(db, "SELECT count(*) FROM epochs WHERE rss_mb IS NULL") == [(0,)]
    gone = subprocess.run([sys.executable, "-m", "mnist_tui", "runs", "stop", str(run_id),
                           "--db", str(db)],
                          capture_output=True, text=True, timeout=30)
    assert gone.returncode != 0 and gone.stderr.count("\n") == 1 and "not going" in gone.stderr


def test_attach_to_a_racer(tiny_dir, tmp_path):
    db = tmp_path / "h.sqlite"
    proc = subprocess.Popen([sys.executable, "-m", "mnist_tui", "race", "lr", "0.1,0.01",
                             "--data-dir", str(tiny_dir), "--epochs", "300", "--batch-size", "2",
                             "--hidden", "64", "--db", str(db)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        live = until(lambda: len(host.live_runs(db)) == 2 and host.live_runs(db), "both racers")
        viewer = RemoteSession(min(live), db_path=db).start()
        until(lambda: len(viewer.history) >= 1, "a racer's epoch")
        viewer.stop()
        assert viewer.wait(DEADLINE) and viewer.state == "stopped"
        other = max(live)
        assert host.command(other, "info", db_path=db)["state"] == "training"  # only that racer stopped
        host.command(other, "stop", db_path=db)
        assert proc.wait(DEADLINE) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    assert sorted(db_rows(db, "SELECT status FROM runs")) == [("stopped",), ("stopped",)]


def _as_nobody(run_id: int, db, conn) -> None:
    os.setgid(65534)
    os.setuid(65534)
    try:
        host.command(run_id, "stop", db_path=db)
        conn.send("steered")
    except host.HostError as e:
        conn.send(str(e))
    except Exception as e:  # noqa: BLE001 - reported to the test
        conn.send(f"{type(e).__name__}: {e}")


def test_another_user_can_neither_attach_nor_steer(tiny_dir, tmp_path):
    import multiprocessing

    if os.getuid() != 0:
        pytest.skip("needs root to become another user")
    db = tmp_path / "h.sqlite"
    tmp_path.chmod(0o755)  # so the other user reaches our runtime folder, and is refused there
    proc = train_process(tiny_dir, db)
    try:
        run_id = until(lambda: host.newest_live(db), "the train run to be served")
        ctx = multiprocessing.get_context("fork")
        parent, child = ctx.Pipe()
        p = ctx.Process(target=_as_nobody, args=(run_id, db, child))
        p.start()
        assert parent.poll(DEADLINE)
        answer = parent.recv()
        p.join(DEADLINE)
        assert "permission denied" in answer, answer
        assert host.command(run_id, "info", db_path=db)["state"] == "training"
        host.command(run_id, "stop", db_path=db)
        assert proc.wait(DEADLINE) == 130  # stopped
    finally:
        if proc.poll() is None:
            proc.kill()


def test_a_socket_whose_host_died_is_swept_by_a_lister(tmp_path, _runtime_dir):
    """A socket left behind (its host and its janitor both killed): the next lister removes
    it. (A host killed alone leaves none: its janitor removes it, test_detach_gaps.py.)"""
    import socket

    db = tmp_path / "h.sqlite"
    where = host.folder()
    host.authkey(where)
    stale = host.socket_path(5, where, db)
    with socket.socket(socket.AF_UNIX) as s:
        s.bind(str(stale))  # bound, never listening: a connect is refused, as a dead host's
    assert stale.exists()
    assert host.live_runs(db) == {}
    assert not stale.exists()


HOST_THEN_EXIT = """
import os, sys, time
import numpy as np
from mnist_tui.core import host
from mnist_tui.core.config import TrainConfig
from mnist_tui.core.events import EpochEnd, Finished
from mnist_tui.core.history import RunHistory

class Target:
    config, label, state = TrainConfig(epochs=50), "fake", "training"
    history = RunHistory()
    history.start_run(50, continuing=False)

h = host.Host(Target(), 7, os.getpid())
for e in range(1, 51):  # 50 MNIST-sized epochs: the replay takes a while to send
    h.publish(EpochEnd(e, 50, 0.1, 0.9, 0.1, 0.9, 0.1, 1.0, float(e), np.zeros((10, 10), np.int64),
                       np.random.default_rng(e).random((10000, 10), dtype=np.float32), (0,)))
print("ready", flush=True)
deadline = time.monotonic() + 30
while not h.viewers and time.monotonic() < deadline:
    time.sleep(0.01)
h.publish(Finished(50, 0.9, 50.0, False))
h.close()
os._exit(0)  # as a detached host exits once its runs are over
"""


def test_a_viewer_that_attaches_as_the_run_ends_gets_every_epoch_and_the_outcome(tmp_path):
    script = tmp_path / "host.py"
    script.write_text(HOST_THEN_EXIT)
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline() == "ready\n"
        viewer = RemoteSession(7).start()
        assert viewer.wait(DEADLINE)
        assert viewer.state == "done", viewer.history.outcome
        assert len(viewer.history) == 50
        assert viewer.history.last_epoch.epoch == 50 and viewer.history.last_epoch.test_proba.shape == (10000, 10)
        assert proc.wait(DEADLINE) == 0
    finally:
        if proc.poll() is None:
            proc.kill()


def test_attach_to_a_sweep_trial_and_stop_it(tiny_dir, tmp_path):
    db = tmp_path / "h.sqlite"
    proc = subprocess.Popen([sys.executable, "-m", "mnist_tui", "sweep", "--trials", "1",
                             "--workers", "1", "--epochs", "300", "--data-dir", str(tiny_dir),
                             "--val-split", "100", "--batch-size", "2", "--hidden", "64",
                             # A narrow lr: a trial that diverged at once (lr drawn near 1 at
                             # batch 2) ended before it could be attached to, 1 run in 3.
                             "--lr", "0.01:0.05",
                             "--study", "s", "--storage", f"sqlite:///{tmp_path / 's.db'}",
                             "--db", str(db)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        run_id = until(lambda: host.newest_live(db), "the trial to be served")
        viewer = RemoteSession(run_id, db_path=db).start()
        until(lambda: len(viewer.history) >= 1, "a trial's epoch")
        viewer.stop()
        assert viewer.wait(DEADLINE) and viewer.state == "stopped"
        assert proc.wait(DEADLINE) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    assert db_rows(db, "SELECT status FROM runs") == [("stopped",)]
