"""Keys in bursts, the way SSH delivers them: several keys in one driver read.

Pilot's `press` waits for the app to go idle after every key, which hides what a burst does.
Here the keys are queued at the driver before the app handles any (headless), or written to a
real pseudo-terminal in one `os.write` (the real program, its CPU read with psutil).
"""

from __future__ import annotations

import asyncio
import fcntl
import itertools
import os
import pty
import select
import struct
import sys
import termios
import threading
import time

import pytest
from helpers import wait_for
from textual import events
from textual.app import _character_to_key
from textual.widgets import Input, TabbedContent
from textual.widgets._footer import FooterKey

from mnist_tui.core.config import TrainConfig
from mnist_tui.ui.app import make_app
from mnist_tui.ui.panes import TABS

KEYS = "1234567890"  # the tab keys, in tab order
IDLE_LIMIT = 8.0  # seconds: a pair after which the app is still busy then is looping (a loaded
# machine took up to 3.9 s to settle, under a load of 23 on 2 cores)


def inject(app, keys) -> None:
    """Queue every key at the driver before the app handles any: one read of a burst."""
    for key in keys:
        char = {"backspace": "\x7f", "enter": "\r", "tab": "\t", "escape": "\x1b",
                "shift+tab": None, "end": None}.get(key, key if len(key) == 1 else None)
        name = _character_to_key(key) if len(key) == 1 and not key.isalnum() else key
        event = events.Key(name, char)
        event.set_sender(app)
        app._driver.send_message(event)


def shown_keys_of_tab(app, tab: str) -> set[str]:
    """The descriptions the footer must show on `tab`: the shown bindings of its pane and of
    the widget the pane focuses, and of what lies between."""
    pane = app.main.query_one(f"#{tab}")
    node = pane.query_one(pane.FOCUS) if pane.FOCUS else pane
    wanted = set()
    while node is not None:
        wanted |= {b.description for bs in node._bindings.key_to_bindings.values() for b in bs
                   if b.show}
        if node is pane:
            break
        node = node.parent
    return wanted


def footer_keys(app) -> set[str]:
    """The descriptions the footer shows (its spare key widgets are hidden, and blank)."""
    return {k.description for k in app.screen.query(FooterKey) if k.display}


def settled_on(app, tab: str, footer: bool = True) -> bool:
    tabbed = app.main.query_one(TabbedContent)
    pane = app.main.query_one(f"#{tab}")
    focused = app.screen.focused
    return (tabbed.active == tab and (focused is None or pane in focused.ancestors_with_self)
            and (pane.FOCUS is None or focused is pane.query_one(pane.FOCUS))
            and (not footer or shown_keys_of_tab(app, tab) <= footer_keys(app)))


async def test_every_pair_of_tab_keys_in_one_burst_ends_on_the_last_tab(tiny, tmp_path):
    """After a run, each of the 100 pairs of tab keys queued at once: the app settles within a
    second on the last key's tab, its content focused, its keys in the footer, and stays there
    (two tab keys in one burst used to re-activate each other's pane for ever)."""
    app = make_app(tiny, config=TrainConfig(hidden=8, epochs=1, batch_size=64),
                   save_dir=tmp_path, db_path=tmp_path / "h.sqlite")
    async with app.run_test(size=(100, 30)) as pilot:
        app.main.action_start()
        await wait_for(pilot, lambda: app.main.state.value == "done", timeout=60)
        tabbed = app.main.query_one(TabbedContent)
        changes = []
        app.main.watch(tabbed, "active", lambda v: changes.append(v), init=False)
        for a, b in itertools.product(KEYS, KEYS):
            tab = TABS[KEYS.index(b)]
            inject(app, [a, b])
            deadline = time.monotonic() + 1.0
            while not settled_on(app, tab, footer=False) and time.monotonic() < deadline:
                await asyncio.sleep(0.02)
            assert settled_on(app, tab, footer=False), (
                f"{a} {b}: on {tabbed.active!r}, focus {app.screen.focused!r}")
            # The footer follows the next full repaint of the tab: on a loaded machine (load
            # 13 on 2 cores) a first look at Weights took 0.8 s; it must come, and stay.
            deadline = time.monotonic() + 5.0
            while not settled_on(app, tab) and time.monotonic() < deadline:
                await asyncio.sleep(0.02)
            assert settled_on(app, tab), (
                f"{a} {b}: on {tabbed.active!r}, focus {app.screen.focused!r}, footer "
                f"{sorted(footer_keys(app))}, wanted {sorted(shown_keys_of_tab(app, tab))}")
            changes.clear()
            await asyncio.sleep(0.05)  # a loop re-activated the panes within milliseconds
            assert not changes and tabbed.active == tab, f"{a} {b}: still switching: {changes}"


