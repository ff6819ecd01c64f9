"""A hangup in a real pseudo-terminal (issue 24) detaches the dashboard: its run trains on, records every epoch and saves its checkpoint."""

from __future__ import annotations

import os
import pty
import select
import signal
import sys
import time
import uuid
from pathlib import Path

import pytest
from helpers import db_rows, marked_processes

from mnist_tui.core import host
from mnist_tui.core.remote import RemoteSession

DEADLINE = 60.0


@pytest.fixture(autouse=True)
def _runtime_dir(monkeypatch, tmp_path):
    rt = tmp_path / "rt"
    rt.mkdir(mode=0o755)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(rt))
    return rt


from helpers import until  # noqa: E402  (DEADLINE, 60 s, is its default)


@pytest.fixture
def marker():
    """The mark in the environment of every process of the test's run; whatever of them is
    still alive when the test ends (a failed assertion leaves a detached host waiting on a
    paused run for ever) is killed."""
    mark = uuid.uuid4().hex
    yield mark
    for pid in marked_processes(mark):
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


def host_state(run_id: int, db: Path) -> str | None:
    """The run's state as its host tells it, or None while it has no host yet."""
    try:
        return host.command(run_id, "info", db_path=db)["state"]
    except host.HostError:
        return None


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


@pytest.mark.slow
@pytest.mark.parametrize("how", ["SIGHUP", "D"])
def test_a_hangup_detaches_the_run_which_trains_on_records_every_epoch_and_saves_its_checkpoint(
        tiny_dir, tmp_path, _runtime_dir, how, marker):
    """The real program on a terminal gets SIGHUP mid-run: the run finishes all its epochs, its
    checkpoint is saved and named in the history; a viewer attached after the hangup sees it
    move and pauses it; after the end no process, socket or /dev/shm block is left."""
    db = tmp_path / "h.sqlite"
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
    # Paused first, so the run cannot end before the viewer below attaches, however slow or
    # fast the machine: the viewer resumes it.
    run_id = db_rows(db, "SELECT id FROM runs")[0][0]
    os.write(fd, b"p")
    until(lambda: host_state(run_id, db) == "paused", "the dashboard's p to pause the run",
          poll=drain)
    if how == "D":
        os.write(fd, b"D")  # the key that detaches
        until(lambda: b"detached: run" in out and b"gives the terminal back" in out,
              "the detached note", poll=drain)
    else:
        os.kill(pid, signal.SIGHUP)  # the SSH connection dropped
    os.close(fd)  # and the terminal is gone for good
    viewer = RemoteSession(run_id, db_path=db).start()  # a second dashboard's session, attached mid-run
    seen = recorded()  # all the run has done: it is paused (the viewer's copy may lag)
    viewer.resume()
    until(lambda: len(viewer.history) > seen + 1, "the viewer to see epochs move")
    os.kill(pid, signal.SIGHUP)  # as bash does to its jobs when its terminal closes: again,
    os.kill(pid, signal.SIGCONT)  # then SIGCONT (Textual's handler for it once ended the host)
    viewer.pause()
    until(lambda: host.command(run_id, "info", db_path=db)["state"] == "paused", "the host to pause")
    # Counted in the history the host records (the viewer's own copy may still be catching up
    # with the epochs done before it attached: a full run once saw it grow 12 -> 25 here).
    # What the run did before the pause reached it may still be on its way to the history
    # (a loaded full run once saw 29 become 31 after "paused"): read once nothing has come for
    # half a second (an epoch here takes a tenth of that), then it must stay.
    n, still, end = recorded(), time.monotonic(), time.monotonic() + 30
    while time.monotonic() - still < 0.5:
        assert time.monotonic() < end, "the history never stopped growing"
        time.sleep(0.1)
        if recorded() != n:
            n, still = recorded(), time.monotonic()
    time.sleep(1.0)
    assert recorded() == n  # paused: nothing more is recorded
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
