"""Charts in the app: smoothing, a shared x range, room at 80x24, a marker per series under NO_COLOR."""

from __future__ import annotations

import numpy as np
from helpers import wait_for

from mnist_tui.core.config import TrainConfig
from mnist_tui.ui.app import make_app
from mnist_tui.ui.panes import TrainPane
from mnist_tui.ui.widgets.metric_chart import MetricChart

QUICK = TrainConfig(hidden=8, epochs=2, batch_size=32, lr=0.05)


def quick_app(tiny, tmp_path, config=QUICK, **kw):
    return make_app(tiny, config=config, progress_interval=0.02, db_path=tmp_path / "runs.sqlite", **kw)


async def run_to_end(app, pilot):
    await pilot.press("s")
    await wait_for(pilot, lambda: app.main.state == "done", 60)
    await pilot.pause(0.6)  # a chart redraw after the run


async def test_loss_chart_smooths_across_epochs_and_shows_the_smoothing(tiny, tmp_path):
    app = quick_app(tiny, tmp_path, config=TrainConfig(hidden=8, epochs=3, batch_size=16, lr=0.05))
    async with app.run_test(size=(100, 30)) as pilot:
        await run_to_end(app, pilot)
        chart = app.query_one("#loss-chart", MetricChart)
        raw, smooth = chart.series["batch"], chart.series["smoothed"]
        assert raw.faint and len(raw.ys) == 3 * int(np.ceil(tiny.n_train / 16))
        # no restart at an epoch boundary: the smoothed value just after epoch 1 is an
        # average of many batches, so it is close to the one just before it
        xs = np.array(smooth.xs)
        i = int(np.searchsorted(xs, 1.0, side="right"))
        assert abs(smooth.ys[i] - smooth.ys[i - 1]) < 0.2 * smooth.ys[i - 1] + 1e-3
        assert "EMA 0.9" in str(chart.query_one(".chart-legend").render())
        await pilot.press("right_square_bracket")
        await pilot.pause(0.2)
        assert app.main.query_one(TrainPane).smoothing == 0.95
        assert "EMA 0.95" in str(chart.query_one(".chart-legend").render())
        for _ in range(10):
            await pilot.press("left_square_bracket")
        assert app.main.query_one(TrainPane).smoothing == 0.0


async def test_charts_of_a_tab_share_their_x_range(tiny, tmp_path):
    app = quick_app(tiny, tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await run_to_end(app, pilot)
        loss, acc = app.query_one("#loss-chart", MetricChart), app.query_one("#acc-chart", MetricChart)
        assert loss.x_range == acc.x_range == (0.0, 2.0)
        await pilot.press("5")
        await pilot.pause(0.6)
        net = [app.query_one(s, MetricChart) for s in ("#lr-chart", "#norm-chart", "#dead-chart")]
        assert len({c.x_range for c in net}) == 1


async def test_network_charts_have_room_at_80x24(tiny, tmp_path):
    app = quick_app(tiny, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await run_to_end(app, pilot)
        await pilot.press("5")
        await pilot.pause(0.3)
        shown = [c for c in app.query(MetricChart) if c.display and c.region.height and
                 app.query_one("#network").region.contains_region(c.region)]
        assert shown and all(c.plot.size.height >= 7 for c in shown)


async def test_no_color_gives_each_series_its_own_marker(tiny, tmp_path, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    app = quick_app(tiny, tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await run_to_end(app, pilot)
        chart = app.query_one("#acc-chart", MetricChart)
        legend = str(chart.query_one(".chart-legend").render())
        assert app.no_color
        assert "• train" in legend and "x test" in legend and "━" not in legend
        markers = [chart.marker(i, s) for i, s in enumerate(chart.series.values())]
        assert len(set(markers)) == len(markers)