def _spawn(args, env, size=(30, 100)):
    pid, fd = pty.fork()
    if pid == 0:
        os.environ.update(env)
        os.execvp(sys.executable, [sys.executable, "-m", "mnist_tui", *args])
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", size[0], size[1], 0, 0))
    return pid, fd


class Drain(threading.Thread):
    """Reads the app's output all the time (a full pty would block the app and hide a loop)."""

    def __init__(self, fd: int) -> None:
        super().__init__(daemon=True)
        self.fd, self.out, self.done = fd, bytearray(), False

    def run(self) -> None:
        while not self.done:
            ready, _, _ = select.select([self.fd], [], [], 0.05)
            if ready:
                try:
                    data = os.read(self.fd, 65536)
                except OSError:
                    return
                if not data:
                    return
                self.out.extend(data)


def _cpu_seconds(proc) -> float:
    """The CPU time of the process's threads, to the nanosecond (Linux's schedstat), where
    /proc/PID/stat counts in 10 ms ticks: a 0.1 s window could not tell 5% from 10%."""
    total = 0
    try:
        tasks = os.listdir(f"/proc/{proc.pid}/task")
    except OSError:
        return sum(proc.cpu_times()[:2])
    for task in tasks:
        try:
            with open(f"/proc/{proc.pid}/task/{task}/schedstat") as f:
                total += int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            pass  # a thread that ended meanwhile
    return total / 1e9


def _cpu_percent(proc, seconds: float) -> float:
    t0, c0 = time.monotonic(), _cpu_seconds(proc)
    time.sleep(seconds)
    return 100 * (_cpu_seconds(proc) - c0) / (time.monotonic() - t0)


@pytest.mark.slow
def test_every_pair_of_tab_keys_in_one_write_leaves_the_real_app_idle(tiny_dir, tmp_path):
    """The real program in a 100x30 pseudo-terminal, after a run: each pair of tab keys in
    one os.write, and one second later the app's CPU is under 5% (it was 50-100% for ever
    after `8 9`, and its memory grew)."""
    import psutil  # a dev dependency (pyproject)
    env = {"TERM": "xterm-256color", "XDG_DATA_HOME": str(tmp_path / "share")}
    pid, fd = _spawn(["--data-dir", str(tiny_dir), "--epochs", "1", "--hidden", "8",
                      "--autostart", "--db", str(tmp_path / "h.sqlite")], env)
    drain = Drain(fd)
    drain.start()
    try:
        proc = psutil.Process(pid)
        deadline = time.monotonic() + 60
        while b"DONE" not in drain.out and time.monotonic() < deadline:
            time.sleep(0.1)
        assert b"DONE" in drain.out, "the run did not finish"
        time.sleep(1.0)
        # Idle, it writes nothing: the usage line was set (to nothing) every second, and each
        # update laid the screen out and repainted it (a busy 0.1 s in ten, bytes over SSH).
        written = len(drain.out)
        time.sleep(2.0)
        assert len(drain.out) == written, f"an idle dashboard wrote {len(drain.out) - written} bytes"
        settle = {}  # pair -> seconds until a 0.1 s window of under 5% CPU ended
        for a, b in itertools.product(KEYS, KEYS):
            t0 = time.monotonic()
            os.write(fd, (a + b).encode())
            while time.monotonic() - t0 < IDLE_LIMIT:
                if _cpu_percent(proc, 0.1) < 5:
                    break
            settle[a + b] = time.monotonic() - t0  # the window just measured it idle
        rss = proc.memory_info().rss
        times = sorted(settle.values())
        print(f"idle after a pair: median {times[50]:.2f} s, 90th {times[90]:.2f} s, max "
              f"{times[-1]:.2f} s ({max(settle, key=settle.get)}); load {os.getloadavg()[0]:.1f}")
        busy = {k: round(v, 2) for k, v in settle.items() if v >= IDLE_LIMIT}
        assert not busy, f"still busy {IDLE_LIMIT} s after these pairs: {busy}"
        # Issue 20: idle within 1 s. Before a tab switch was made cheap (branch h26tabs) this
        # read, at load 0.5: median 0.81 s, p90 1.21 s, max 1.82 s; after it, at load 6.2:
        # median 0.40 s, p90 0.61 s, max 0.80 s, and at load 22 (eleven times the 2 cores):
        # median 0.69 s, p90 1.04 s, max 1.29 s. So 1 s is asserted on a machine that has a
        # core for the app, and under more load the figures are printed only.
        slow = {k: round(v, 2) for k, v in settle.items() if v > 1.0}
        if os.getloadavg()[0] < (os.cpu_count() or 1):
            assert not slow, f"slow to settle: {slow}"
        os.write(fd, b"q")
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            time.sleep(0.1)
        else:
            pytest.fail("q did not quit")
        assert os.waitstatus_to_exitcode(status) == 0
        print(f"app memory after the pairs: {rss / 2**20:.0f} MB")
    finally:
        drain.done = True
        try:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
        os.close(fd)


