"""The train tab's summary: the validation split and the ghost's verdict."""

from __future__ import annotations

from helpers import wait_for

from mnist_tui.core.config import TrainConfig
from mnist_tui.ui.app import make_app


async def finish_run(app, pilot) -> None:
    await pilot.press("s")
    await wait_for(pilot, lambda: app.main.state in ("done", "stopped", "diverged", "error"))


async def test_train_summary_counts_the_validation_split_and_the_ghost_verdict_fits(tiny):
    from mnist_tui.core.insight import Ghost

    app = make_app(tiny, config=TrainConfig(hidden=16, epochs=2, batch_size=32, lr=0.05,
                                            val_split=100), progress_interval=0)
    async with app.run_test(size=(100, 30)) as pilot:
        await finish_run(app, pilot)
        pane = app.query_one("TrainPane")
        text = str(app.query_one("#summary").render())
        assert "500 train · 100 val · 200 test" in text, text
        pane.ghost = Ghost(run_id=4, target=0.1, reached_epoch=1, reached_seconds=123.4,
                           epochs=[1, 2], test_acc=[0.5, 0.6])
        pane.show(app.main.history)
        await pilot.pause(0.2)
        width = app.query_one("#summary").content_region.width
        lines = str(app.query_one("#summary").render()).splitlines()
        assert all(len(line) <= width for line in lines), (width, lines)
        assert any("ahead" in line or "behind" in line for line in lines), lines
