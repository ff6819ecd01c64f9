"""Defects found by using the dashboard as a new user would (issue 10), one test each.

Each was found in a real terminal; these tests reproduce the way it was found: a resize
after a run, keys in a burst, a live edit typed character by character, 80 columns.
"""

from __future__ import annotations

import numpy as np
import plotext
import pytest
from helpers import burst, wait_for
from textual.widgets import Button, Input
from textual.widgets._footer import FooterKey

from mnist_tui.core.config import TrainConfig
from mnist_tui.core.store import Store
from mnist_tui.ui.app import TABS, make_app
from mnist_tui.ui.panes import TrainPane
from mnist_tui.ui.widgets.metric_chart import MetricChart

QUICK = TrainConfig(hidden=8, epochs=2, batch_size=32, lr=0.05)
LONG = TrainConfig(hidden=8, epochs=1000, batch_size=2, lr=0.05)  # still going when looked at (minutes)


def quick_app(tiny, tmp_path, config=QUICK, **kw):
    return make_app(tiny, config=config, progress_interval=0.02, db_path=tmp_path / "runs.sqlite", **kw)


async def run_to_end(app, pilot):
    await pilot.press("s")
    await wait_for(pilot, lambda: app.main.state == "done", 60)
    await pilot.pause(0.6)  # a chart redraw after the run


# --- 1. resize after a run -------------------------------------------------------------------

def test_plotext_log_scale_is_not_idempotent_so_charts_never_use_it():
    """The cause, in three lines: a second build of a log-scale figure raises."""
    plotext.clf()
    plotext.plot([1, 2, 3], [1, 10, 100])
    plotext.yscale("log")
    plotext.plotsize(40, 10)
    plotext.build()
    with pytest.raises(ValueError):
        plotext.build()
    plotext.clf()


@pytest.mark.parametrize("size", [(100, 30), (80, 24)])
async def test_resize_after_a_run_on_every_tab(tiny, tmp_path, size):
    app = quick_app(tiny, tmp_path)
    w, h = size
    async with app.run_test(size=size) as pilot:
        await run_to_end(app, pilot)
        for i, _ in enumerate(TABS, start=1):
            await pilot.press(str(i))
            await pilot.resize_terminal(w + 1, h)
            await pilot.pause(0.1)
            await pilot.resize_terminal(w, h + 1)
            await pilot.pause(0.1)
        # finish a run, press 2, resize, press 1: the way it was found
        await pilot.press("2")
        await pilot.resize_terminal(w + 3, h + 2)
        await pilot.press("1")
        await pilot.pause(0.3)
        for chart in app.query(MetricChart):
            chart.plot.render()  # a second build of the same figure must not raise
            chart.plot.render()
        assert app.is_running and app.main.state == "done"


# --- 2. live edits apply on Enter or blur, never per keystroke -------------------------------

async def test_live_lr_typed_in_a_burst_applies_only_on_enter_and_is_recorded(tiny, tmp_path):
    app = quick_app(tiny, tmp_path, config=LONG)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("s")
        await wait_for(pilot, lambda: app.main.state == "training" and app.main.history.loss_y)
        await pilot.press("p")  # paused, so the test controls when batches run
        lr = app.query_one("#f-lr", Input)
        lr.focus()
        await pilot.pause()
        seen = []
        for key in ["5", "e", "-", "3"]:  # 5e-3 passes through 5, which would diverge the run
            await burst(app, pilot, [key])
            seen.append(app.main.live.lr)
        assert seen == [None, None, None, None]
        assert lr.value == "5e-3"
        assert "pending" in str(app.query_one("#form-message").render())
        await pilot.press("enter")
        assert app.main.live.lr == pytest.approx(0.005)
        await pilot.press("escape", "p")  # leave the form, resume
        await wait_for(pilot, lambda: app.main.history.live_changes)
        await pilot.press("x")
        await wait_for(pilot, lambda: app.main.state == "stopped")
        assert [(c.name, c.value) for c in app.main.history.live_changes] == [("lr", 0.005)]
    with Store(tmp_path / "runs.sqlite") as db:
        run = db.run(db.runs()[0]["id"])
    assert [(c["name"], c["value"]) for c in run["live_changes"]] == [("lr", 0.005)]
    assert run["live_changes"][0]["batch"] >= 1


async def test_live_edit_applies_on_blur_and_an_invalid_one_never(tiny, tmp_path):
    app = quick_app(tiny, tmp_path, config=LONG)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("s")
        await wait_for(pilot, lambda: app.main.state == "training")
        await pilot.press("p")
        app.query_one("#f-momentum", Input).focus()
        await pilot.pause()
        await burst(app, pilot, ["0", ".", "5"])
        assert app.main.live.momentum is None
        await pilot.press("tab")  # focus leaves the field: the valid value applies
        assert app.main.live.momentum == pytest.approx(0.5)
        app.query_one("#f-lr", Input).focus()
        await pilot.pause()
        await burst(app, pilot, ["a", "b", "c"])
        await pilot.press("enter")
        assert app.main.live.lr is None  # invalid: never applied, the ✗ stays
        assert "✗" in str(app.query_one("#m-lr").render())
        await pilot.press("escape", "x")




# --- 3. the loss line: an EMA across epochs over every batch ----------------------------------





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


# --- 4. shared x ranges and round ticks --------------------------------------------------------



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


# --- 5. without colour, each series has its own marker -----------------------------------------

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


# --- 6. the Digits tab flows into the width and scrolls by keyboard ---------------------------

