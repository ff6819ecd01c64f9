"""Faults and long runs (see docs/HARDENING.md for the whole table and where each case is tested)."""

from __future__ import annotations

import os
import pty
import select
import signal
import sqlite3
import sys
import threading
import time

import numpy as np
import pytest
from helpers import start_and_wait_for_an_epoch, wait_for
from textual import events
from textual.widgets import Input

from mnist_tui.app import make_app
from mnist_tui.core import checkpoint, data, train
from mnist_tui.core.data import Dataset
from mnist_tui.core.model import Perceptron
from mnist_tui.core.train import TrainConfig
from mnist_tui.widgets.metric_chart import MetricChart

LONG = TrainConfig(hidden=64, epochs=1000, batch_size=2, lr=0.001)




# --- signals: an SSH drop or a kill while training, in a real pseudo-terminal -----------------


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_signal_during_training_exits_restores_the_terminal_and_keeps_the_history(tiny_dir, tmp_path, sig):
    db = tmp_path / "h.sqlite"
    pid, fd = pty.fork()
    if pid == 0:  # the child: the real program on a terminal
        os.environ["TERM"] = "xterm-256color"
        os.execvp(sys.executable, [sys.executable, "-m", "mnist_tui", "--autostart", "--data-dir",
                                   str(tiny_dir), "--epochs", "1000", "--batch-size", "2",
                                   "--hidden", "64", "--db", str(db)])
    out = bytearray()

    def drain(seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            ready, _, _ = select.select([fd], [], [], 0.05)
            if ready:
                try:
                    out.extend(os.read(fd, 65536))
                except OSError:
                    return

    def epochs_recorded() -> int:
        try:
            with sqlite3.connect(db) as con:
                return con.execute("SELECT count(*) FROM epochs").fetchone()[0]
        except sqlite3.Error:
            return 0

    deadline = time.monotonic() + 60
    while epochs_recorded() < 1:
        assert time.monotonic() < deadline, out[-2000:]
        drain(0.2)
    t0 = time.monotonic()
    os.kill(pid, sig)
    while True:
        drain(0.05)
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() - t0 > 10:
            os.kill(pid, signal.SIGKILL)
            pytest.fail("the app did not exit within 10 s of the signal")
    os.close(fd)
    assert os.waitstatus_to_exitcode(status) == 128 + sig
    tail = bytes(out[-4000:])
    assert b"\x1b[?1049l" in tail  # left the alternate screen
    assert b"\x1b[?25h" in tail  # cursor shown again
    with sqlite3.connect(db) as con:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert con.execute("SELECT status FROM runs").fetchall() == [("stopped",)]


# --- the UI under stress --------------------------------------------------------------------


async def test_resize_to_20x8_and_back_during_training(tiny):
    app = make_app(tiny, config=LONG, progress_interval=0.05)
    async with app.run_test(size=(80, 24)) as pilot:
        await start_and_wait_for_an_epoch(app, pilot)
        for tab in ("1", "2", "5", "6", "7"):
            await pilot.press(tab)
            await pilot.resize_terminal(20, 8)
            await pilot.pause(0.1)
            await pilot.resize_terminal(80, 24)
            await pilot.pause(0.1)
        n = len(app.history["epoch"])
        await wait_for(pilot, lambda: len(app.history["epoch"]) > n)
        assert app.state == "training" and app.is_running
        await pilot.press("x")
        await wait_for(pilot, lambda: app.state == "stopped")


async def test_fifty_start_stop_cycles_leave_no_threads_behind(tiny):
    app = make_app(tiny, config=LONG, progress_interval=0.05)
    async with app.run_test(size=(80, 24)) as pilot:
        app.action_start()
        await wait_for(pilot, lambda: app.state == "training")
        app.action_stop()
        await wait_for(pilot, lambda: app.state == "stopped" and app.worker_done.is_set())
        baseline = threading.active_count()
        for _ in range(50):
            app.action_start()
            await wait_for(pilot, lambda: app.state == "training")
            app.action_stop()
            await wait_for(pilot, lambda: app.state == "stopped" and app.worker_done.is_set())
        await pilot.pause(0.2)
        assert threading.active_count() <= baseline
        assert app.run_id == 51


async def test_pasting_10000_characters_into_a_field_is_refused_inline(tiny):
    app = make_app(tiny, config=LONG)
    async with app.run_test(size=(80, 24)) as pilot:
        field = app.query_one("#f-hidden", Input)
        field.focus()
        field.value = ""
        await pilot.pause()
        field.post_message(events.Paste("7" * 10_000))
        await pilot.pause()
        assert len(field.value) <= 200  # cut to the field's cap, not dropped silently
        assert "✗" in str(app.query_one("#m-hidden").render())
        assert "too long" in app.form.errors["hidden"]
        await pilot.press("escape", "s")
        assert app.state == "idle"


async def test_app_refuses_a_run_that_does_not_fit_in_memory(tiny, monkeypatch):
    monkeypatch.setattr(train, "available_memory_bytes", lambda: 10 * 2**20)
    app = make_app(tiny, config=TrainConfig(hidden=4096, batch_size=600, epochs=1))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("s")
        await pilot.pause()
        assert app.state == "idle" and app.run_id == 0


def _rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


async def test_soak_300_epochs_with_the_ui_memory_and_redraw_stay_bounded():
    real = data.load_dir(data.PACKAGE_DATA_DIR)
    subset = Dataset(real.train_images[:2000], real.train_labels[:2000],
                     real.test_images[:2000], real.test_labels[:2000])
    app = make_app(subset, config=TrainConfig(hidden=16, epochs=300, batch_size=64), progress_interval=0.05)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("s")
        await wait_for(pilot, lambda: len(app.history["epoch"]) >= 30, timeout=120)
        warm = _rss_bytes()
        await wait_for(pilot, lambda: app.state == "done", timeout=300)
        grown = _rss_bytes() - warm
        chart = app.query_one("#loss-chart", MetricChart)
        chart.dirty = True
        t0 = time.perf_counter()
        chart.replot()
        chart.plot._plot.build()
        redraw = time.perf_counter() - t0
        print(f"soak: RSS grew {grown / 2**20:.1f} MiB after warm-up; a loss-chart redraw with "
              f"{sum(len(v.xs) for v in chart.series.values())} stored points took {1e3 * redraw:.1f} ms")
        assert app.history["epoch"][-1] == 300
        assert grown < 10 * 2**20
        # Redraw cost follows the points plotted, which downsampling caps at ~2 per column per
        # series however long the run (the time itself is printed above, not asserted).
        stored = sum(len(v.xs) for v in chart.series.values())
        assert stored > 600 and chart.plotted_points <= 2 * chart.plot.size.width * len(chart.series)


# --- files ----------------------------------------------------------------------------------


def test_a_read_only_data_directory_loads_without_writing(tiny_dir, monkeypatch):
    """Loading only reads: every way of writing is made to fail, and the load still works."""
    def refuse(*args, **kwargs):
        raise PermissionError("read-only")

    monkeypatch.setattr("tempfile.mkstemp", refuse)
    monkeypatch.setattr(os, "replace", refuse)
    real_open = open

    def read_only_open(path, mode="r", *args, **kwargs):
        if any(c in mode for c in "wax+") and str(tiny_dir) in str(path):
            raise PermissionError(f"read-only: {path}")
        return real_open(path, mode, *args, **kwargs)

    monkeypatch.setattr("builtins.open", read_only_open)
    ds = data.load(tiny_dir)
    assert ds.n_train == 600


def test_a_checkpoint_that_cannot_be_written_is_an_error_and_leaves_nothing(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("a file, not a directory")
    with pytest.raises(checkpoint.CheckpointError, match="cannot write"):
        checkpoint.save(blocker / "run.npz", Perceptron(4), TrainConfig(hidden=4), {})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


def test_saving_over_a_checkpoint_replaces_it_whole(tmp_path):
    path = tmp_path / "run.npz"
    checkpoint.save(path, Perceptron(4, seed=1), TrainConfig(hidden=4), {})
    checkpoint.save(path, Perceptron(8, seed=2), TrainConfig(hidden=8), {})
    model, config, _ = checkpoint.load(path)
    assert config.hidden == 8 and model.W1.shape == (784, 8)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.npz"]
    np.testing.assert_array_equal(model.W1, Perceptron(8, seed=2).W1)
