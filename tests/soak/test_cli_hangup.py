"""The CLI's `race` and `train` on a real terminal that hangs up (issue 24: "SIGHUP leaves every
run going, detached"), as the dashboard does: the runs train on, record every epoch, save their
checkpoints under the data folder, and the process ends by itself; nothing of them is left."""

from __future__ import annotations

import os
import pty
import select
import signal
import sys
import time
import uuid
from pathlib import Path

import helpers
import pytest
from helpers import db_rows, marked_processes

DEADLINE = 90.0


def until(condition, what: str, seconds: float = DEADLINE, poll=None):
    """helpers.until with this file's deadline."""
    return helpers.until(condition, what, seconds, poll)


@pytest.mark.slow
@pytest.mark.parametrize("command", ["race", "train"])
def test_the_cli_on_a_hangup_trains_on_detached_and_saves_each_checkpoint(tiny_dir, tmp_path,
                                                                          command):
    runtime = Path(os.environ["XDG_RUNTIME_DIR"])
    db = tmp_path / "share" / "mnist-tui" / "runs.sqlite"  # the default history (XDG_DATA_HOME)
    marker = uuid.uuid4().hex
    epochs = 25
    args = ["race", "lr", "0.1,0.01"] if command == "race" else ["train"]
    racers = 2 if command == "race" else 1
    pid, fd = pty.fork()
    if pid == 0:
        os.environ["MNIST_TUI_TEST_MARK"] = marker
        os.execvp(sys.executable, [sys.executable, "-m", "mnist_tui", *args, "--data-dir",
                                   str(tiny_dir), "--epochs", str(epochs), "--batch-size", "2",
                                   "--hidden", "64"])
    out = bytearray()

    def drain() -> None:
        ready, _, _ = select.select([fd], [], [], 0.05)
        if ready:
            try:
                out.extend(os.read(fd, 65536))
            except OSError:
                pass

    def per_run() -> list[int]:
        return [n for (n,) in db_rows(db, "SELECT count(epoch) FROM runs LEFT JOIN epochs ON "
                                          "epochs.run_id = runs.id GROUP BY runs.id")]

    try:
        until(lambda: len(per_run()) == racers and min(per_run()) >= 1, "a first epoch of each",
              poll=drain)
    except AssertionError:
        raise AssertionError(bytes(out[-3000:]).decode(errors="replace")) from None
    at_hangup = per_run()
    os.kill(pid, signal.SIGHUP)  # the SSH connection dropped
    os.close(fd)  # and the terminal is gone for good
    time.sleep(0.2)
    os.kill(pid, signal.SIGHUP)  # as bash does to its jobs when its terminal closes: again,
    os.kill(pid, signal.SIGCONT)  # then SIGCONT
    until(lambda: os.waitpid(pid, os.WNOHANG)[0], "the detached process to end by itself")
    assert max(at_hangup) < epochs, "the run was over before the hangup: the test shows nothing"
    assert db_rows(db, "SELECT status FROM runs") == [("done",)] * racers
    assert per_run() == [epochs] * racers  # every epoch after the hangup recorded
    ckpts = [Path(c) for (c,) in db_rows(db, "SELECT checkpoint FROM runs ORDER BY id")]
    assert [c.name for c in ckpts] == [f"run-{i}.npz" for i in range(1, racers + 1)]
    assert all(c.is_file() and c.parent == db.parent / "checkpoints" for c in ckpts)
    until(lambda: not marked_processes(marker), "every process of the runs to end", 5)
    assert not list((runtime / "mnist-tui").glob("*.sock"))