async def test_digits_flow_into_the_width_and_scroll_by_keyboard(tiny, tmp_path):
    app = quick_app(tiny, tmp_path)
    async with app.run_test(size=(100, 30), ) as pilot:
        await run_to_end(app, pilot)
        await pilot.press("3")
        await pilot.pause(0.2)
        grid = app.query_one("#digit-grid")
        assert grid.styles.grid_size_columns == 2
        assert app.focused is grid
        await pilot.press("pagedown")
        await pilot.pause(0.2)
        assert grid.scroll_y > 0
    app = quick_app(tiny, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await run_to_end(app, pilot)
        await pilot.press("3")
        await pilot.press("down", "down", "down")
        await pilot.pause(0.2)
        assert app.query_one("#digit-grid").scroll_y > 0


# --- 7. the footer at 80 columns, Escape, and one key into the form ----------------------------

async def test_footer_keeps_quit_and_the_tabs_keys_at_80_columns(tiny, tmp_path):
    app = quick_app(tiny, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await run_to_end(app, pilot)
        for i, tab in enumerate(TABS, start=1):
            await pilot.press(str(i))
            await pilot.pause(0.2)
            keys = {fk.key: fk for fk in app.query(FooterKey)}
            assert "q" in keys and keys["q"].region.right <= 80, tab
            focused = app.focused
            own = [b.key for b in getattr(focused, "BINDINGS", []) if getattr(b, "show", False)]
            for key in own:
                first = key.split(",")[0]
                assert first in keys and keys[first].region.right <= 80, (tab, key)


async def test_f_lands_in_the_first_field_and_the_footer_says_escape_leaves(tiny, tmp_path):
    app = quick_app(tiny, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("4")  # from another tab
        await pilot.press("f")
        assert app.focused is app.query_one("#f-hidden", Input)
        await pilot.press("3", "2")
        assert app.query_one("#f-hidden", Input).value == "32"
        await pilot.pause(0.2)
        assert "escape" in {fk.key for fk in app.query(FooterKey)}
        await pilot.press("escape")
        assert app.focused is None


# --- 8. Pause and Stop are disabled unless a run is going -------------------------------------

async def test_pause_and_stop_disabled_when_idle_and_p_says_why(tiny, tmp_path):
    app = quick_app(tiny, tmp_path, config=LONG)
    async with app.run_test(size=(100, 30)) as pilot:
        assert app.query_one("#pause", Button).disabled and app.query_one("#stop", Button).disabled
        await pilot.press("p")
        assert "nothing to pause" in app.main.status.note
        await pilot.press("s")
        await wait_for(pilot, lambda: app.main.state == "training")
        assert not app.query_one("#pause", Button).disabled
        await pilot.press("x")
        await wait_for(pilot, lambda: app.main.state == "stopped")
        await pilot.pause(0.1)
        assert app.query_one("#pause", Button).disabled and app.query_one("#stop", Button).disabled


# --- 9. the error of the field being edited; stale notes cleared ------------------------------

async def test_form_error_is_the_edited_fields_and_stale_notes_clear(tiny, tmp_path):
    app = quick_app(tiny, tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        app.query_one("#f-epochs", Input).focus()
        await pilot.press("0")
        app.query_one("#f-momentum", Input).focus()
        await pilot.press("2")
        message = str(app.query_one("#form-message").render())
        assert "momentum" in message and "epochs" not in message.split("(+")[0]
        await pilot.press("escape", "s")
        assert app.main.status.note.startswith("fix 2")
        app.query_one("#f-momentum", Input).focus()
        await pilot.press("0")  # replaces the selected text
        app.query_one("#f-epochs", Input).focus()
        await pilot.press("2")
        await pilot.pause(0.1)
        assert not app.main.form.errors
        assert not app.main.status.note.startswith("fix")


# --- 10. keys in a burst, Backspace included, stay in order -----------------------------------

@pytest.mark.parametrize("trial", range(5))
async def test_burst_with_backspaces_keeps_order(tiny, tmp_path, trial):
    app = quick_app(tiny, tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        field = app.query_one("#f-lr", Input)
        field.focus()
        await pilot.pause()
        field.cursor_position = len(field.value)
        field.selection = field.selection.cursor(len(field.value))
        await burst(app, pilot, ["backspace"] * 6 + list("0.02"))
        assert field.value == "0.02"
        await burst(app, pilot, list("5x") + ["backspace"] + ["backspace"] + list("1"))
        assert field.value == "0.021"


async def test_a_long_paste_is_cut_and_marked_not_dropped(tiny, tmp_path):
    from textual import events

    app = quick_app(tiny, tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        field = app.query_one("#f-lr", Input)
        field.focus()
        await pilot.pause()
        field.post_message(events.Paste("9" * 10_000))
        await pilot.pause(0.2)
        assert len(field.value) == 200
        assert "too long" in app.main.form.errors["lr"]
        assert "✗" in app.export_screenshot()


@pytest.mark.parametrize("text", ["0.5", "x" * 41])
async def test_a_paste_is_inserted_once_and_a_long_one_is_marked(tiny, tmp_path, text):
    from textual import events

    app = quick_app(tiny, tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        field = app.query_one("#f-lr", Input)
        field.focus()
        field.value = ""
        await pilot.pause()
        field.post_message(events.Paste(text))
        await pilot.pause(0.2)
        assert field.value == text  # once, not twice (Input's own handler ran as well)
        if len(text) > 40:
            assert "too long" in app.main.form.errors["lr"]


# --- 11-14. the CLI ------------------------------------------------------------------------------





