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


# --- §5: what the screens say --------------------------------------------------------------


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


@pytest.mark.parametrize("size", [(80, 24), (100, 30), (120, 40)])
async def test_runs_tab_shows_seed_round_floats_separate_columns_and_live_changes(tiny, tmp_path,
                                                                                  size):
    db, (a, b, c) = runs_db(tmp_path)
    app = make_app(tiny, config=QUICK, db_path=db)
    async with app.run_test(size=size) as pilot:
        await burst(app, pilot, ["8"])
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


def test_config_words_round_floats_and_show_live_changes():
    from mnist_tui.core.render import config_value, config_words

    words = config_words({"hidden": 16, "lr": 0.0646642271741456, "momentum": 0.6577064848858,
                          "weight_decay": 3.8512e-05}, live={"lr": 0.05})
    assert words.startswith("n=16 lr=0.0647→0.05 m=0.658") and "wd=3.85e-05" in words, words
    assert config_value(0.1) == "0.1" and config_value(128) == "128" and config_value("adam") == "adam"


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


@pytest.fixture(scope="module")
def mnist():
    from mnist_tui.core import data

    return data.load_dir(data.PACKAGE_DATA_DIR)


@pytest.mark.parametrize("size", [(80, 24), (100, 30), (120, 40)])
async def test_suspects_draw_the_digit_and_the_mark_reads_whole_words(tmp_path, mnist, size):
    from helpers import add_fake_run

    db = tmp_path / "h.sqlite"
    for seed in range(3):
        add_fake_run(db, seed, [0, 7, 2, 3, 4, 5], [0.99, 0.95, 0.99, 0.99, 0.99, 0.99])
    app = make_app(mnist, config=QUICK, db_path=str(db))
    async with app.run_test(size=size) as pilot:
        await pilot.press("4")
        await burst(app, pilot, ["S"])
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "SuspectsScreen"
                       and app.screen.found)
        await burst(app, pilot, ["l"])
        await pilot.pause(0.3)
        lines = screen_lines(app)
        assert any("▀" in line for line in lines), "\n".join(lines)  # the digit, drawn
        assert any("label wrong" in line for line in lines), "\n".join(lines)


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


async def test_draw_nudge_says_what_changed_means(mnist):
    from mnist_tui.core import insight

    app = make_app(mnist, config=TrainConfig(hidden=16, epochs=1, batch_size=64))
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: app.main.state == "idle")
        await pilot.press("s")
        await wait_for(pilot, lambda: app.main.state == "done", timeout=60)
        await pilot.press("7")
        pane = app.query_one("DrawPane")
        x = mnist.test_images[0].astype(np.float64) / 255
        # a flip after 1 step that moved no pixel by more than 0.1
        frames = np.stack([x, np.clip(x + 0.001, 0, 1)])
        proba = np.zeros((2, 10))
        proba[0, 7], proba[1, 9] = 1, 1
        pane.last_nudge = insight.Nudge(9, frames, proba)
        pane._frames = [1]
        pane._next_frame()
        text = str(app.query_one("#draw-help").render())
        assert "1 steps" not in text and "after 1 step" in text, text
        assert "by more than 0.1" in text and "0 pixels changed," not in text, text


# --- §6: layout ------------------------------------------------------------------------------


def region_text(app, widget) -> list[str]:
    r = widget.region
    return [line[r.x:r.right] for line in screen_lines(app)[r.y:r.bottom]]


@pytest.mark.parametrize("size", [(80, 24), (100, 30)])
async def test_the_accuracy_chart_has_two_y_ticks_or_more(tiny, size):
    import re

    from mnist_tui.ui.widgets.metric_chart import MetricChart

    app = make_app(tiny, config=QUICK)
    async with app.run_test(size=size) as pilot:
        acc = app.query_one("#acc-chart", MetricChart)
        acc.set_series("test", [1, 2, 3], [94.7, 95.8, 96.5], color="red")  # a real run's
        acc.set_series("train", [1, 2, 3], [91.0, 95.0, 97.1], color="blue")
        acc.replot()
        await pilot.pause(0.3)
        lines = region_text(app, acc.plot)
        ticks = [line for line in lines if re.match(r"^\s*\d+(\.\d+)?\s*┤", line)]
        assert len(ticks) >= 2, "\n".join(lines)


