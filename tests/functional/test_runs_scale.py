"""The Runs tab on a history of 10,000 runs (tests/conftest.py `big_history`): one page in
the table, pages read as the cursor moves, a mark changes one row and reads one run."""

from __future__ import annotations

import shutil

import pytest
from helpers import burst, wait_for
from textual.widgets import DataTable

from mnist_tui.core.config import TrainConfig
from mnist_tui.core.store import Store
from mnist_tui.ui.app import make_app
from mnist_tui.ui.widgets.runs_view import PAGE, RunsView


@pytest.fixture
def history(big_history, tmp_path):
    path = tmp_path / "runs.sqlite"
    shutil.copy(big_history, path)
    return path


class Calls:
    """Counts the store's reads and the table's rebuilds."""

    def __init__(self, monkeypatch):
        self.runs, self.run, self.clears = [], [], 0
        runs, run, clear = Store.runs, Store.run, DataTable.clear

        def counting_runs(store, *a, **k):
            self.runs.append((a, k))
            return runs(store, *a, **k)

        def counting_run(store, run_id, *a, **k):
            self.run.append(run_id)
            return run(store, run_id, *a, **k)

        def counting_clear(table, *a, **k):
            if table.id == "runs-table":
                self.clears += 1
            return clear(table, *a, **k)

        monkeypatch.setattr(Store, "runs", counting_runs)
        monkeypatch.setattr(Store, "run", counting_run)
        monkeypatch.setattr(DataTable, "clear", counting_clear)


async def open_runs(app, pilot) -> tuple[RunsView, DataTable]:
    await pilot.press("8")
    view = app.query_one(RunsView)
    table = app.query_one("#runs-table", DataTable)
    await wait_for(pilot, lambda: view.current is not None)
    return view, table


async def test_the_runs_tab_holds_one_page_of_the_newest_runs(tiny, history, monkeypatch):
    calls = Calls(monkeypatch)
    app = make_app(tiny, config=TrainConfig(hidden=4, epochs=1), db_path=history)
    async with app.run_test(size=(100, 30)) as pilot:
        view, table = await open_runs(app, pilot)
        assert view.total == 10_000 and table.row_count == PAGE
        assert [r["id"] for r in view.runs] == list(range(10_000, 10_000 - PAGE, -1))
        assert all(k.get("limit") == PAGE for _, k in calls.runs)  # never every run


async def test_marking_a_run_changes_one_row_reads_one_run_and_draws_its_overlay(
        tiny, history, monkeypatch):
    calls = Calls(monkeypatch)
    app = make_app(tiny, config=TrainConfig(hidden=4, epochs=1), db_path=history)
    async with app.run_test(size=(100, 30)) as pilot:
        view, table = await open_runs(app, pilot)
        train = app.main.query_one("TrainPane")
        await pilot.press("down")
        listed, clears = len(calls.runs), calls.clears
        await pilot.press("space")
        await wait_for(pilot, lambda: 9_999 in train.overlays)
        assert calls.run == [9_999]  # the marked run's epochs, and nothing else
        assert len(calls.runs) == listed and calls.clears == clears  # no reload, no rebuild
        assert str(table.get_cell("9999", "mark")) == "●" and str(table.get_cell("10000", "mark")) == " "
        acc = app.query_one("#acc-chart")
        assert "#9999" in acc.series and len(acc.series["#9999"].xs) == 20
        # a second mark reads only the new run; unmarking reads nothing
        await pilot.press("down", "space")
        await wait_for(pilot, lambda: set(train.overlays) == {9_999, 9_998})
        await pilot.press("space")
        await wait_for(pilot, lambda: set(train.overlays) == {9_999})
        assert calls.run == [9_999, 9_998]
        assert len(calls.runs) == listed and calls.clears == clears
        assert "#9998" not in acc.series


async def test_paging_reaches_the_oldest_runs_and_back(tiny, history):
    app = make_app(tiny, config=TrainConfig(hidden=4, epochs=1), db_path=history)
    async with app.run_test(size=(100, 30)) as pilot:
        view, table = await open_runs(app, pilot)
        await pilot.press("ctrl+end")
        await wait_for(pilot, lambda: view.current["id"] == 1)
        assert [r["id"] for r in view.runs] == list(range(PAGE, 0, -1))  # the last page
        assert "runs 9901–10000 of 10000" in str(app.query_one("#runs-position").render())
        assert table.cursor_row == PAGE - 1
        # To the top of this page in one write (Pilot's press waits for the screen after each
        # key: 99 of them were 10 s of the suite), then up past it, paced: the previous page
        # comes, the cursor on the next run.
        await burst(app, pilot, ["up"] * (PAGE - 1))
        await wait_for(pilot, lambda: view.current["id"] == PAGE)
        await pilot.pause()
        assert view.current["id"] == PAGE and view.runs[-1]["id"] == 1  # still the last page
        await pilot.press("up")
        await wait_for(pilot, lambda: view.current["id"] == PAGE + 1)
        await pilot.press("down", "down")
        await wait_for(pilot, lambda: view.current["id"] == PAGE - 1)
        await pilot.press("ctrl+home")
        await wait_for(pilot, lambda: view.current["id"] == 10_000)
        # down past the end of the first page
        await burst(app, pilot, ["pagedown"] + ["down"] * PAGE)
        await wait_for(pilot, lambda: view.current["id"] < 10_000 - PAGE)


