"""The sweep tab: axis, legend and importances, at 100x30, and the sweep form checked as you type."""

from __future__ import annotations

import pytest
from helpers import burst

from mnist_tui.core.config import TrainConfig
from mnist_tui.ui.app import make_app

QUICK = TrainConfig(hidden=16, epochs=2, batch_size=32, lr=0.05)


def screen_lines(app) -> list[str]:
    """The terminal's text, as a user sees it (Pilot's widgets may hold more than is drawn)."""
    return [strip.text for strip in app.screen._compositor.render_strips()]


def sweep_rows():
    from mnist_tui.core.sweep import TrialRow

    rows = []
    for i in range(6):
        rows.append(TrialRow(i, "complete", {"lr": 0.0646642271741456 * (i + 1), "hidden": 16 * (1 + i % 2),
                                             "batch_size": 64, "momentum": 0.1 * i,
                                             "weight_decay": 1e-4 * i, "optimizer": "adam"},
                             0.9 + 0.01 * i, 0.9, 2, i + 1))
    importances = {"momentum": 0.44, "lr": 0.35, "hidden": 0.12, "batch_size": 0.05,
                   "weight_decay": 0.04, "optimizer": 0.0}
    return rows, importances


@pytest.mark.parametrize("size", [(80, 24), (100, 30), (120, 40)])
async def test_sweep_tab_axis_key_legend_and_every_importance_show(tiny, size):
    from mnist_tui.ui.panes.sweep import SweepUpdate

    app = make_app(tiny, config=QUICK)
    async with app.run_test(size=size) as pilot:
        await pilot.press("9")
        pane = app.query_one("SweepPane")
        rows, imp = sweep_rows()
        pane.post_message(SweepUpdate(rows, imp, done=True))
        await pilot.pause(0.5)
        parallel = app.query_one("#sw-parallel")
        region = parallel.region
        chart_text = "\n".join(line[region.x:region.right] for line in
                               screen_lines(app)[region.y:region.bottom])
        for axis in ("lr", "n", "b", "m", "wd", "opt"):  # the axes' key, under the axis
            assert f" {axis} " in chart_text + " " or chart_text.endswith(axis), chart_text
        legend = str(parallel.query_one(".chart-legend").render())
        assert len(legend.rstrip()) <= region.width, (legend, region.width)  # never cut
        assert "best" in legend and "worst" in legend, legend
        box = app.query_one("#sw-importance").region
        shown = "\n".join(line[box.x:box.right] for line in screen_lines(app)[box.y:box.bottom])
        for name in ("momentum", "lr", "hidden", "batch", "decay", "optimizer"):
            assert name in shown, shown
        imp_text = str(app.query_one("#sw-importance").render())
        opt_line = next(line for line in imp_text.splitlines() if "optimizer" in line)
        after = opt_line[opt_line.index("optimizer"):].split("0.00")[0]
        assert "█" not in after and "0.00" in opt_line, imp_text


async def test_sweep_importances_all_visible_at_100x30(tiny):
    from mnist_tui.ui.panes.sweep import SweepUpdate

    app = make_app(tiny, config=QUICK)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("9")
        rows, imp = sweep_rows()
        app.query_one("SweepPane").post_message(SweepUpdate(rows, imp, done=True))
        await pilot.pause(0.5)
        box = app.query_one("#sw-importance").region
        shown = "\n".join(line[box.x:box.right] for line in screen_lines(app)[box.y:box.bottom])
        for name in ("momentum", "lr", "hidden", "batch", "decay", "optimizer"):
            assert name in shown, shown


async def test_the_sweep_form_checks_each_field_as_you_type(tiny):
    from textual.widgets import Input

    app = make_app(tiny, config=QUICK)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("9")
        lr = app.query_one("#sw-lr", Input)
        lr.focus()
        await pilot.pause()
        lr.value = ""
        await burst(app, pilot, list("0.5:abc"))
        message = app.query_one("#sw-message")
        assert "lr" in str(message.render()) and message.has_class("-error"), str(message.render())
        assert lr.has_class("-invalid")
        await burst(app, pilot, ["backspace"] * 3 + list("0.01"))
        assert not message.has_class("-error") and not lr.has_class("-invalid"), str(message.render())
        trials = app.query_one("#sw-trials", Input)
        trials.focus()
        trials.value = "0"
        await pilot.pause(0.2)
        assert "trials" in str(message.render()) and message.has_class("-error")
        # no invisible stop: the form's scroll container takes no focus
        assert app.query_one("#sw-left") not in app.screen.focus_chain
