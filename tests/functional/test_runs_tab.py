"""The runs tab: deleting a run that trains, seeds and rounded floats, compare of a sweep."""

from __future__ import annotations

import pytest
from helpers import burst, wait_for

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


def screen_lines(app) -> list[str]:
    """The terminal's text, as a user sees it (Pilot's widgets may hold more than is drawn)."""
    return [strip.text for strip in app.screen._compositor.render_strips()]


def runs_db(tmp_path):
    """Runs as a sweep, a live change and a stop leave them: raw floats, a seed, diverged."""
    from helpers import fake_epoch

    from mnist_tui.core.events import LiveChanged

    db = tmp_path / "h.sqlite"
    s = Store(db)
    a = s.start_run(TrainConfig(lr=0.0646642271741456, momentum=0.6577064848858, seed=7,
                                hidden=16, epochs=2))
    s.add_epoch(a, fake_epoch(1, 0.9) if False else _epoch(1, 168.9))
    s.finish_run(a, "diverged")
    b = s.start_run(TrainConfig(seed=3, lr=0.1))  # stopped before its first epoch
    s.finish_run(b, "stopped")
    c = s.start_run(TrainConfig(seed=3, lr=0.1, epochs=2))
    s.add_live_change(c, LiveChanged(1, 5, "lr", 0.05))
    s.add_epoch(c, _epoch(1, 2.0))
    s.finish_run(c, "done")
    s.close()
    return db, (a, b, c)


def _epoch(epoch, seconds):
    from helpers import fake_epoch

    ev = fake_epoch([0, 1, 2, 3, 4, 5], [0.9] * 6, epoch)
    from dataclasses import replace

    return replace(ev, elapsed=seconds, seconds=seconds)


async def test_d_d_on_the_run_that_is_training_is_refused_and_it_stays_recorded(tiny, tmp_path):
    db = tmp_path / "h.sqlite"
    app = make_app(tiny, config=LONG, progress_interval=0.05, db_path=db)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("s")
        await wait_for(pilot, lambda: app.main.db_run_id is not None and app.main.history["epoch"])
        await pilot.press("8")
        view = app.query_one(RunsView)
        await wait_for(pilot, lambda: view.runs and view.runs[0]["status"] in ("running", "live"))
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


@pytest.mark.parametrize("size", [(80, 24), (100, 30), (120, 40)])
async def test_runs_tab_shows_seed_round_floats_separate_columns_and_live_changes(tiny, tmp_path,
                                                                                  size):
    db, (a, b, c) = runs_db(tmp_path)
    app = make_app(tiny, config=QUICK, db_path=db)
    async with app.run_test(size=size) as pilot:
        await burst(app, pilot, ["8"])
        await wait_for(pilot, lambda: "lr=0.0647" in "\n".join(screen_lines(app)))  # a worker reads the page
        text = "\n".join(screen_lines(app))
        assert "0.0646642" not in text and "lr=0.0647" in text, text
        assert "diverged " in text and "diverged-" not in text, text
        rows = {int(line.split()[0]): line for line in screen_lines(app)
                if line.split() and line.split()[0].isdigit()}
        assert "seed" in text and " 7 " in rows[a], rows
        assert "0.0s" not in rows[b] and "2m49s" in rows[a], rows
        assert "lr=0.1→0.05" in rows[c], rows
        await burst(app, pilot, ["home"])  # the newest: run c, with its live change
        await burst(app, pilot, ["a"])
        assert any("0.05" in t and "start" in t for t in toasts(app)), toasts(app)


async def test_compare_rounds_a_sweeps_floats(tiny, tmp_path):
    db, (a, b, c) = runs_db(tmp_path)
    app = make_app(tiny, config=QUICK, db_path=db)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("8")  # (a tab key and keys for the tab in one burst: issue 20 §1-2)
        await burst(app, pilot, ["space", "down", "down", "space", "c"])
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "CompareScreen")
        await wait_for(pilot, lambda: "differs" in "\n".join(screen_lines(app)))
        text = "\n".join(screen_lines(app))
        assert f"#{a}=0.0647" in text and "0.0646642" not in text, text