async def test_keys_in_one_burst_across_a_page_edge_act_on_the_right_runs(tiny, history):
    """Keys in one write (a laggy link): down past the page's end, then space, before the
    next page has been read. The keys wait for it and act in order, on the runs they meant."""
    app = make_app(tiny, config=TrainConfig(hidden=4, epochs=1), db_path=history)
    async with app.run_test(size=(100, 30)) as pilot:
        view, table = await open_runs(app, pilot)
        table.move_cursor(row=PAGE - 1)  # the first page's last run
        await pilot.pause()
        assert view.current["id"] == 10_000 - PAGE + 1
        await burst(app, pilot, ["down", "space", "down", "space"])
        await wait_for(pilot, lambda: not view.reading and not view.queued)
        assert view.overlay == {10_000 - PAGE, 10_000 - PAGE - 1}
        assert view.current["id"] == 10_000 - PAGE - 1
        # and from the newest to the oldest, marking two and comparing them, in one write
        await burst(app, pilot, ["ctrl+end", "space", "up", "space", "c"])
        await wait_for(pilot, lambda: type(app.screen).__name__ == "CompareScreen")
        assert view.overlay == {10_000 - PAGE, 10_000 - PAGE - 1, 1, 2}
        await pilot.press("escape")


async def test_a_new_page_is_scrolled_before_its_first_frame_and_a_reload_keeps_its_place(
        tiny, history, monkeypatch):
    """The table scrolls its cursor into view only after a frame (it sizes new rows first):
    ctrl+End drew the top of the last page, then drew again scrolled to its end (half of the
    key's 196 ms with 10,000 runs). The page now shows scrolled as it will stay; and a reload
    (an epoch of a live run, r) leaves the rows where they were, not the cursor's row at the
    window's bottom."""
    from mnist_tui.ui.widgets import runs_view

    scrolls = []
    set_runs = runs_view.RunsView.set_runs

    def recording(view, *a, **k):
        set_runs(view, *a, **k)
        scrolls.append(view.query_one(DataTable).scroll_y)  # before any frame

    monkeypatch.setattr(runs_view.RunsView, "set_runs", recording)
    app = make_app(tiny, config=TrainConfig(hidden=4, epochs=1), db_path=history)
    async with app.run_test(size=(100, 30)) as pilot:
        view, table = await open_runs(app, pilot)
        for keys, run_id in ((["ctrl+end"], 1), (["up"] * PAGE, PAGE + 1), (["ctrl+home"], 10_000),
                             (["end"], 1), (["home"], 10_000), ([], None)):
            if not keys:  # down past the end of the first page
                table.move_cursor(row=PAGE - 1)
                await pilot.pause(0.1)
                keys, run_id = ["down"], 10_000 - PAGE
            scrolls.clear()
            await burst(app, pilot, keys)
            await wait_for(pilot, lambda r=run_id: scrolls and not view.reading and
                           view.current["id"] == r)
            await pilot.pause(0.1)
            assert table.scroll_y > 0 or run_id == 10_000
            assert scrolls[-1] == table.scroll_y, (keys, scrolls, table.scroll_y)
        # a reload with the cursor mid-window keeps the window where it was
        table.scroll_to(y=30, animate=False, immediate=True)
        table.move_cursor(row=40)
        await pilot.pause(0.1)
        place = (table.scroll_y, table.cursor_row, view.current["id"])
        assert place[0] == 30
        await pilot.press("r")
        await wait_for(pilot, lambda: not view.reading)
        await pilot.pause(0.1)
        assert (table.scroll_y, table.cursor_row, view.current["id"]) == place


async def test_back_from_a_compare_the_page_is_read_again_and_rebuilt_only_if_it_changed(
        tiny, history, monkeypatch):
    """Each return to the main screen reads the Runs page again (a race may have added runs);
    an unchanged page no longer rebuilds the table: 60 ms of the UI thread, which the bench
    counted in the next `c` (compare of 2: 96 ms, now 40)."""
    calls = Calls(monkeypatch)
    app = make_app(tiny, config=TrainConfig(hidden=4, epochs=1), db_path=history)
    async with app.run_test(size=(100, 30)) as pilot:
        view, table = await open_runs(app, pilot)
        for changed in (False, True):
            await pilot.press(*(["c"] if view.overlay else ["space", "down", "space", "c"]))
            await wait_for(pilot, lambda: type(app.screen).__name__ == "CompareScreen")
            listed, clears = len(calls.runs), calls.clears
            if changed:  # meanwhile another process deletes a run of this page
                with Store(history) as db:
                    assert db.delete_run(9_990)
            await pilot.press("escape")
            await wait_for(pilot, lambda n=listed: len(calls.runs) > n and not view.reading)
            await pilot.pause()
            assert calls.clears == clears + changed
            assert (9_990 in [r["id"] for r in view.runs]) is not changed
        assert view.total == 9_999 and table.row_count == PAGE
