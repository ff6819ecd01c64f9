"""Issue 20, §4-§7 (what the screens say, lost records, layout): each test made the way the
defect was found: keys in one burst (helpers.burst: one driver write), resizes, real data."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import burst, wait_for
from textual.widgets import DataTable

from mnist_tui.core.config import TrainConfig
from mnist_tui.core.store import Store
from mnist_tui.ui.app import make_app
from mnist_tui.ui.widgets.runs_view import RunsView

QUICK = TrainConfig(hidden=16, epochs=2, batch_size=32, lr=0.05)
LONG = TrainConfig(hidden=64, epochs=1000, batch_size=2, lr=0.001)  # never ends in a test


def toasts(app) -> list[str]:
    return [str(n.message) for n in app._notifications]


async def finish_run(app, pilot) -> None:
    await pilot.press("s")
    await wait_for(pilot, lambda: app.main.state in ("done", "stopped", "diverged", "error"))


# --- §4: lost or wrong records ------------------------------------------------------------


async def test_d_d_on_the_run_that_is_training_is_refused_and_it_stays_recorded(tiny, tmp_path):
    db = tmp_path / "h.sqlite"
    app = make_app(tiny, config=LONG, progress_interval=0.05, db_path=db)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("s")
        await wait_for(pilot, lambda: app.main.db_run_id is not None and app.main.history["epoch"])
        await pilot.press("8")
        view = app.query_one(RunsView)
        await wait_for(pilot, lambda: view.runs and view.runs[0]["status"] == "running")
        await burst(app, pilot, ["d", "d"])
        await pilot.pause(0.3)
        assert [r["id"] for r in view.runs] == [app.main.db_run_id]
        assert any("training" in t and "stop" in t for t in toasts(app)), toasts(app)
        # the run goes on, recorded
        n = len(app.main.history["epoch"])
        await wait_for(pilot, lambda: len(app.main.history["epoch"]) > n)
        await pilot.press("x")
        await wait_for(pilot, lambda: app.main.state == "stopped")
        with Store(db, readonly=True) as s:
            run = s.run(app.main.db_run_id)
        assert run["status"] == "stopped" and len(run["epochs"]["epoch"]) > n
        # stopped: d d deletes it, says so, and the "press d again" toast is gone
        await pilot.press("8")
        await burst(app, pilot, ["d", "d"])
        await wait_for(pilot, lambda: view.runs == [])
        assert not any("again" in t for t in toasts(app)), toasts(app)
        assert any(f"deleted run {run['id']}" in t.lower() for t in toasts(app)), toasts(app)


def test_the_store_refuses_to_delete_a_run_whose_process_is_alive(tmp_path):
    from mnist_tui.core.store import StoreError

    s = Store(tmp_path / "h.sqlite")
    rid = s.start_run(TrainConfig())  # this process: alive
    with pytest.raises(StoreError, match="training"):
        s.delete_run(rid)
    assert [r["id"] for r in s.runs()] == [rid]
    s.finish_run(rid, "stopped")
    assert s.delete_run(rid) and s.runs() == []
    s.close()


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
        await burst(app, pilot, ["space", "down", "space", "R"])
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "RaceScreen")
        await wait_for(pilot, lambda: app.screen.over, timeout=60)
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is app.main)
        assert app.query_one("TabbedContent").active == "runs"
        await wait_for(pilot, lambda: len(view.runs) == 4, timeout=5)
        assert app.query_one("#runs-table", DataTable).row_count == 4
