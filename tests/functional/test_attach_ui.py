"""Attaching in the app (issue 24): a dashboard attached to a run shows it move and steers it; the runs tab marks a live run and Enter follows it."""

from __future__ import annotations

import pytest

from mnist_tui.core.remote import RemoteSession

DEADLINE = 60.0


@pytest.fixture(autouse=True)
def _runtime_dir(monkeypatch, tmp_path):
    rt = tmp_path / "rt"
    rt.mkdir(mode=0o755)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(rt))
    return rt


from helpers import until  # noqa: E402  (DEADLINE, 60 s, is its default)


async def test_an_attached_dashboard_shows_the_run_move_and_steers_it(tiny, tmp_path):
    """A dashboard attached to a run that another session hosts: the curves move, p pauses
    the host's run and resumes it, x stops it; q leaves the run going."""
    from helpers import wait_for

    from mnist_tui.core.config import TrainConfig
    from mnist_tui.core.engine import Engine
    from mnist_tui.core.session import RunSession
    from mnist_tui.ui.app import make_app

    db = tmp_path / "h.sqlite"
    with Engine(tiny) as engine:
        hosted = RunSession(engine, TrainConfig(hidden=64, epochs=500, batch_size=2), db_path=db,
                            progress_interval=0.05).start()
        until(lambda: hosted.host, "the run to be served", 30)
        app = make_app(tiny, db_path=db, attach=RemoteSession(hosted.db_run_id, db_path=db))
        async with app.run_test(size=(100, 30)) as pilot:
            await wait_for(pilot, lambda: len(app.main.history) >= 2, 30)
            seen = len(app.main.history.batch_losses()[0])
            await wait_for(pilot, lambda: len(app.main.history.batch_losses()[0]) > seen, 10)
            assert "attached to run" in app.main.status.note or app.main.status.epoch > 1
            await pilot.press("p")
            await wait_for(pilot, lambda: hosted.state == "paused", 10)
            assert app.main.run_state.value == "paused"
            n = len(hosted.history)
            await pilot.pause(0.8)
            assert len(hosted.history) <= n + 1
            await pilot.press("p")
            await wait_for(pilot, lambda: hosted.state == "training", 10)
            await pilot.press("q")
        assert hosted.going  # the viewer left; the run trains on
        hosted.stop()
        assert hosted.wait(30) and hosted.state == "stopped"


async def test_the_runs_tab_marks_a_live_run_and_enter_follows_it(tiny, tmp_path):
    from helpers import wait_for
    from textual.widgets import DataTable

    from mnist_tui.core.config import TrainConfig
    from mnist_tui.core.engine import Engine
    from mnist_tui.core.session import RunSession
    from mnist_tui.ui.app import make_app

    db = tmp_path / "h.sqlite"
    with Engine(tiny) as engine:
        hosted = RunSession(engine, TrainConfig(hidden=64, epochs=500, batch_size=2), db_path=db,
                            progress_interval=0.05).start()
        until(lambda: hosted.host, "the run to be served", 30)
        app = make_app(tiny, db_path=db)
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.press("8")
            table = app.main.query_one("#runs-table", DataTable)
            await wait_for(pilot, lambda: table.row_count == 1, 10)
            assert str(table.get_cell_at((0, 3))) == "live"
            table.focus()
            await pilot.press("enter")
            await wait_for(pilot, lambda: isinstance(app.main.session, RemoteSession), 10)
            await wait_for(pilot, lambda: len(app.main.history) >= 1, 30)
            await pilot.press("x")  # stops the followed run
            assert hosted.wait(30) and hosted.state == "stopped"
            await pilot.press("q")


async def test_s_while_the_dashboard_is_still_attaching_starts_no_run_of_its_own(
        tiny, tmp_path, monkeypatch):
    """A fresh user's check: for seconds `mnist-tui attach` showed IDLE before it attached, and
    `s` then started a second run in the attaching process, training out of sight."""
    from helpers import wait_for

    from mnist_tui.core.config import TrainConfig
    from mnist_tui.core.engine import Engine
    from mnist_tui.core.session import RunSession
    from mnist_tui.ui.app import make_app
    from mnist_tui.ui.screens.main import MainScreen

    attached = []
    monkeypatch.setattr(MainScreen, "attach", lambda self, remote: attached.append(remote))
    db = tmp_path / "h.sqlite"
    with Engine(tiny) as engine:
        hosted = RunSession(engine, TrainConfig(hidden=64, epochs=500, batch_size=2), db_path=db,
                            progress_interval=0.05).start()
        until(lambda: hosted.host, "the run to be served", 30)
        remote = RemoteSession(hosted.db_run_id, db_path=db)
        app = make_app(tiny, db_path=db, attach=remote)
        async with app.run_test(size=(100, 30)) as pilot:
            await wait_for(pilot, lambda: attached, 10)  # (held back: still attaching)
            assert f"attaching to run {hosted.db_run_id}" in app.main.status.note
            await pilot.press("s")
            await pilot.pause(0.3)
            assert app.main.session is None and not app.main.run_state.going
            assert f"attaching to run {hosted.db_run_id}" in app.main.status.note
            await pilot.press("q")
        remote.close()
        hosted.stop()
        assert hosted.wait(30)
    import sqlite3

    con = sqlite3.connect(db)
    assert con.execute("SELECT count(*) FROM runs").fetchone()[0] == 1  # the hosted run alone
    con.close()


async def test_an_attached_run_whose_host_is_killed_reads_lost_as_the_history_does(
        tiny_dir, tmp_path):
    """A fresh user's check: the viewer said FAILED where `runs list` said lost."""
    import os
    import signal
    import subprocess
    import sys

    from helpers import wait_for

    from mnist_tui.core import host
    from mnist_tui.ui.app import make_app
    from mnist_tui.ui.screens.run_state import RunState

    db = tmp_path / "h.sqlite"
    proc = subprocess.Popen([sys.executable, "-m", "mnist_tui", "train", "--data-dir",
                             str(tiny_dir), "--epochs", "300", "--batch-size", "2", "--hidden",
                             "64", "--db", str(db)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        run_id = until(lambda: host.newest_live(db), "the train run to be served", 60)
        from mnist_tui.core.data import load

        app = make_app(load(str(tiny_dir)), db_path=db, attach=RemoteSession(run_id, db_path=db))
        async with app.run_test(size=(100, 30)) as pilot:
            await wait_for(pilot, lambda: app.main.run_state.going, 30)
            os.kill(proc.pid, signal.SIGKILL)
            await wait_for(pilot, lambda: app.main.run_state is RunState.LOST, 30)
            assert app.main.status.state == "lost"
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(10)
