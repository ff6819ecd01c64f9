"""The calibration view: browsing epochs after t."""

from __future__ import annotations

from helpers import burst, wait_for

from mnist_tui.core.config import TrainConfig
from mnist_tui.ui.app import make_app


async def finish_run(app, pilot) -> None:
    await pilot.press("s")
    await wait_for(pilot, lambda: app.main.state in ("done", "stopped", "diverged", "error"))


def calib_text(app) -> str:
    return str(app.query_one("#calib-text").render())


async def test_calib_browsing_after_t_shows_that_epochs_fit_or_none(tiny):
    app = make_app(tiny, config=TrainConfig(hidden=16, epochs=3, batch_size=32, lr=0.05,
                                            val_split=100), progress_interval=0)
    async with app.run_test(size=(100, 30)) as pilot:
        await finish_run(app, pilot)
        await pilot.press("0")
        await burst(app, pilot, ["t"])
        pane = app.query_one("CalibrationPane")
        await wait_for(pilot, lambda: pane.fitted is not None)
        rel = app.query_one("#reliability-chart")
        assert "fitted" in rel.series and "T = " in calib_text(app)
        await burst(app, pilot, ["left", "left"])
        assert "epoch 1 (" in calib_text(app)
        assert "fitted" not in rel.series and "T = " not in calib_text(app), calib_text(app)
        assert "epoch 3" in calib_text(app)  # says which epoch the fit belongs to
        await burst(app, pilot, ["right", "right"])
        assert "fitted" in rel.series and "T = " in calib_text(app)
        # a fit that made the validation ECE worse says what T minimises
        from dataclasses import replace

        f = pane.fitted
        pane.fitted = replace(f, val_ece_after=f.val_ece_before + 0.001)
        pane.show(app.main.history)
        assert "NLL" in calib_text(app) and "not ECE" in calib_text(app), calib_text(app)
        legend = str(app.query_one("#ece-chart .chart-legend").render())
        assert "%" in legend.split("ECE", 2)[-1], legend
