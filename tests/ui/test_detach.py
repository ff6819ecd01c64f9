"""Runs that outlive the terminal (issue 24): a hangup detaches the dashboard, its run trains
on, recorded, and saves its checkpoint; viewers attach to any run that is going (a dashboard's,
`mnist-tui train`'s, a racer's) and steer it; another user cannot."""

from __future__ import annotations

import os
import pty
import select
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from helpers import marked_processes

from mnist_tui.core import host
from mnist_tui.core.remote import RemoteSession

DEADLINE = 60.0


@pytest.fixture(autouse=True)
def _runtime_dir(monkeypatch, tmp_path):
    rt = tmp_path / "rt"
    rt.mkdir(mode=0o755)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(rt))
    return rt


def until(condition, what: str, seconds: float = DEADLINE, poll=None):
    end = time.monotonic() + seconds
    while True:
        value = condition()
        if value:
            return value
        assert time.monotonic() < end, f"timed out waiting for {what}"
        (poll or (lambda: time.sleep(0.05)))()


def db_rows(db: Path, sql: str):
    try:
        with sqlite3.connect(db) as con:
            return con.execute(sql).fetchall()
    except sqlite3.Error:
        return []


def shm_mapped(pids) -> set[str]:
    """The /dev/shm files the processes map (other users of /dev/shm on the machine aside)."""
    found = set()
    for p in pids:
        try:
            with open(f"/proc/{p}/maps") as f:
                found |= {line.split()[-1] for line in f if "/dev/shm/" in line}
        except OSError:
            pass
    return found


@pytest.mark.parametrize("how", ["SIGHUP", "D"])
def test_a_hangup_detaches_the_run_which_trains_on_records_every_epoch_and_saves_its_checkpoint(
        tiny_dir, tmp_path, _runtime_dir, how):
    """The real program on a terminal gets SIGHUP mid-run: the run finishes all its epochs, its
    checkpoint is saved and named in the history; a viewer attached after the hangup sees it
    move and pauses it; after the end no process, socket or /dev/shm block is left."""
    db = tmp_path / "h.sqlite"
    marker = uuid.uuid4().hex
    epochs = 40
    pid, fd = pty.fork()
    if pid == 0:
        os.environ["TERM"] = "xterm-256color"
        os.environ["MNIST_TUI_TEST_MARK"] = marker
        os.execvp(sys.executable, [sys.executable, "-m", "mnist_tui", "--autostart", "--data-dir",
                                   str(tiny_dir), "--epochs", str(epochs), "--batch-size", "2",
                                   "--hidden", "64", "--db", str(db)])
    out = bytearray()

    def drain() -> None:
        ready, _, _ = select.select([fd], [], [], 0.05)
        if ready:
            try:
                out.extend(os.read(fd, 65536))
            except OSError:
                pass

    def recorded() -> int:
        rows = db_rows(db, "SELECT count(*) FROM epochs")
        return rows[0][0] if rows else 0

    try:
        until(lambda: recorded() >= 1, "a first epoch", poll=drain)
    except AssertionError:
        raise AssertionError(bytes(out[-3000:]).decode(errors="replace")) from None
    running = marked_processes(marker)
    assert pid in running and len(running) >= 3  # the app, the fork server, the run
    # The dataset is an anonymous memory file: freed with the last process, never a /dev/shm name.
    assert not shm_mapped(running)
    if how == "D":
        os.write(fd, b"D")  # the key that detaches
        until(lambda: b"detached: run" in out, "the detached note", poll=drain)
    else:
        os.kill(pid, signal.SIGHUP)  # the SSH connection dropped
    os.close(fd)  # and the terminal is gone for good
    run_id = db_rows(db, "SELECT id FROM runs")[0][0]
    viewer = RemoteSession(run_id).start()  # a second dashboard's session, attached mid-run
    seen = len(viewer.history)
    until(lambda: len(viewer.history) > seen + 1, "the viewer to see epochs move")
    os.kill(pid, signal.SIGHUP)  # as bash does to its jobs when its terminal closes: again,
    os.kill(pid, signal.SIGCONT)  # then SIGCONT (Textual's handler for it once ended the host)
    viewer.pause()
    until(lambda: host.command(run_id, "info")["state"] == "paused", "the host to pause")
    n = len(viewer.history)
    time.sleep(1.0)
    assert len(viewer.history) <= n + 1  # paused: at most the epoch under way ends
    viewer.resume()
    assert viewer.wait(DEADLINE), "the detached run did not finish"
    assert viewer.state == "done", viewer.history.outcome
    viewer.close()
    until(lambda: os.waitpid(pid, os.WNOHANG)[0], "the detached host to exit")
    until(lambda: not marked_processes(marker), "every process of the run to end", 5)
    assert db_rows(db, "SELECT status FROM runs") == [("done",)]
    assert db_rows(db, "SELECT count(*) FROM epochs") == [(epochs,)]
    # What it cost the machine, per epoch (psutil): the run's process's memory and threads.
    assert db_rows(db, "SELECT count(*) FROM epochs WHERE rss_mb > 10 AND threads >= 1 "
                   "AND cpu_percent >= 0 AND free_mb > 0") == [(epochs,)]
    (ckpt,), = db_rows(db, "SELECT checkpoint FROM runs")
    assert ckpt == str(tmp_path / "share" / "mnist-tui" / "checkpoints" / f"run-{run_id}.npz")
    assert Path(ckpt).is_file()
    assert not list((_runtime_dir / "mnist-tui").glob("*.sock"))


