"""The race: its racers in the runs tab after R, and room for its charts at 80x24."""

from __future__ import annotations

from helpers import burst, wait_for
from textual.widgets import DataTable

from mnist_tui.core.config import TrainConfig
from mnist_tui.ui.app import make_app
from mnist_tui.ui.widgets.runs_view import RunsView


async def finish_run(app, pilot) -> None:
    await pilot.press("s")
    await wait_for(pilot, lambda: app.main.state in ("done", "stopped", "diverged", "error"))


async def race_to_the_end(app, pilot, keys: list[str]) -> None:
    """Send `keys` in one burst (they start a race), then wait for the race screen and its end."""
    await burst(app, pilot, keys)
    await wait_for(pilot, lambda: app.screen.__class__.__name__ == "RaceScreen")
    await wait_for(pilot, lambda: app.screen.over, timeout=60)


async def test_the_runs_tab_shows_the_racers_after_R_without_leaving_it(tiny, tmp_path):
    db = tmp_path / "h.sqlite"
    app = make_app(tiny, config=TrainConfig(hidden=8, epochs=1, batch_size=64), progress_interval=0,
                   db_path=db)
    async with app.run_test(size=(100, 30)) as pilot:
        await finish_run(app, pilot)
        app.main.form.set_config(TrainConfig(hidden=8, epochs=1, batch_size=64, lr=0.3))
        await finish_run(app, pilot)
        await pilot.press("8")
        view = app.query_one(RunsView)
        assert len(view.runs) == 2
        await race_to_the_end(app, pilot, ["space", "down", "space", "R"])
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is app.main)
        assert app.query_one("TabbedContent").active == "runs"
        await wait_for(pilot, lambda: len(view.runs) == 4, timeout=5)
        assert app.query_one("#runs-table", DataTable).row_count == 4


async def test_the_race_charts_have_room_at_80x24(tiny):
    app = make_app(tiny, config=TrainConfig(hidden=8, epochs=2, batch_size=64), progress_interval=0)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("r")
        await race_to_the_end(app, pilot, list("lr 0.3,0.1,0.03,0.01") + ["enter"])
        await pilot.pause(0.5)
        for chart in app.screen.query("MetricChart"):
            assert chart.plot.size.height >= 8, (chart.id, chart.plot.size)


async def test_a_racers_name_is_never_run_into_the_next_column_at_80x24(tiny):
    """A fresh user's check: at 80 columns the leaderboard cut `batch-size=64` to 12 columns
    with no space, and its epoch count ran into it: `batch-size=61` for racer 64 at epoch 1."""
    app = make_app(tiny, config=TrainConfig(hidden=8, epochs=1, batch_size=64), progress_interval=0)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("r")
        await race_to_the_end(app, pilot, list("batch-size 64,32") + ["enter"])
        await pilot.pause(0.3)
        table = app.screen.query_one(DataTable)
        for row in range(table.row_count):
            drawn = "".join(seg.text for seg in table.render_line(table.header_height + row)
                            if seg.text).rstrip()
            label = str(table.get_cell_at((row, 1))).strip()
            assert label in ("batch-size=64", "batch-size=32"), label
            assert f"{label} " in drawn, drawn  # whole, then a space before the epoch count
