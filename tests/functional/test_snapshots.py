"""SVG snapshots of a finished seeded run. Update with `pytest --snapshot-update` and look at them."""

from __future__ import annotations

import time

import pytest

from mnist_tui.core.config import TrainConfig
from mnist_tui.ui.app import make_app

CONFIG = TrainConfig(hidden=16, epochs=4, batch_size=32, lr=0.05)
WEAK = TrainConfig(hidden=4, epochs=1, batch_size=64, lr=0.01)  # leaves mistakes to browse


def finished_app(tiny, config=CONFIG):
    # One progress report per epoch (its first batch), so the running-loss curve is the same
    # every time; timing figures in the status bar are fixed after the run for the same reason.
    return make_app(tiny, config=config, progress_interval=1e9)


def run_then(*keys):
    async def run_before(pilot):
        app = pilot.app
        await pilot.press("s")
        deadline = time.monotonic() + 30
        while app.main.state != "done":
            assert time.monotonic() < deadline
            await pilot.pause(0.02)
        app.main.freeze_timings(epoch_seconds=0.5, rate=12345.0, elapsed=3.0)
        for key in keys:
            await pilot.press(key)
        await pilot.pause(0.3)

    return run_before


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
def test_train_tab_after_a_run(snap_compare, tiny, size):
    assert snap_compare(finished_app(tiny), terminal_size=size, run_before=run_then())


def test_matrix_tab(snap_compare, tiny):
    assert snap_compare(finished_app(tiny), terminal_size=(80, 24), run_before=run_then("2"))


def test_mistakes_tab(snap_compare, tiny):
    assert snap_compare(finished_app(tiny, WEAK), terminal_size=(80, 24), run_before=run_then("4", "right"))
