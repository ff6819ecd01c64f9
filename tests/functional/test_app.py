"""Pilot tests of the dashboard on a tiny seeded dataset handed in through make_app."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from helpers import raising_entry, start_and_wait_for_an_epoch, wait_for
from textual.widgets import Input, Select

from mnist_tui.core.config import TrainConfig
from mnist_tui.ui.app import make_app
from mnist_tui.ui.widgets.confusion_table import ConfusionTable
from mnist_tui.ui.widgets.digit_view import DigitView
from mnist_tui.ui.widgets.metric_chart import MetricChart
from mnist_tui.ui.widgets.mistakes_view import MistakesView

QUICK = TrainConfig(hidden=16, epochs=3, batch_size=32, lr=0.05)
WEAK = TrainConfig(hidden=4, epochs=1, batch_size=64, lr=0.01)  # leaves mistakes in the test set
LONG = TrainConfig(hidden=64, epochs=1000, batch_size=2, lr=0.001)  # ~1 min: never ends by itself in a test




async def finish_run(app, pilot) -> None:
    await pilot.press("s")
    await wait_for(pilot, lambda: app.main.state in ("done", "stopped", "diverged", "failed"))


async def test_start_reaches_charts_table_digits_and_mistakes(tiny):
    app = make_app(tiny, config=QUICK, progress_interval=0)
    async with app.run_test(size=(80, 24)) as pilot:
        await finish_run(app, pilot)
        assert app.main.state == "done"
        assert app.main.history["epoch"] == [1, 2, 3]
        loss = app.query_one("#loss-chart", MetricChart)
        assert loss.series["test"].ys == app.main.history["test_loss"]
        assert len(loss.series["smoothed"].xs) >= 3
        acc = app.query_one("#acc-chart", MetricChart)
        assert acc.series["test"].ys[-1] == pytest.approx(100 * app.main.history["test_acc"][-1])
        table = app.query_one("#confusion", ConfusionTable)
        total = sum(int(str(table.get_cell(str(t), str(p))).strip() or 0)
                    for t in range(10) for p in range(10)
                    if str(table.get_cell(str(t), str(p))).strip() != "·")
        assert total == tiny.n_test
        digits = [v for v in app.query(DigitView) if v.id.startswith("digit-")]
        assert all("true" in str(v.render()) for v in digits)
        assert "test accuracy" in app.main.status.build().plain


async def test_pause_resume_and_stop(tiny):
    app = make_app(tiny, config=LONG, progress_interval=0.05)
    async with app.run_test(size=(80, 24)) as pilot:
        await start_and_wait_for_an_epoch(app, pilot)
        await pilot.press("p")
        assert app.main.state == "paused" and app.main.handle.alive
        await pilot.pause(0.3)
        frozen = len(app.main.history["epoch"])
        await pilot.pause(0.5)
        assert len(app.main.history["epoch"]) <= frozen + 1  # at most the epoch that was ending
        still = len(app.main.history["epoch"])
        await pilot.pause(0.5)
        assert len(app.main.history["epoch"]) == still
        await pilot.press("p")
        assert app.main.state == "training"
        await wait_for(pilot, lambda: len(app.main.history["epoch"]) > still)
        await pilot.press("x")
        await wait_for(pilot, lambda: app.main.state == "stopped")
        assert app.main.run_over(2)
        assert "STOPPED" in app.main.status.build().plain


@pytest.mark.parametrize(
    "field, bad",
    [("hidden", "0"), ("hidden", "5000"), ("epochs", ""), ("lr", "nan"), ("lr", "inf"),
     ("lr", "abc"), ("batch_size", "70000"), ("momentum", "1"), ("weight_decay", "-1"),
     ("seed", "-3"), ("seed", "١"), ("hidden", "9" * 10000)],
)
async def test_an_invalid_field_refuses_start_with_an_inline_message(tiny, field, bad):
    app = make_app(tiny, config=QUICK)
    async with app.run_test(size=(80, 24)) as pilot:
        field_input = app.query_one(f"#f-{field}", Input)
        field_input.value = bad
        await pilot.pause()
        mark = app.query_one(f"#m-{field}")
        assert "✗" in str(mark.render())
        assert "✗" in str(app.query_one("#form-message").render())
        await pilot.click("#start")
        await pilot.pause(0.1)
        assert app.main.state == "idle" and app.main.run_id == 0
        field_input.value = str(getattr(QUICK, field))
        await pilot.pause()
        assert "✗" not in str(mark.render())


async def test_keys_work_after_escape_from_the_form_and_enter_starts(tiny):
    app = make_app(tiny, config=QUICK, progress_interval=0)
    async with app.run_test(size=(80, 24)) as pilot:
        app.query_one("#f-epochs", Input).focus()
        await pilot.press("s")  # typed into the field (replacing the selection), not a command
        assert app.main.state == "idle" and app.query_one("#f-epochs", Input).value == "s"
        await pilot.press("backspace", "3", "escape")
        assert app.focused is None
        await pilot.press("p")  # with no run, pause does nothing and nothing breaks
        assert app.main.state == "idle"
        app.query_one("#f-hidden", Input).focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.main.state == "done")


async def test_mistakes_browser_navigates_and_filters(tiny):
    app = make_app(tiny, config=WEAK, progress_interval=0)
    async with app.run_test(size=(80, 24)) as pilot:
        await finish_run(app, pilot)
        view = app.query_one(MistakesView)
        await pilot.press("4")
        assert app.focused is view
        n = len(view.indices)
        assert n > 2
        first = view.current
        await pilot.press("right")
        assert view.position == 1
        await pilot.press("j")
        assert view.position == 2
        await pilot.press("k", "left")
        assert view.current == first
        await pilot.press("left")
        assert view.position == n - 1  # wraps around
        assert f"{n} / {n} misclassified" in str(view.query_one("#mistake-count").render())
        proba = app.query_one(MistakesView).proba
        conf = proba[view.indices, proba[view.indices].argmax(1)]
        assert np.all(np.diff(conf) <= 0)  # most confidently wrong first
        true_cls = int(tiny.test_labels[view.indices[0]])
        view.query_one("#filter-true", Select).value = true_cls
        await pilot.pause()
        assert len(view.indices) and all(tiny.test_labels[i] == true_cls for i in view.indices)
        view.query_one("#filter-pred", Select).value = true_cls
        await pilot.pause()
        assert all(proba[i].argmax() == true_cls for i in view.indices)  # diagonal: right ones
        assert "correct" in str(view.query_one("#mistake-count").render())


async def test_confusion_cell_opens_its_samples(tiny):
    app = make_app(tiny, config=WEAK, progress_interval=0)
    async with app.run_test(size=(80, 24)) as pilot:
        await finish_run(app, pilot)
        await pilot.press("2")
        table = app.query_one("#confusion", ConfusionTable)
        assert app.focused is table
        await pilot.press("down", "down", "right")  # true 2, predicted 1 (column 0 is the label)
        await pilot.press("enter")
        view = app.query_one(MistakesView)
        assert (view.true_class, view.pred_class) == (2, 1)
        assert app.query_one("TabbedContent").active == "mistakes"
        for i in view.indices:
            assert tiny.test_labels[i] == 2 and view.proba[i].argmax() == 1


async def test_live_learning_rate_change_reaches_the_trainer(tiny):
    app = make_app(tiny, config=LONG, progress_interval=0.05)
    async with app.run_test(size=(80, 24)) as pilot:
        await start_and_wait_for_an_epoch(app, pilot)
        app.query_one("#f-lr", Input).focus()
        app.query_one("#f-lr", Input).value = "0.002"
        await pilot.pause()
        assert app.main.live.lr is None  # typed, not yet applied: Enter applies it
        await pilot.press("enter")
        assert app.main.live.lr == 0.002
        assert app.query_one("#row-hidden").has_class("-next-run")
        n = len(app.main.history["epoch"])
        await wait_for(pilot, lambda: len(app.main.history["epoch"]) > n + 1)
        assert app.main.history["lr"][-1] <= 0.002
        await pilot.press("escape", "x")  # leave the field first: x would be typed into it
        await wait_for(pilot, lambda: app.main.state == "stopped")


async def test_divergence_is_shown_and_the_app_stays_usable(tiny):
    app = make_app(tiny, config=TrainConfig(hidden=16, epochs=3, lr=10, momentum=0.99, batch_size=600))
    async with app.run_test(size=(80, 24)) as pilot:
        await finish_run(app, pilot)
        assert app.main.state == "diverged"
        assert "learning rate" in app.main.status.build().plain
        app.query_one("#f-lr", Input).value = "0.05"
        app.query_one("#f-momentum", Input).value = "0.9"
        app.query_one("#f-batch_size", Input).value = "32"
        await pilot.pause()
        await finish_run(app, pilot)
        assert app.main.state == "done" and app.main.history["epoch"] == [1, 2, 3]


async def test_an_exception_in_training_is_shown_not_fatal(tiny):
    app = make_app(tiny, config=QUICK)
    app.engine.entry = raising_entry
    async with app.run_test(size=(80, 24)) as pilot:
        await finish_run(app, pilot)
        assert app.main.state == "failed" and "simulated fault" in app.main.status.build().plain
        assert app.is_running


async def test_quit_during_training_ends_cleanly_and_fast(tiny):
    baseline = threading.active_count()
    app = make_app(tiny, config=LONG, progress_interval=0.05)
    async with app.run_test(size=(80, 24)) as pilot:
        await start_and_wait_for_an_epoch(app, pilot)
        t0 = time.perf_counter()
        await pilot.press("q")
    assert app.main.run_over(1.0)
    # A hang guard, not a speed figure (it took 1.25 s at a load of 8 on 2 cores): quitting
    # must not wait out the run's epoch (LONG: many seconds), only a stop at its next batch.
    assert time.perf_counter() - t0 < 4.0
    assert app.main.handle.process.exitcode is not None  # the run's process is gone
    # The app's helper threads (asyncio's executor, the fork server's warm-up) end with it;
    # a run's reader thread left over would be a leak.
    extra = [t.name for t in threading.enumerate()[baseline:] if t.name.startswith("run-")]
    assert extra == []


async def test_quit_while_paused(tiny):
    app = make_app(tiny, config=LONG, progress_interval=0.05)
    async with app.run_test(size=(80, 24)) as pilot:
        await start_and_wait_for_an_epoch(app, pilot)
        await pilot.press("p")
        await pilot.press("q")
    assert app.main.run_over(1.0)


async def test_start_again_starts_a_fresh_run_with_the_form_values(tiny):
    app = make_app(tiny, config=QUICK, progress_interval=0)
    async with app.run_test(size=(80, 24)) as pilot:
        await finish_run(app, pilot)
        first = list(app.main.history["test_loss"])
        app.query_one("#f-epochs", Input).value = "2"
        app.query_one("#f-hidden", Input).value = "8"
        await pilot.pause()
        await finish_run(app, pilot)
        assert app.main.history["epoch"] == [1, 2] and app.main.model.n_hidden == 8
        assert app.main.history["test_loss"] != first[:2]


# --- issue 5: inside the network, drawing, checkpoints in the app --------------------------

from mnist_tui.core import checkpoint  # noqa: E402
from mnist_tui.ui.widgets.draw_canvas import DrawCanvas  # noqa: E402
from mnist_tui.ui.widgets.steps_panel import StepsPanel  # noqa: E402
from mnist_tui.ui.widgets.weights_grid import WeightsGrid  # noqa: E402


async def test_network_tab_shows_live_shapes_norms_and_dead_units(tiny):
    app = make_app(tiny, config=TrainConfig(hidden=12, epochs=2, batch_size=40, lr=0.05), progress_interval=0)
    async with app.run_test(size=(100, 30)) as pilot:
        await finish_run(app, pilot)
        await pilot.press("5")
        text = app.query_one(StepsPanel).build().plain
        assert "dW1 (784, 12) = Xᵀ (784, 40) · dZ1 (40, 12)" in text
        assert "‖dW1‖" in text and "dead ReLUs" in text
        lr = app.query_one("#lr-chart", MetricChart).series["lr"]
        assert len(lr.xs) >= 2 and lr.ys[0] > lr.ys[-1]  # cosine decay is on the chart
        norms = app.query_one("#norm-chart", MetricChart).series
        assert len(norms["W1"].ys) == 2 and len(norms["dW1"].ys) >= 2
        assert len(app.query_one("#dead-chart", MetricChart).series["dead"].ys) == 2


async def test_weights_grid_pages_through_the_units(tiny):
    app = make_app(tiny, config=TrainConfig(hidden=12, epochs=1, batch_size=64), progress_interval=0)
    async with app.run_test(size=(100, 30)) as pilot:
        await finish_run(app, pilot)
        await pilot.press("6")
        grid = app.query_one(WeightsGrid)
        assert app.focused is grid and grid.W1.shape == (784, 12)
        per = grid.per_page
        assert 1 <= per < 12
        assert "units 0–" in grid.render().plain
        await pilot.press("right")
        assert grid.first == per and f"units {per}–" in grid.render().plain
        await pilot.press("left")
        assert grid.first == 0


async def test_draw_by_keyboard_and_mouse_shows_live_probabilities(tiny):
    app = make_app(tiny, config=TrainConfig(hidden=12, epochs=1, batch_size=64), progress_interval=0)
    async with app.run_test(size=(100, 30)) as pilot:
        await finish_run(app, pilot)
        await pilot.press("7")
        canvas = app.query_one(DrawCanvas)
        assert app.focused is canvas
        await pilot.press("space", "right", "space", "down", "down", "space")
        assert canvas.ink.sum() > 0
        bars = str(app.query_one("#draw-digit").render())
        assert "prediction:" in bars and "%" in bars
        await pilot.press("c")
        assert canvas.ink.sum() == 0
        assert await pilot.mouse_down(canvas, offset=(5, 3))
        await pilot.hover(canvas, offset=(12, 6))
        await pilot.mouse_up(canvas, offset=(12, 6))
        assert canvas.ink.sum() > 0 and canvas.dragging == 0
        drawn = canvas.ink.sum()
        await pilot.mouse_down(canvas, offset=(5, 3), button=3)  # right button erases
        await pilot.mouse_up(canvas, offset=(5, 3))
        assert canvas.ink.sum() < drawn


async def test_save_then_load_in_the_app_continues_the_curves(tiny, tmp_path):
    app = make_app(tiny, config=TrainConfig(hidden=12, epochs=2, batch_size=64), progress_interval=0,
                   save_dir=tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await finish_run(app, pilot)
        await pilot.press("w")
        await pilot.pause()
        saved = list(tmp_path.glob("*.npz"))
        assert len(saved) == 1
    _, _, history = checkpoint.load(saved[0])
    loaded = checkpoint.load(saved[0])
    app = make_app(tiny, loaded=loaded, load_path=str(saved[0]), progress_interval=0)
    async with app.run_test(size=(100, 30)) as pilot:
        assert app.main.history["epoch"] == [1, 2]
        assert app.query_one("#f-hidden", Input).value == "12"
        await finish_run(app, pilot)
        assert app.main.history["epoch"] == [1, 2, 3, 4]  # continued, not restarted
        assert app.main.history["test_loss"][:2] == history["test_loss"]


@pytest.mark.parametrize("content, words", [(b"not an npz", "no zip header"), (None, "not found"),
                                            ("fifo", "not a regular file")])
async def test_a_bad_checkpoint_in_the_app_changes_nothing(tiny, tmp_path, content, words):
    import os

    path = tmp_path / "bad.npz"
    if content == "fifo":
        os.mkfifo(path)  # opening it to read would block until a writer comes: never
    elif content is not None:
        path.write_bytes(content)
    app = make_app(tiny, config=QUICK, progress_interval=0)
    async with app.run_test(size=(100, 30)) as pilot:
        await finish_run(app, pilot)
        before = app.main.history.epoch_columns()
        model = app.main.model
        await pilot.press("l")
        await pilot.pause()
        app.screen.query_one("#load-path", Input).value = str(path)
        await pilot.press("enter")
        await wait_for(pilot, lambda: words in app.main.status.build().plain, timeout=5)
        assert app.main.history.epoch_columns() == before and app.main.model is model and app.main.state == "done"


async def test_clicking_a_confusion_cell_opens_its_samples(tiny):
    app = make_app(tiny, config=WEAK, progress_interval=0)
    async with app.run_test(size=(100, 30)) as pilot:
        await finish_run(app, pilot)
        await pilot.press("2")
        table = app.query_one("#confusion", ConfusionTable)
        # column 0 is the 10-wide label; each class column is 5 wide: click true 3, predicted 3
        assert await pilot.click(table, offset=(10 + 3 * 5 + 2, 1 + 3))
        await pilot.click(table, offset=(10 + 3 * 5 + 2, 1 + 3))
        await pilot.pause()
        view = app.query_one(MistakesView)
        assert (view.true_class, view.pred_class) == (3, 3) and not view.wrong
        assert all(tiny.test_labels[i] == 3 and view.proba[i].argmax() == 3 for i in view.indices)


# --- issue 6: the Runs view ----------------------------------------------------------------

from mnist_tui.ui.widgets.runs_view import RunsView  # noqa: E402


async def test_runs_view_lists_overlays_reruns_and_deletes(tiny, tmp_path):
    db = tmp_path / "h.sqlite"
    app = make_app(tiny, config=QUICK, progress_interval=0, db_path=db)
    async with app.run_test(size=(100, 30)) as pilot:
        await finish_run(app, pilot)
        app.query_one("#f-hidden", Input).value = "8"
        app.query_one("#f-epochs", Input).value = "2"
        await pilot.pause()
        await finish_run(app, pilot)
        await pilot.press("8")
        view = app.query_one(RunsView)
        assert [r["id"] for r in view.runs] == [2, 1]
        assert [r["status"] for r in view.runs] == ["done", "done"]
        await pilot.press("down", "space")  # overlay run 1
        acc = app.query_one("#acc-chart", MetricChart)
        assert "#1" in acc.series and len(acc.series["#1"].xs) == 3
        await pilot.press("space")
        assert "#1" not in acc.series
        await pilot.press("a")  # run again with run 1's config
        assert app.query_one("TabbedContent").active == "train"
        assert app.query_one("#f-hidden", Input).value == "16"
        await pilot.press("8", "down", "d")
        assert len(view.runs) == 2  # the first d only asks
        await pilot.press("d")
        assert [r["id"] for r in view.runs] == [2]


async def test_a_corrupt_history_does_not_stop_training_in_the_app(tiny, tmp_path):
    db = tmp_path / "h.sqlite"
    db.write_bytes(b"garbage" * 50)
    app = make_app(tiny, config=QUICK, progress_interval=0, db_path=db)
    async with app.run_test(size=(100, 30)) as pilot:
        await finish_run(app, pilot)
        assert app.main.state == "done" and app.main.history["epoch"] == [1, 2, 3]
        await pilot.press("8")
        assert "unavailable" in str(app.query_one("#runs-help").render())
    assert db.read_bytes() == b"garbage" * 50


@pytest.mark.parametrize("size, shown", [((80, 24), False), ((120, 40), False), ((160, 50), True)])
async def test_a_large_terminal_shows_the_matrix_and_a_digit_beside_the_charts(tiny, size, shown):
    app = make_app(tiny, config=QUICK, progress_interval=0)
    async with app.run_test(size=size) as pilot:
        await finish_run(app, pilot)
        await pilot.pause()
        side = app.query_one("#wide-side")
        assert side.display == shown and (side.region.width > 0) == shown
        if shown:
            assert "true" in str(app.query_one("#side-digit").render())
            table = app.query_one("#confusion-side", ConfusionTable)
            assert str(table.get_cell("0", "0")).strip() == str(app.query_one("#confusion", ConfusionTable).get_cell("0", "0")).strip()


async def test_quit_button_ends_the_app(tiny):
    app = make_app(tiny, config=LONG, progress_interval=0.05)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("s")
        await wait_for(pilot, lambda: app.main.state == "training")
        assert await pilot.click("#quit")
        await pilot.pause()
    assert app.main.run_over(1.0) and not app.is_running


async def test_a_run_in_the_app_matches_mnist_tui_train_bit_for_bit(tiny_dir, tmp_path, capsys):
    """The app trains in a child process, the CLI in its own: the same config gives the very
    same per-epoch metrics (floats compared exactly)."""
    import json

    from mnist_tui.cli import main
    from mnist_tui.core import data

    assert main(["train", "--json", "--data-dir", str(tiny_dir), "--db", str(tmp_path / "c.sqlite"),
                 "--hidden", "16", "--epochs", "3", "--batch-size", "32", "--lr", "0.05"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    cli = [e for e in lines if e["event"] == "epoch"]
    app = make_app(data.load_dir(tiny_dir), config=QUICK, db_path=tmp_path / "a.sqlite")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("s")
        await wait_for(pilot, lambda: app.main.state == "done")
        for key in ("epoch", "train_loss", "train_acc", "test_loss", "test_acc", "lr"):
            assert app.main.history[key] == [e[key] for e in cli], key


async def test_runs_tab_shows_damaged_and_lost_rows_and_strips_escapes(tiny, tmp_path):
    import sqlite3

    from mnist_tui.core.store import Recorder
    from mnist_tui.ui.widgets.runs_view import RunsView

    db = tmp_path / "h.sqlite"
    for _ in range(3):
        rec = Recorder(db, QUICK)
        rec.finish("done")
    con = sqlite3.connect(db)
    con.execute("UPDATE runs SET config = '[1,2]', started_at = 1e300, seconds = 'x' WHERE id = 1")
    con.execute("UPDATE runs SET status = 'running', pid = 2147483646, "
                "config = '{\"hidden\": \"\\u001b[2J\\u001b]0;pwned\\u0007\"}' WHERE id = 2")
    con.execute("INSERT INTO epochs (run_id, epoch, test_acc, test_loss) VALUES (1, 1, 'high', NULL)")
    con.commit()
    con.close()
    app = make_app(tiny, config=QUICK, progress_interval=0, db_path=db)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("8")
        view = app.query_one(RunsView)
        await wait_for(pilot, lambda: len(view.runs) == 3)
        by_id = {r["id"]: r for r in view.runs}
        assert by_id[1]["damaged"] and by_id[2]["status"] == "lost"
        assert "\x1b" not in repr(by_id[2]["config"]) and "\x07" not in repr(by_id[2]["config"])
        await pilot.press("end", "space")  # overlay the damaged run: no crash
        await pilot.pause()
        assert app.is_running
        screen = app.export_screenshot()
        assert [w for w in ("damaged", "lost", "pwned") if w not in screen] == []


async def test_network_shapes_follow_the_form(tiny, tmp_path):
    from mnist_tui.core import checkpoint
    from mnist_tui.core.model import Perceptron
    from mnist_tui.ui.widgets.steps_panel import StepsPanel

    path = checkpoint.save(tmp_path / "n20.npz", Perceptron(20, seed=0),
                           TrainConfig(hidden=20, batch_size=8), {})
    app = make_app(tiny, config=TrainConfig(hidden=16, batch_size=32))
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("5")
        steps = app.query_one(StepsPanel)
        assert "dW1 (784, 16) = Xᵀ (784, 32)" in steps.build().plain
        app.query_one("#f-hidden", Input).value = "40"
        await pilot.pause()
        assert "dW1 (784, 40)" in steps.build().plain
        app.main._load_path(str(path))
        await wait_for(pilot, lambda: "dW1 (784, 20) = Xᵀ (784, 8)" in steps.build().plain)


async def test_the_same_message_is_not_stacked_and_toasts_are_capped(tiny):
    app = make_app(tiny, config=TrainConfig(hidden=4, epochs=1, batch_size=9999))  # cannot start
    async with app.run_test(size=(80, 24)) as pilot:
        seen = []
        for _ in range(30):
            await pilot.press("s")
            seen.append([n.message for n in app._notifications])
        # never more than one toast of it at a time (two at most if one expired, 5 s, while a
        # slow machine took the 30 keys), and it was shown
        assert all(len(shown) <= 2 and len(set(shown)) <= 1 for shown in seen)
        assert max(len(shown) for shown in seen) >= 1
        # The cap counts what shows: cleared, the ten below start from none (on a loaded
        # machine the toast of `s` could expire between the two counts, leaving 3 of 4).
        app.clear_notifications()
        for i in range(10):
            app.notify(f"message {i}", timeout=120)  # none expires on a slow machine
        await pilot.pause()
        assert len(app._notifications) == app.MAX_TOASTS


async def test_compare_opens_from_the_runs_tab_with_what_differs(tiny, tmp_path):
    from mnist_tui.ui.screens.compare import CompareScreen
    from mnist_tui.ui.widgets.runs_view import RunsView

    db = tmp_path / "h.sqlite"
    app = make_app(tiny, config=QUICK, progress_interval=0, db_path=db)
    async with app.run_test(size=(80, 24)) as pilot:
        await finish_run(app, pilot)
        app.query_one("#f-hidden", Input).value = "8"
        await pilot.pause()
        await finish_run(app, pilot)
        await pilot.press("8")
        await wait_for(pilot, lambda: len(app.query_one(RunsView).runs) == 2)
        await pilot.press("c")  # nothing marked: told how
        assert not isinstance(app.screen, CompareScreen)
        await pilot.press("space", "down", "space", "c")
        await wait_for(pilot, lambda: isinstance(app.screen, CompareScreen))
        body = app.screen.describe().plain
        assert "hidden: #1=16  #2=8" in body
        assert "epochs" not in body.split("best test")[0]  # only what differs
        assert {"#1", "#2"} <= set(app.screen.query_one("#compare-chart").series)
        await pilot.press("escape")
        assert not isinstance(app.screen, CompareScreen)


async def test_a_race_from_the_form_runs_each_racer_pauses_stops_and_records(tiny, tmp_path):
    import sqlite3

    from mnist_tui.ui.screens.race import RaceScreen

    db = tmp_path / "h.sqlite"
    app = make_app(tiny, config=TrainConfig(hidden=16, epochs=1000, batch_size=8),
                   progress_interval=0.05, db_path=db)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("r")
        app.query_one("#race", Input).value = "lr 0.1"
        await pilot.press("enter")  # a race of one value: refused, nothing starts
        assert not isinstance(app.screen, RaceScreen)
        app.query_one("#race", Input).value = "lr 0.1,0.01,0.001"
        app.query_one("#race", Input).focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, RaceScreen))
        race = app.screen
        await wait_for(pilot, lambda: all(len(r.history["epoch"]) >= 1 for r in race.racers), 60)
        assert {r.handle.pid for r in race.racers} and len({r.handle.pid for r in race.racers}) == 3
        await pilot.press("down", "space")  # pause the second racer only
        assert [r.paused for r in race.racers] == [False, True, False]
        await pilot.press("escape")  # still running: stays
        assert app.screen is race
        await pilot.press("x")
        await wait_for(pilot, lambda: race.over, 30)
        assert {r.state for r in race.racers} == {"stopped"}
        await pilot.press("escape")
        assert app.screen is not race
    con = sqlite3.connect(db)
    rows = con.execute("SELECT config, status FROM runs ORDER BY id").fetchall()
    con.close()
    import json

    assert sorted(json.loads(c)["lr"] for c, _ in rows) == [0.001, 0.01, 0.1]
    assert {s for _, s in rows} == {"stopped"} and {json.loads(c)["seed"] for c, _ in rows} == {0}


async def test_a_sweep_from_its_tab_runs_trials_shows_them_and_records_runs(tiny, tmp_path):
    import sqlite3

    from textual.widgets import Button

    from mnist_tui.ui.panes.sweep import SweepPane

    db = tmp_path / "h.sqlite"
    app = make_app(tiny, db_path=db)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("9")
        pane = app.query_one(SweepPane)
        app.query_one("#sw-lr", Input).value = "0.5:0.001"  # backwards: refused, nothing starts
        app.query_one("#sweep-start", Button).press()
        await pilot.pause()
        assert "above the high end" in str(app.query_one("#sw-message").render())
        assert pane.stop_event is None
        for key, value in (("lr", "0.001:0.3"), ("hidden", "8,16"), ("batch", "16,32"),
                           ("val", "100"), ("trials", "6"), ("epochs", "2"), ("study", "t")):
            app.query_one(f"#sw-{key}", Input).value = value
        app.query_one("#sweep-start", Button).press()
        await wait_for(pilot, lambda: pane.stop_event is not None)
        await wait_for(pilot, lambda: pane.stop_event is None, timeout=180)
        finished = [r for r in pane.rows if r.state in ("complete", "pruned")]
        assert len(finished) >= 6
        assert app.query_one("#sw-table").row_count == len(pane.rows)
        assert app.query_one("#sw-best").series["best"].ys  # best so far, drawn
        assert len([n for n in app.query_one("#sw-parallel").series if n.startswith("t")]) >= 6
        assert "best trial" in str(app.query_one("#sw-message").render())
    con = sqlite3.connect(db)
    tagged = con.execute("SELECT count(*) FROM runs WHERE study = 't'").fetchone()[0]
    con.close()
    assert tagged == len(pane.rows)


async def test_choosing_fashion_in_the_form_downloads_it_and_every_pane_follows(
        tiny, fashion_mirror, tmp_path):
    from textual.widgets import Select

    from mnist_tui.ui.widgets.confusion_table import ConfusionTable

    app = make_app(tiny, config=TrainConfig(hidden=16, epochs=1, batch_size=256),
                   progress_interval=0, db_path=tmp_path / "h.sqlite")
    async with app.run_test(size=(100, 30)) as pilot:
        app.query_one("#f-dataset", Select).value = "fashion"
        await pilot.pause()
        await pilot.press("s")
        await wait_for(pilot, lambda: app.main.dataset.name == "fashion", timeout=120)
        await wait_for(pilot, lambda: app.main.state == "done", timeout=120)
        assert app.main.dataset.n_train == 60000 and app.dataset.classes[9] == "Boot"
        table = app.query_one("#confusion", ConfusionTable)
        headers = [str(c.label) for c in table.columns.values()]
        assert any("Boot" in h for h in headers) and any("Trou" in h for h in headers)
        options = [str(label) for label, _ in app.query_one("#filter-true", Select)._options]
        assert "9 Boot" in options
        assert 0.5 < app.main.history["test_acc"][-1] < 1.0


async def test_mistakes_filter_by_learning_history_with_each_samples_epochs(tiny):
    from textual.widgets import Select

    app = make_app(tiny, config=TrainConfig(hidden=4, epochs=6, batch_size=64, lr=0.02),
                   progress_interval=0)
    async with app.run_test(size=(80, 24)) as pilot:
        await finish_run(app, pilot)
        await pilot.press("4")
        view = app.query_one(MistakesView)
        assert view.history is not None and view.history.epochs == 6
        app.query_one("#filter-kind", Select).value = "learned late"
        await pilot.pause()
        late = view.history.mask("learned late")
        assert len(view.indices) == int(late.sum()) > 0 and late[view.indices].all()
        line = str(app.query_one("#mistake-history").render())
        i = view.current
        assert line.startswith(f"#{i} {view.history.timeline(i)}") and "learned @" in line