async def test_the_unit_histogram_counts_are_whole_numbers(mnist):
    import re

    app = make_app(mnist, config=TrainConfig(hidden=16, epochs=1, batch_size=64))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("s")
        await wait_for(pilot, lambda: app.main.state == "done", timeout=60)
        await pilot.press("6")
        await burst(app, pilot, ["enter"])
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "UnitScreen")
        hist = app.screen.query_one("#unit-hist")
        hist.scroll_visible(animate=False)
        await pilot.pause(0.5)
        lines = [line[hist.region.x:] for line in screen_lines(app)]
        ticks = [m.group(1) for line in lines if (m := re.match(r"^\s*([\d.]+)\s*┤", line))]
        assert len(ticks) >= 2 and all("." not in t for t in ticks), "\n".join(lines)
        values = sorted(int(t) for t in ticks)  # round counts at a 1-2-5 step: 0, 500, 1000
        steps = {b - a for a, b in zip(values, values[1:], strict=False)}
        step = steps.pop()
        assert not steps and str(step).rstrip("0") in ("1", "2", "5"), ticks


@pytest.mark.parametrize("size", [(80, 24), (100, 30), (120, 40)])
async def test_no_wraps_on_the_digits_draw_network_and_runs_tabs(tiny, tmp_path, size):
    import re

    app = make_app(tiny, config=TrainConfig(hidden=128, epochs=10, batch_size=32, lr=0.05),
                   progress_interval=0, db_path=tmp_path / "h.sqlite")
    async with app.run_test(size=size) as pilot:
        await pilot.press("3")
        await pilot.pause(0.2)
        text = "\n".join(screen_lines(app))
        assert text.count("no sample yet") == 1, text  # said once, not per empty view
        await pilot.press("1")
        await finish_run(app, pilot)
        checks = {"3": r"test #\d+, epoch 10", "5": r"dZ1 \(\d+, 128\)", "8": r"d d: delete",
                  "7": r"c: clear"}
        for key, pattern in checks.items():
            await pilot.press(key)
            await pilot.pause(0.3)
            text = "\n".join(screen_lines(app)).replace("\u00a0", " ")
            assert re.search(pattern, text), (key, text)
        app.query_one("DrawPane").set_sample(tiny.test_images[0], int(tiny.test_labels[0]), "test #0")
        await pilot.pause(0.3)
        lines = screen_lines(app)
        assert any("← true" in line or "◀ ✓" in line for line in lines), "\n".join(lines)
        assert not any(line.strip() in ("true", "sees") for line in lines), "\n".join(lines)


async def test_the_race_charts_have_room_at_80x24(tiny):
    app = make_app(tiny, config=TrainConfig(hidden=8, epochs=2, batch_size=64), progress_interval=0)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("r")
        await burst(app, pilot, list("lr 0.3,0.1,0.03,0.01") + ["enter"])
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "RaceScreen")
        await wait_for(pilot, lambda: app.screen.over, timeout=60)
        await pilot.pause(0.5)
        for chart in app.screen.query("MetricChart"):
            assert chart.plot.size.height >= 8, (chart.id, chart.plot.size)


async def test_switching_to_fashion_after_an_mnist_checkpoint_says_so_and_drops_mnist_overlays(
        tiny, tmp_path):
    from dataclasses import replace

    from mnist_tui.core import checkpoint
    from mnist_tui.core.model import Perceptron

    ck = tmp_path / "m.npz"
    checkpoint.save(ck, Perceptron(16, seed=0), TrainConfig(hidden=16), {})
    db, (a, b, c) = runs_db(tmp_path)
    app = make_app(tiny, config=QUICK, db_path=db)
    async with app.run_test(size=(100, 30)) as pilot:
        app.main._load_path(str(ck))
        await wait_for(pilot, lambda: app.main.loaded is not None)
        await pilot.press("8")
        await burst(app, pilot, ["space"])  # an MNIST run drawn over the charts
        await wait_for(pilot, lambda: app.query_one("TrainPane").overlays)
        fashion = replace(tiny, name="fashion")
        app.main.form.set_config(replace(QUICK, dataset="fashion"))
        app.main._use_dataset(fashion)
        await pilot.pause(0.3)
        assert any("fresh" in t and "checkpoint" in t for t in toasts(app)), toasts(app)
        assert app.query_one("TrainPane").overlays == {}
        assert not [n for n in app.query_one("#acc-chart").series if n.startswith("#")]
        assert app.query_one(RunsView).overlay == set()


