"""Gaps a fresh user found in issue 24: what `runs show` tells of a run's cost to the machine,
what `mnist-tui train` says when `runs stop` ended it, sockets that outlive a `kill -9`, two
histories with the same run id, and the CLI's race on a hangup."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import helpers
from helpers import db_rows

from mnist_tui.core import host

DEADLINE = 60.0
CLI = [sys.executable, "-m", "mnist_tui"]


def until(condition, what: str, seconds: float = DEADLINE):
    """helpers.until with this file's deadline."""
    return helpers.until(condition, what, seconds)


def cli(*args: str, timeout: float = DEADLINE) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=timeout)


def train(tiny_dir, *extra: str, epochs: int = 300, **popen) -> subprocess.Popen:
    popen.setdefault("stdout", subprocess.DEVNULL)
    popen.setdefault("stderr", subprocess.PIPE)
    return subprocess.Popen([*CLI, "train", "--data-dir", str(tiny_dir), "--epochs", str(epochs),
                             "--batch-size", "2", "--hidden", "64", *extra], **popen)


def test_runs_show_prints_what_each_epoch_cost_the_machine(tiny_dir):
    done = cli("train", "--data-dir", str(tiny_dir), "--epochs", "2", "--hidden", "16")
    assert done.returncode == 0, done.stderr
    shown = cli("runs", "show", "1")
    assert shown.returncode == 0, shown.stderr
    header = next(line for line in shown.stdout.splitlines() if line.startswith("epoch "))
    for word in ("cpu %", "rss MB", "threads", "samples/s", "load", "free MB"):
        assert word in header, header
    rows = [line.split() for line in shown.stdout.splitlines()[shown.stdout.splitlines().index(header) + 1:][:2]]
    assert [r[0] for r in rows] == ["1", "2"]
    assert all("--" not in r for r in rows), rows  # every figure was recorded
    as_json = json.loads(cli("runs", "show", "1", "--format", "json").stdout)
    for key in ("cpu_percent", "rss_mb", "threads", "samples_per_s", "load1", "free_mb"):
        values = as_json["epochs"][key]
        assert len(values) == 2 and all(v is not None and v >= 0 for v in values), (key, values)
    assert all(v > 0 for v in as_json["epochs"]["samples_per_s"])
    assert all(v > 10 for v in as_json["epochs"]["rss_mb"])


def test_train_stopped_by_runs_stop_says_stopped_and_exits_as_a_stop(tiny_dir):
    db = Path(os.environ["XDG_DATA_HOME"]) / "mnist-tui" / "runs.sqlite"
    for fmt in ("text", "json"):
        proc = train(tiny_dir, "--format", fmt, stdout=subprocess.PIPE, text=True)
        try:
            run_id = until(lambda: host.newest_live(), "the train run to be served")
            until(lambda rid=run_id: db_rows(db, f"SELECT 1 FROM epochs WHERE run_id = {rid}"),
                  "an epoch")
            stopped = cli("runs", "stop", str(run_id))
            assert stopped.returncode == 0, stopped.stderr
            out, err = proc.communicate(timeout=DEADLINE)
        finally:
            if proc.poll() is None:
                proc.kill()
        assert proc.returncode == 130, (fmt, out, err)
        if fmt == "text":
            last = out.splitlines()[-1]
            assert last.startswith("stopped (mnist-tui runs stop, or a viewer): test accuracy "), out
            assert "done" not in last
        else:
            end = json.loads(out.splitlines()[-1])
            assert end["event"] == "stopped" and end["run_id"] == run_id, end
            assert end["epochs"] >= 1


def sockets() -> list[str]:
    where = Path(os.environ["XDG_RUNTIME_DIR"]) / "mnist-tui"
    return sorted(p.name for p in where.glob("*.sock")) if where.exists() else []


