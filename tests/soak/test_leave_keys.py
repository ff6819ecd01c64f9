"""What q and D do, said by the status bar at all times and by the help screen, in a real
terminal (tmux at 80x24): idle, while a run trains, attached to another process's run (where q
leaves the run going, and must not claim to stop it), and on the race screen, whose
leaderboard shows each racer's CPU, memory, threads and speed and the machine's load and free
memory (issue 24)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
import uuid

import pytest

from mnist_tui.core import host

DEADLINE = 60.0
pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux")]


class Tmux:
    """A tmux server of our own (its own socket), windows of 80x24 running mnist-tui."""

    def __init__(self, env: dict[str, str]) -> None:
        self.socket = f"mnist-test-{uuid.uuid4().hex[:12]}"
        self.env = env

    def tmux(self, *args: str) -> str:
        return subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True,
                              text=True, timeout=10).stdout

    def start(self, name: str, *args: str, size=(80, 24)) -> None:
        env = [f"{k}={v}" for k, v in self.env.items() if k.startswith(("XDG_", "MNIST_"))]
        command = " ".join(["env", *env, "TERM=xterm-256color", sys.executable, "-m",
                            "mnist_tui", *args])
        self.tmux("new-session", "-d", "-s", name, "-x", str(size[0]), "-y", str(size[1]),
                  command + "; sleep 30")  # the window stays to be read after the app ends

    def app_pid(self, name: str) -> int:
        """The pid of the mnist-tui process in window `name` (a child of the pane's shell)."""
        import psutil

        shell = int(self.tmux("list-panes", "-t", name, "-F", "#{pane_pid}").split()[0])
        return next(c.pid for c in psutil.Process(shell).children()
                    if "mnist_tui" in " ".join(c.cmdline()))

    def screen(self, name: str) -> list[str]:
        return self.tmux("capture-pane", "-p", "-t", name).splitlines()

    def keys(self, name: str, *keys: str) -> None:
        self.tmux("send-keys", "-t", name, *keys)

    def wait(self, name: str, condition, what: str, seconds: float = DEADLINE) -> list[str]:
        end = time.monotonic() + seconds
        while True:
            lines = self.screen(name)
            if condition(lines):
                return lines
            assert time.monotonic() < end, f"timed out waiting for {what}:\n" + "\n".join(lines)
            time.sleep(0.1)

    def close(self) -> None:
        self.tmux("kill-server")


@pytest.fixture
def tmux():
    t = Tmux(dict(os.environ))
    yield t
    t.close()


def status(lines: list[str]) -> str:
    """The status bar: the line that starts with the run's state in capitals ("" if none)."""
    bars = [line for line in lines if re.match(r" [A-Z]{4,} ", line)]
    return bars[-1] if bars else ""


def help_rows(lines: list[str]) -> dict[str, str]:
    """The help screen's rows, read inside its box: key -> what it does (first occurrence)."""
    rows = {}
    for line in lines:
        parts = line.split("│")
        if len(parts) < 3:
            continue
        m = re.match(r"\s*(\S+)\s{2}(.+?)\s*$", parts[1])
        if m and m.group(1) not in rows:
            rows[m.group(1)] = m.group(2)
    return rows


def app_args(tiny_dir) -> list[str]:
    return ["--data-dir", str(tiny_dir), "--epochs", "1000", "--batch-size", "2", "--hidden", "512",
            "--lr", "0.01"]


def test_the_status_bar_and_help_say_what_q_and_d_do_idle_training_and_attached(tmux, tiny_dir):
    tmux.start("a", *app_args(tiny_dir))
    idle = tmux.wait("a", lambda s: "IDLE" in status(s), "the dashboard")
    assert "q/D: quit" in status(idle), status(idle)
    tmux.keys("a", "s")
    going = tmux.wait("a", lambda s: re.search(r"TRAINING +epoch ([2-9]|\d\d+)/", status(s)),
                      "the run's second epoch")
    bar = status(going)
    assert "q: stop run" in bar and "D: detach" in bar, bar
    tmux.keys("a", "?")
    shown = tmux.wait("a", lambda s: "Everywhere" in "".join(s) or "Dashboard" in "".join(s),
                      "the help screen")
    rows = help_rows(shown)
    assert "stopping the run" in rows["q"] and "trains on" in rows["D"], rows
    tmux.keys("a", "Escape")
    tmux.wait("a", lambda s: "TRAINING" in status(s), "the dashboard again")

    run_id = until_live()
    tmux.start("b", "attach", str(run_id), "--data-dir", str(tiny_dir))
    attached = tmux.wait("b", lambda s: "TRAINING" in status(s), "the attached dashboard")
    bar = status(attached)
    assert "q/D: leave" in bar and "stop" not in bar.split("q/D")[1], bar
    tmux.keys("b", "?")
    shown = tmux.wait("b", lambda s: "Dashboard" in "".join(s), "the attached help screen")
    rows = help_rows(shown)
    assert "leave" in rows["q"].lower() and "stop" not in rows["q"].lower(), rows
    assert "leave" in rows["D"].lower(), rows
    tmux.keys("b", "Escape")
    tmux.wait("b", lambda s: "TRAINING" in status(s), "the attached dashboard again")
    import psutil

    viewer = psutil.Process(tmux.app_pid("b"))
    tmux.keys("b", "q")  # what the status bar said: leaves, the run goes on
    viewer.wait(DEADLINE)  # it left ...
    time.sleep(0.5)  # ... and a moment later the run still trains
    assert host.command(run_id, "info")["state"] == "training"
    assert "TRAINING" in status(tmux.screen("a"))
    tmux.keys("a", "q")
    end = time.monotonic() + DEADLINE
    while host.live_runs() and time.monotonic() < end:
        time.sleep(0.1)
    assert host.live_runs() == {}  # q in the run's own dashboard stopped it, as it said


def until_live() -> int:
    end = time.monotonic() + DEADLINE
    while time.monotonic() < end:
        run_id = host.newest_live()
        if run_id is not None:
            return run_id
        time.sleep(0.1)
    raise AssertionError("no run served")


def test_the_race_screen_shows_each_racers_cost_and_what_q_and_d_do(tmux, tiny_dir):
    tmux.start("a", *app_args(tiny_dir))
    tmux.wait("a", lambda s: "IDLE" in status(s), "the dashboard")
    tmux.keys("a", "r")
    time.sleep(0.5)
    tmux.keys("a", "lr 0.01,0.003", "Enter")

    def figures(lines: list[str]) -> bool:
        rows = [line for line in lines if line.lstrip().startswith("●")]
        return len(rows) == 2 and all(re.search(r"\d+%\s+\d+M\s+\d+\s", r) for r in rows)

    race = tmux.wait("a", figures, "both racers' figures")
    header = next(line for line in race if "racer" in line)
    for word in ("/s", "cpu", "rss", "thr"):
        assert word in header, header
    text = "\n".join(race)
    assert re.search(r"load \d+\.\d+", text) and re.search(r"\d+\.\d+G free", text), text
    keys = next(line for line in race if "D: detach" in line)
    assert "q: stop racers" in keys, keys
    app = tmux.app_pid("a")
    tmux.keys("a", "D")  # detach: the racers go on, as it said
    end = time.monotonic() + DEADLINE
    while len(host.live_runs()) < 2 and time.monotonic() < end:
        time.sleep(0.1)
    live = host.live_runs()
    assert len(live) == 2 and all(i["state"] == "training" for i in live.values()), live
    for run_id in live:
        host.command(run_id, "stop")
    while host.live_runs() and time.monotonic() < end:
        time.sleep(0.1)
    assert host.live_runs() == {}
    # With its racers ended, the detached host ends too (a Textual input thread left reading
    # the /dev/null it was given once spun at 100% CPU and kept the process from exiting).
    import psutil

    try:
        psutil.Process(app).wait(DEADLINE / 4)
    except psutil.TimeoutExpired:
        threads = psutil.Process(app).threads()
        os.kill(app, 9)
        raise AssertionError(f"the detached host is still running: {threads}") from None
