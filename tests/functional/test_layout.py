"""Layout at each size: resizes after a run, the digits grid filling the width, the footer at 80 columns."""

from __future__ import annotations

import pytest
from helpers import wait_for
from textual.widgets._footer import FooterKey

from mnist_tui.core.config import TrainConfig
from mnist_tui.ui.app import TABS, make_app
from mnist_tui.ui.widgets.metric_chart import MetricChart

QUICK = TrainConfig(hidden=8, epochs=2, batch_size=32, lr=0.05)


def quick_app(tiny, tmp_path, config=QUICK, **kw):
    return make_app(tiny, config=config, progress_interval=0.02, db_path=tmp_path / "runs.sqlite", **kw)


async def run_to_end(app, pilot):
    await pilot.press("s")
    await wait_for(pilot, lambda: app.main.state == "done", 60)
    await pilot.pause(0.6)  # a chart redraw after the run


@pytest.mark.parametrize("size", [(100, 30), (80, 24)])
async def test_resize_after_a_run_on_every_tab(tiny, tmp_path, size):
    app = quick_app(tiny, tmp_path)
    w, h = size
    async with app.run_test(size=size) as pilot:
        await run_to_end(app, pilot)
        for i, _ in enumerate(TABS, start=1):
            await pilot.press(str(i))
            await pilot.resize_terminal(w + 1, h)
            await pilot.pause(0.1)
            await pilot.resize_terminal(w, h + 1)
            await pilot.pause(0.1)
        # finish a run, press 2, resize, press 1: the way it was found
        await pilot.press("2")
        await pilot.resize_terminal(w + 3, h + 2)
        await pilot.press("1")
        await pilot.pause(0.3)
        for chart in app.query(MetricChart):
            chart.plot.render()  # a second build of the same figure must not raise
            chart.plot.render()
        assert app.is_running and app.main.state == "done"


async def test_digits_flow_into_the_width_and_scroll_by_keyboard(tiny, tmp_path):
    app = quick_app(tiny, tmp_path)
    async with app.run_test(size=(100, 30), ) as pilot:
        await run_to_end(app, pilot)
        await pilot.press("3")
        await pilot.pause(0.2)
        grid = app.query_one("#digit-grid")
        assert grid.styles.grid_size_columns == 2
        assert app.focused is grid
        await pilot.press("pagedown")
        await pilot.pause(0.2)
        assert grid.scroll_y > 0
    app = quick_app(tiny, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await run_to_end(app, pilot)
        await pilot.press("3")
        await pilot.press("down", "down", "down")
        await pilot.pause(0.2)
        assert app.query_one("#digit-grid").scroll_y > 0


async def test_footer_keeps_quit_and_the_tabs_keys_at_80_columns(tiny, tmp_path):
    app = quick_app(tiny, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await run_to_end(app, pilot)
        for i, tab in enumerate(TABS, start=1):
            await pilot.press(str(i))
            await pilot.pause(0.2)
            keys = {fk.key: fk for fk in app.query(FooterKey)}
            assert "q" in keys and keys["q"].region.right <= 80, tab
            focused = app.focused
            own = [b.key for b in getattr(focused, "BINDINGS", []) if getattr(b, "show", False)]
            for key in own:
                first = key.split(",")[0]
                assert first in keys and keys[first].region.right <= 80, (tab, key)