def test_kill_9_of_a_train_host_leaves_no_socket_within_5_s(tiny_dir):
    proc = train(tiny_dir)
    try:
        until(lambda: host.newest_live(), "the train run to be served")
        assert len(sockets()) == 1
        proc.kill()  # SIGKILL: the host cannot clean up after itself
        proc.wait(DEADLINE)
        end = time.monotonic() + 5.0  # no lister runs meanwhile: nothing sweeps it but its helper
        while sockets() and time.monotonic() < end:
            time.sleep(0.05)
        assert sockets() == [], "the killed host's socket is still there after 5 s"
    finally:
        if proc.poll() is None:
            proc.kill()


def test_kill_9_of_a_race_host_leaves_no_socket_within_5_s(tiny_dir):
    proc = subprocess.Popen([*CLI, "race", "lr", "0.1,0.01", "--data-dir", str(tiny_dir),
                             "--epochs", "300", "--batch-size", "2", "--hidden", "64"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        until(lambda: len(host.live_runs()) == 2, "both racers to be served")
        assert len(sockets()) == 2
        proc.kill()
        proc.wait(DEADLINE)
        end = time.monotonic() + 5.0
        while sockets() and time.monotonic() < end:
            time.sleep(0.05)
        assert sockets() == [], "the killed race's sockets are still there after 5 s"
    finally:
        if proc.poll() is None:
            proc.kill()


def test_two_histories_each_with_a_run_1_are_served_apart(tiny_dir, tmp_path):
    a, b = tmp_path / "a.sqlite", tmp_path / "b.sqlite"
    pa = train(tiny_dir, "--db", str(a))
    until(lambda: db_rows(a, "SELECT 1 FROM epochs"), "history a's first epoch")
    pb = train(tiny_dir, "--db", str(b))
    try:
        until(lambda: db_rows(b, "SELECT 1 FROM epochs"), "history b's first epoch")
        until(lambda: len(sockets()) == 2, "two sockets, one per history")
        for db, proc in ((a, pa), (b, pb)):
            listed = cli("runs", "list", "--db", str(db))
            assert f"[live: pid {proc.pid} on" in listed.stdout, (db.name, listed)
            as_json = json.loads(cli("runs", "list", "--db", str(db), "--json").stdout)
            assert as_json[0]["id"] == 1 and as_json[0]["live"]["pid"] == proc.pid
        from mnist_tui.core.remote import RemoteSession

        viewer = RemoteSession(1, db_path=a)
        assert viewer.info["pid"] == pa.pid
        viewer.close()
        stopped = cli("runs", "stop", "1", "--db", str(b))
        assert stopped.returncode == 0, stopped.stderr
        assert pb.wait(DEADLINE) == 130
        assert pa.poll() is None  # history a's run 1 trains on
        assert host.command(1, "info", db_path=a)["pid"] == pa.pid
        assert cli("runs", "stop", "1", "--db", str(a)).returncode == 0
        assert pa.wait(DEADLINE) == 130
    finally:
        for p in (pa, pb):
            if p.poll() is None:
                p.kill()
    assert db_rows(a, "SELECT status FROM runs") == [("stopped",)]
    assert db_rows(b, "SELECT status FROM runs") == [("stopped",)]


def test_train_paused_and_resumed_from_elsewhere_says_so(tiny_dir):
    """A fresh user's check: `runs pause` froze `mnist-tui train`'s progress with no word of
    why. Its stderr (here not a terminal: a line; on a terminal, the progress line) says so."""
    proc = train(tiny_dir, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        run_id = until(lambda: host.newest_live(), "the train run to be served")
        assert cli("runs", "pause", str(run_id)).returncode == 0
        assert cli("runs", "resume", str(run_id)).returncode == 0
        assert cli("runs", "stop", str(run_id)).returncode == 0
        out, err = proc.communicate(timeout=DEADLINE)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert f"run {run_id} paused from elsewhere: 'mnist-tui runs resume {run_id}' goes on" in err, err
    assert f"run {run_id} resumed" in err, err
