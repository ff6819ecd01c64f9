"""What the dashboard costs in training speed: the app in Pilot, and the real program in a pty.

Both record each epoch's seconds as the run's history does (the child process measures them),
so they compare directly with a headless run of the same config in this process.
"""

from __future__ import annotations

import asyncio
import fcntl
import json
import os
import pty
import select
import signal
import sqlite3
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time
from dataclasses import asdict

from ..core.config import TrainConfig
from ..core.data import Dataset
from .speed import headless_epochs

UI_SIZES = ((100, 30), (160, 50))


def with_ui(config: TrainConfig, ds: Dataset, data_dir: str | None, rounds: int,
            terminal: bool) -> list[dict]:
    """Per terminal size: headless epoch seconds (`mnist-tui train` in its own process, or in
    this process with `terminal` off), then the app's (Pilot), then the real program in a pty,
    back to back, `rounds` times. Cost = 1 - headless / with the app (medians)."""
    rows = []
    for size in UI_SIZES:
        row: dict = {"size": f"{size[0]}x{size[1]}", "headless": [], "pilot": [], "terminal": []}
        for _ in range(rounds):
            row["headless"].append(statistics.median(
                cli_epoch_seconds(config, data_dir) if terminal else headless_epochs(config, ds)[0]))
            row["pilot"].append(statistics.median(ui_epoch_seconds(config, ds, size)))
            if terminal:
                row["terminal"].append(statistics.median(
                    terminal_epoch_seconds(config, data_dir, size)))
        for kind in ("pilot", "terminal"):
            if row[kind]:
                row[f"{kind}_cost"] = statistics.median(
                    1 - h / u for h, u in zip(row["headless"], row[kind], strict=False))
        rows.append(row)
    return rows


def ui_epoch_seconds(config: TrainConfig, ds: Dataset, size: tuple[int, int] = (100, 30)) -> list[float]:
    """Train with the app open (Textual's headless driver, every pane mounted, the Train tab
    shown) and return each epoch's seconds, as the app's run history recorded them."""
    from ..ui.app import make_app

    async def run() -> list[float]:
        with tempfile.TemporaryDirectory() as tmp:
            app = make_app(ds, config=config, autostart=True, db_path=os.path.join(tmp, "h.sqlite"))
            async with app.run_test(size=size) as pilot:
                await pilot.pause(0.5)
                while app.main.state in ("idle", "training"):
                    await pilot.pause(0.5)
                return list(app.main.history["seconds"])

    return asyncio.run(run())


def start_to_first_batch(config: TrainConfig, ds: Dataset, starts: int = 3) -> list[float]:
    """Seconds from Start (the app's start action) to the first batch's progress reaching the
    app, for `starts` runs in a row (the first one may wait for the fork server to come up)."""
    from ..ui.app import make_app

    async def run() -> list[float]:
        times = []
        with tempfile.TemporaryDirectory() as tmp:
            app = make_app(ds, config=config, db_path=os.path.join(tmp, "h.sqlite"))
            async with app.run_test(size=(100, 30)) as pilot:
                await pilot.pause(1.0)  # the app is up, as when a user reaches for s
                for _ in range(starts):
                    t0 = time.perf_counter()
                    app.main.action_start()
                    while app.main.history.progress is None:
                        await asyncio.sleep(0.002)
                    times.append(time.perf_counter() - t0)
                    app.main.action_stop()
                    while app.main.state == "training":
                        await pilot.pause(0.05)
        return times

    return asyncio.run(run())


def terminal_epoch_seconds(config: TrainConfig, data_dir: str | None,
                           size: tuple[int, int] = (100, 30), timeout: float = 600) -> list[float]:
    """Run the real program in a pseudo-terminal of `size` (columns, rows), as a user would,
    and return the epoch seconds its run history recorded. Raises RuntimeError on failure."""
    with tempfile.TemporaryDirectory() as tmp:
        db = os.path.join(tmp, "h.sqlite")
        argv = [sys.executable, "-m", "mnist_tui", "--autostart", "--db", db, *_config_flags(config)]
        if data_dir:
            argv += ["--data-dir", data_dir]
        pid, fd = pty.fork()
        if pid == 0:
            os.environ.update(TERM="xterm-256color", COLORTERM="truecolor")
            os.execvp(argv[0], argv)
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", size[1], size[0], 0, 0))
        os.kill(pid, signal.SIGWINCH)
        deadline = time.monotonic() + timeout
        reaped = False
        try:
            while time.monotonic() < deadline:
                ready, _, _ = select.select([fd], [], [], 0.2)  # a terminal reads what we draw
                if ready:
                    try:
                        os.read(fd, 1 << 16)
                    except OSError:
                        break
                if _run_status(db) not in (None, "running"):
                    break
            os.write(fd, b"q")
            end = time.monotonic() + 5
            while time.monotonic() < end and not reaped:
                reaped = os.waitpid(pid, os.WNOHANG) != (0, 0)
                if select.select([fd], [], [], 0.1)[0]:
                    try:
                        os.read(fd, 1 << 16)
                    except OSError:
                        pass
        finally:
            if not reaped:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            os.close(fd)
        with sqlite3.connect(db) as con:
            rows = con.execute("SELECT seconds FROM epochs ORDER BY epoch").fetchall()
        if len(rows) < config.epochs:
            raise RuntimeError(f"the app in the terminal recorded {len(rows)} of {config.epochs} epochs")
        return [r[0] for r in rows]


def _config_flags(config: TrainConfig) -> list[str]:
    return [a for k, v in asdict(config).items() for a in (f"--{k.replace('_', '-')}", str(v))]


def cli_epoch_seconds(config: TrainConfig, data_dir: str | None) -> list[float]:
    """`mnist-tui train --json` with this config, in a fresh process, as a user would run it:
    the epoch seconds it reports."""
    with tempfile.TemporaryDirectory() as tmp:
        argv = [sys.executable, "-m", "mnist_tui", "train", "--json",
                "--db", os.path.join(tmp, "h.sqlite"), *_config_flags(config)]
        if data_dir:
            argv += ["--data-dir", data_dir]
        out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    return [json.loads(line)["seconds"] for line in out.splitlines()
            if line.startswith("{") and json.loads(line).get("event") == "epoch"]


def _run_status(db: str) -> str | None:
    try:
        with sqlite3.connect(db, timeout=0.1) as con:
            row = con.execute("SELECT status FROM runs ORDER BY id DESC LIMIT 1").fetchone()
    except sqlite3.Error:
        return None
    return row[0] if row else None