# --- §7: finding your way ----------------------------------------------------------------------


async def test_the_load_dialog_lists_checkpoints_newest_first_and_keeps_a_failed_path(tiny, tmp_path):
    import os

    from textual.widgets import OptionList

    from mnist_tui.core import checkpoint
    from mnist_tui.core.model import Perceptron

    old, new = tmp_path / "old.npz", tmp_path / "saves" / "new.npz"
    new.parent.mkdir()
    for path in (old, new):
        checkpoint.save(path, Perceptron(16, seed=0), TrainConfig(hidden=16), {})
    os.utime(old, (1e9, 1e9))
    db = tmp_path / "h.sqlite"
    with Store(db) as s:
        rid = s.start_run(TrainConfig(hidden=16))
        s.finish_run(rid, "done", str(old))  # the history knows this one
    app = make_app(tiny, config=QUICK, db_path=db, save_dir=new.parent)
    async with app.run_test(size=(100, 30)) as pilot:
        await burst(app, pilot, ["l"])
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "LoadDialog")
        options = app.screen.query_one(OptionList)
        listed = [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]
        assert len(listed) == 2 and "new.npz" in listed[0] and "old.npz" in listed[1], listed
        await burst(app, pilot, list("nowhere.npz") + ["enter"])
        await wait_for(pilot, lambda: app.screen is app.main)
        await wait_for(pilot, lambda: "not loaded" in app.main.status.note)
        await burst(app, pilot, ["l"])
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "LoadDialog")
        assert app.screen.query_one("#load-path").value == "nowhere.npz"
        assert "nowhere.npz" in str(app.screen.query_one("#load-error").render())
        await pilot.press("tab")  # (Tab then keys in one burst: issue 20 §2, another task)
        await burst(app, pilot, ["enter"])  # the list's first, newest, checkpoint
        await wait_for(pilot, lambda: app.main.loaded is not None)
        assert app.main.load_path == str(new)


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


@pytest.mark.parametrize("size", [(80, 24), (100, 30), (120, 40)])
async def test_every_tab_label_is_visible_whole_at_each_width(tiny, size):
    app = make_app(tiny, config=QUICK)
    async with app.run_test(size=size) as pilot:
        for key in "1902":
            await pilot.press(key)
            await pilot.pause(0.2)
            bar = screen_lines(app)[0]
            numbers = [w for w in bar.split() if w.isdigit()]
            assert numbers == list("1234567890"), (key, bar)
            from mnist_tui.ui.panes import PANES

            active = PANES["1234567890".index(key)].TITLE
            assert f"{key} {active}" in bar, (key, bar)


async def test_scrollbar_thumbs_stand_out_from_their_track(tiny, tmp_path):
    """Issue 20: dark teal thumbs on near-black were nearly invisible (Runs, Sweep, Compare,
    Unit, Suspects); a thumb is the only sign of hidden content. Without colour the thumb is
    drawn in reverse video (Textual's renderer), which NO_COLOR keeps."""
    app = make_app(tiny, config=QUICK)
    async with app.run_test(size=(80, 24)) as pilot:
        for key, selector in (("8", "#runs-table"), ("9", "#sw-table"), ("9", "#sw-left")):
            await pilot.press(key)
            styles = app.query_one(selector).styles
            background = app.query_one(selector).background_colors[1]
            thumb = background + styles.scrollbar_color  # as drawn, over the background
            track = background + styles.scrollbar_background
            assert thumb.brightness - max(track.brightness, background.brightness) >= 0.3, (
                selector, thumb, track)