# --- keys in order, focus moves included -------------------------------------------------


async def _settle(pilot, app, condition, timeout: float = 10.0) -> None:
    """Wait until `condition` holds (the burst taken in), then a moment more: it must stay."""
    await wait_for(pilot, condition, timeout=timeout)
    await pilot.pause(0.2)


async def test_characters_after_a_tab_in_one_burst_land_in_the_next_field(tiny, tmp_path):
    """`f`, clear hidden n, then `64`, Tab, `3` in one burst: hidden n 64, epochs 3 (it gave
    hidden n 643: the 3 went into the field the Tab had just left)."""
    app = make_app(tiny, config=TrainConfig(hidden=8, epochs=1), save_dir=tmp_path,
                   db_path=tmp_path / "h.sqlite")
    async with app.run_test(size=(100, 30)) as pilot:
        inject(app, ["f"])
        hidden = app.main.query_one("#f-hidden", Input)
        await _settle(pilot, app, lambda: app.focused is hidden)
        hidden.value = ""
        inject(app, ["6", "4", "tab", "3"])
        await _settle(pilot, app, lambda: app.main.query_one("#f-epochs", Input).value == "3")
        assert hidden.value == "64"
        assert app.main.query_one("#f-epochs", Input).value == "3"
        assert app.focused is app.main.query_one("#f-epochs", Input)


async def test_a_tab_right_after_f_is_not_lost(tiny, tmp_path):
    """`f` then Tab then `7` in one burst: the cursor is in the second field (epochs) and the
    7 is typed there (the Tab was lost, so later keys landed one field early)."""
    app = make_app(tiny, config=TrainConfig(hidden=8, epochs=1), save_dir=tmp_path,
                   db_path=tmp_path / "h.sqlite")
    async with app.run_test(size=(100, 30)) as pilot:
        inject(app, ["f", "tab", "7"])
        await _settle(pilot, app, lambda: app.main.query_one("#f-epochs", Input).value == "7")
        assert app.focused is app.main.query_one("#f-epochs", Input)
        assert app.main.query_one("#f-epochs", Input).value == "7"
        assert app.main.query_one("#f-hidden", Input).value == "8"


async def test_a_tab_key_then_f_in_one_burst_ends_in_the_form(tiny, tmp_path):
    """`8` then `f` then `5` in one burst: the Runs tab opens, then the form takes the focus
    (a deferred focus into the Runs table must not take it back), and 5 is typed there."""
    app = make_app(tiny, config=TrainConfig(hidden=8, epochs=1), save_dir=tmp_path,
                   db_path=tmp_path / "h.sqlite")
    async with app.run_test(size=(100, 30)) as pilot:
        inject(app, ["8", "f", "5"])
        hidden = app.main.query_one("#f-hidden", Input)
        await _settle(pilot, app, lambda: hidden.value == "5")
        assert app.main.query_one(TabbedContent).active == "train"
        assert app.focused is hidden
        assert hidden.value == "5"


async def test_keys_typed_while_a_run_starts_apply_in_order(tiny, tmp_path):
    """Issue 23's repro: as the run starts, Escape, Tab x4 (to lr), End, Backspace x8, then
    5e-3, all queued at once (the UI was busy starting the run): lr reads 5e-3 (it read 3)."""
    app = make_app(tiny, config=TrainConfig(hidden=64, epochs=40, lr=0.01, batch_size=16),
                   save_dir=tmp_path, db_path=tmp_path / "h.sqlite")
    async with app.run_test(size=(100, 30)) as pilot:
        app.main.action_start()
        inject(app, ["escape", *["tab"] * 4, "end", *["backspace"] * 8, "5", "e", "-", "3"])
        lr = app.main.query_one("#f-lr", Input)
        await wait_for(pilot, lambda: lr.value == "5e-3", timeout=30)
        assert app.focused is lr
        app.main.action_stop()
        await wait_for(pilot, lambda: not app.main.state.going, timeout=20)