def train_process(tiny_dir, db, epochs=200):
    return subprocess.Popen([sys.executable, "-m", "mnist_tui", "train", "--data-dir",
                             str(tiny_dir), "--epochs", str(epochs), "--batch-size", "2",
                             "--hidden", "64", "--db", str(db)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def test_attach_to_mnist_tui_train_and_steer_it_from_the_command_line(tiny_dir, tmp_path):
    db = tmp_path / "h.sqlite"
    proc = train_process(tiny_dir, db)
    try:
        run_id = until(lambda: host.newest_live(), "the train run to be served")
        viewer = RemoteSession(run_id).start()
        until(lambda: len(viewer.history) >= 2, "epochs to reach the viewer")
        assert viewer.history.weights is not None  # the weights tab has something to show
        listed = subprocess.run([sys.executable, "-m", "mnist_tui", "runs", "list", "--db",
                                 str(db)], capture_output=True, text=True, timeout=30).stdout
        assert f"[live: pid {proc.pid} on" in listed and "1 viewer]" in listed
        paused = subprocess.run([sys.executable, "-m", "mnist_tui", "runs", "pause",
                                 str(run_id)], capture_output=True, text=True, timeout=30)
        assert paused.stdout == f"run {run_id}: paused\n", paused
        until(lambda: viewer.state == "paused", "the viewer to hear of the pause")
        viewer.set_live("lr", 0.01)
        viewer.resume()
        until(lambda: viewer.history.live_changes, "the live lr to take effect")
        stopped = subprocess.run([sys.executable, "-m", "mnist_tui", "runs", "stop",
                                  str(run_id), "--json"], capture_output=True, text=True, timeout=30)
        assert '"command": "stop"' in stopped.stdout
        assert viewer.wait(DEADLINE) and viewer.state == "stopped"
        assert proc.wait(DEADLINE) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    assert db_rows(db, "SELECT status FROM runs") == [("stopped",)]
    assert db_rows(db, "SELECT name, value FROM live_changes") == [("lr", 0.01)]
    assert db_rows(db, "SELECT count(*) FROM epochs WHERE rss_mb IS NULL") == [(0,)]
    gone = subprocess.run([sys.executable, "-m", "mnist_tui", "runs", "stop", str(run_id)],
                          capture_output=True, text=True, timeout=30)
    assert gone.returncode != 0 and gone.stderr.count("\n") == 1 and "not going" in gone.stderr


def test_attach_to_a_racer(tiny_dir, tmp_path):
    db = tmp_path / "h.sqlite"
    proc = subprocess.Popen([sys.executable, "-m", "mnist_tui", "race", "lr", "0.1,0.01",
                             "--data-dir", str(tiny_dir), "--epochs", "300", "--batch-size", "2",
                             "--hidden", "64", "--db", str(db)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        live = until(lambda: len(host.live_runs()) == 2 and host.live_runs(), "both racers")
        viewer = RemoteSession(min(live)).start()
        until(lambda: len(viewer.history) >= 1, "a racer's epoch")
        viewer.stop()
        assert viewer.wait(DEADLINE) and viewer.state == "stopped"
        other = max(live)
        assert host.command(other, "info")["state"] == "training"  # only that racer stopped
        host.command(other, "stop")
        assert proc.wait(DEADLINE) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    assert sorted(db_rows(db, "SELECT status FROM runs")) == [("stopped",), ("stopped",)]


def _as_nobody(run_id: int, conn) -> None:
    os.setgid(65534)
    os.setuid(65534)
    try:
        host.command(run_id, "stop")
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
        run_id = until(lambda: host.newest_live(), "the train run to be served")
        ctx = multiprocessing.get_context("fork")
        parent, child = ctx.Pipe()
        p = ctx.Process(target=_as_nobody, args=(run_id, child))
        p.start()
        assert parent.poll(DEADLINE)
        answer = parent.recv()
        p.join(DEADLINE)
        assert "permission denied" in answer, answer
        assert host.command(run_id, "info")["state"] == "training"
        host.command(run_id, "stop")
        assert proc.wait(DEADLINE) == 0
    finally:
        if proc.poll() is None:
            proc.kill()


def test_a_socket_whose_host_was_killed_is_swept(tiny_dir, tmp_path, _runtime_dir):
    db = tmp_path / "h.sqlite"
    proc = train_process(tiny_dir, db)
    run_id = until(lambda: host.newest_live(), "the train run to be served")
    proc.kill()
    proc.wait(DEADLINE)
    assert (_runtime_dir / "mnist-tui" / f"run-{run_id}.sock").exists()
    assert host.live_runs() == {}
    assert not (_runtime_dir / "mnist-tui" / f"run-{run_id}.sock").exists()


async def test_an_attached_dashboard_shows_the_run_move_and_steers_it(tiny, tmp_path):
    """A dashboard attached to a run that another session hosts: the curves move, p pauses
    the host's run and resumes it, x stops it; q leaves the run going."""
    from helpers import wait_for

    from mnist_tui.core.config import TrainConfig
    from mnist_tui.core.engine import Engine
    from mnist_tui.core.session import RunSession
    from mnist_tui.ui.app import make_app

    db = tmp_path / "h.sqlite"
    with Engine(tiny) as engine:
        hosted = RunSession(engine, TrainConfig(hidden=64, epochs=500, batch_size=2), db_path=db,
                            progress_interval=0.05).start()
        until(lambda: hosted.host, "the run to be served", 30)
        app = make_app(tiny, db_path=db, attach=RemoteSession(hosted.db_run_id))
        async with app.run_test(size=(100, 30)) as pilot:
            await wait_for(pilot, lambda: len(app.main.history) >= 2, 30)
            seen = len(app.main.history.batch_losses()[0])
            await wait_for(pilot, lambda: len(app.main.history.batch_losses()[0]) > seen, 10)
            assert "attached to run" in app.main.status.note or app.main.status.epoch > 1
            await pilot.press("p")
            await wait_for(pilot, lambda: hosted.state == "paused", 10)
            assert app.main.run_state.value == "paused"
            n = len(hosted.history)
            await pilot.pause(0.8)
            assert len(hosted.history) <= n + 1
            await pilot.press("p")
            await wait_for(pilot, lambda: hosted.state == "training", 10)
            await pilot.press("q")
        assert hosted.going  # the viewer left; the run trains on
        hosted.stop()
        assert hosted.wait(30) and hosted.state == "stopped"


async def test_the_runs_tab_marks_a_live_run_and_enter_follows_it(tiny, tmp_path):
    from helpers import wait_for
    from textual.widgets import DataTable

    from mnist_tui.core.config import TrainConfig
    from mnist_tui.core.engine import Engine
    from mnist_tui.core.session import RunSession
    from mnist_tui.ui.app import make_app

    db = tmp_path / "h.sqlite"
    with Engine(tiny) as engine:
        hosted = RunSession(engine, TrainConfig(hidden=64, epochs=500, batch_size=2), db_path=db,
                            progress_interval=0.05).start()
        until(lambda: hosted.host, "the run to be served", 30)
        app = make_app(tiny, db_path=db)
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.press("8")
            table = app.main.query_one("#runs-table", DataTable)
            await wait_for(pilot, lambda: table.row_count == 1, 10)
            assert str(table.get_cell_at((0, 3))) == "live"
            table.focus()
            await pilot.press("enter")
            await wait_for(pilot, lambda: isinstance(app.main.session, RemoteSession), 10)
            await wait_for(pilot, lambda: len(app.main.history) >= 1, 30)
            await pilot.press("x")  # stops the followed run
            assert hosted.wait(30) and hosted.state == "stopped"
            await pilot.press("q")


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
                             "--study", "s", "--storage", f"sqlite:///{tmp_path / 's.db'}",
                             "--db", str(db)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        run_id = until(lambda: host.newest_live(), "the trial to be served")
        viewer = RemoteSession(run_id).start()
        until(lambda: len(viewer.history) >= 1, "a trial's epoch")
        viewer.stop()
        assert viewer.wait(DEADLINE) and viewer.state == "stopped"
        assert proc.wait(DEADLINE) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    assert db_rows(db, "SELECT status FROM runs") == [("stopped",)]
