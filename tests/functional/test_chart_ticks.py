"""Chart ticks and counts: two y ticks or more on the accuracy chart, whole numbers in the unit histogram."""

from __future__ import annotations

import pytest
from helpers import burst, wait_for

from mnist_tui.core.config import TrainConfig
from mnist_tui.ui.app import make_app

QUICK = TrainConfig(hidden=16, epochs=2, batch_size=32, lr=0.05)


def screen_lines(app) -> list[str]:
    """The terminal's text, as a user sees it (Pilot's widgets may hold more than is drawn)."""
    return [strip.text for strip in app.screen._compositor.render_strips()]


@pytest.fixture(scope="module")
def mnist():
    from mnist_tui.core import data

    return data.load_dir(data.PACKAGE_DATA_DIR)


def region_text(app, widget) -> list[str]:
    r = widget.region
    return [line[r.x:r.right] for line in screen_lines(app)[r.y:r.bottom]]


@pytest.mark.parametrize("size", [(80, 24), (100, 30)])
async def test_the_accuracy_chart_has_two_y_ticks_or_more(tiny, size):
    import re

    from mnist_tui.ui.widgets.metric_chart import MetricChart

    app = make_app(tiny, config=QUICK)
    async with app.run_test(size=size) as pilot:
        await pilot.pause(0.7)  # the screen's first redraw (a 0.5 s timer) draws the empty history
        acc = app.query_one("#acc-chart", MetricChart)
        acc.set_series("test", [1, 2, 3], [94.7, 95.8, 96.5], color="red")  # a real run's
        acc.set_series("train", [1, 2, 3], [91.0, 95.0, 97.1], color="blue")
        acc.replot()
        await pilot.pause(0.3)
        lines = region_text(app, acc.plot)
        ticks = [line for line in lines if re.match(r"^\s*\d+(\.\d+)?\s*┤", line)]
        assert len(ticks) >= 2, "\n".join(lines)


@pytest.mark.real_data
async def test_the_unit_histogram_counts_are_whole_numbers(mnist):
    import re

    app = make_app(mnist, config=TrainConfig(hidden=16, epochs=1, batch_size=64))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("s")
        await wait_for(pilot, lambda: app.main.state == "done", timeout=180)  # a loaded machine
        await pilot.press("6")
        await burst(app, pilot, ["enter"])
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "UnitScreen")
        hist = app.screen.query_one("#unit-hist")
        hist.scroll_visible(animate=False)
        await pilot.pause(0.5)
        lines = [line[hist.region.x:] for line in screen_lines(app)]
        ticks = [m.group(1) for line in lines if (m := re.match(r"^\s*([\d.]+)\s*┤", line))]
        assert len(ticks) >= 2 and all("." not in t for t in ticks), "\n".join(lines)
        values = sorted(int(t) for t in ticks)  # round counts at a 1-2-5 step: 0, 500, 1000
        steps = {b - a for a, b in zip(values, values[1:], strict=False)}
        step = steps.pop()
        assert not steps and str(step).rstrip("0") in ("1", "2", "5"), ticks
