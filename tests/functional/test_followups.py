"""What a new user still met after the round's fixes (issue 20, tried again from its words):
the Runs tab stale while shown, the focus lost when the sweep starts, an invisible Tab stop on
the tab bar, captions cut, counts of one in the plural."""

from __future__ import annotations

from helpers import burst, wait_for
from textual.widgets import DataTable, Input, Tabs

from mnist_tui.core.config import TrainConfig
from mnist_tui.core.render import plural
from mnist_tui.ui.app import make_app
from mnist_tui.ui.widgets.digit_view import caption_lines
from mnist_tui.ui.widgets.runs_view import RunsView

QUICK = TrainConfig(hidden=16, epochs=2, batch_size=32, lr=0.05)


async def test_the_runs_tab_shows_a_run_moving_while_it_is_shown(tiny, tmp_path):
    """A run's row read 'running 0 epochs' until the tab was left and opened again."""
    app = make_app(tiny, config=QUICK, progress_interval=0.05, db_path=tmp_path / "h.sqlite")
    async with app.run_test(size=(100, 30)) as pilot:
        await burst(app, pilot, ["s", "8"])
        await wait_for(pilot, lambda: app.main.state == "done", 60)
        view = app.query_one(RunsView)
        await wait_for(pilot, lambda: view.runs and view.runs[0]["status"] == "done"
                       and view.runs[0]["epochs"] == 2)
        assert app.query_one("TabbedContent").active == "runs"


async def test_starting_and_stopping_a_sweep_leaves_the_focus_on_its_trials(tiny, tmp_path):
    """The Start button, disabled while focused, left the focus nowhere (nothing showed where
    the keys went: `stop2`, typed for the study field, started a run and paused it)."""
    app = make_app(tiny, config=QUICK, db_path=tmp_path / "h.sqlite")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("9")
        for key, value in (("trials", "1"), ("workers", "1"), ("epochs", "1"), ("val", "100"),
                           ("hidden", "8"), ("batch", "32"), ("optimizer", "momentum")):
            app.query_one(f"#sw-{key}", Input).value = value
        app.set_focus(app.query_one("#sweep-start"))
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.focused, DataTable))
        assert app.focused.id == "sw-table"  # the table's cursor shows where the keys go
        app.set_focus(app.query_one("#sweep-stop"))
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.focused, DataTable))


async def test_enter_in_a_sweep_field_starts_it_and_escape_leaves_the_form(tiny, tmp_path):
    app = make_app(tiny, config=QUICK, db_path=tmp_path / "h.sqlite")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("9")
        field = app.query_one("#sw-study", Input)
        app.set_focus(field)
        await pilot.press("escape")
        assert app.focused is app.query_one("#sw-table")
        app.set_focus(field)
        field.value = "enter-starts"
        for key, value in (("trials", "1"), ("workers", "1"), ("epochs", "1"), ("val", "100"),
                           ("hidden", "8"), ("batch", "32")):
            app.query_one(f"#sw-{key}", Input).value = value
        await pilot.press("enter")
        await wait_for(pilot, lambda: not app.query_one("#sweep-stop").disabled
                       or "enter-starts" in str(app.query_one("#sw-message").render()))
        app.set_focus(app.query_one("#sweep-stop"))
        await pilot.press("enter")


async def test_the_tab_bar_shows_when_it_has_the_focus(tiny):
    """Tab from a tab's content reached the tab bar, which showed no focus at all."""
    app = make_app(tiny, config=QUICK)
    async with app.run_test(size=(100, 30)) as pilot:
        for tab in "1234567890":
            await burst(app, pilot, [tab])
            app.set_focus(app.query_one(Tabs))
            await pilot.pause()
            active = app.query_one(Tabs).query_one("Tab.-active")
            assert active.rich_style.reverse, tab


def test_a_caption_too_long_for_its_column_goes_on_two_lines_whole():
    assert caption_lines("what the model sees", 18) == ["what the model", "sees"]
    assert caption_lines("what the model sees", 40) == ["what the model sees"]
    assert caption_lines("the model's input, live", 0) == ["the model's input, live"]


def test_a_count_of_one_is_singular():
    assert [plural(n, "epoch") for n in (0, 1, 2)] == ["0 epochs", "1 epoch", "2 epochs"]


def test_whole_numbers_take_the_digits_0_9_only():
    """`train --epochs 1_0` trained 10 epochs, `--hidden +5` made 784-5-10, and `sweep --hidden
    ٣` ran n=3 while `train --hidden ٣` was refused (issue 21, item 10, tried again)."""
    import pytest

    from mnist_tui.core import sweep
    from mnist_tui.core.config import parse_field

    for bad in ("1_0", "+5", "٣", " 5 5"):
        with pytest.raises(ValueError):
            parse_field("epochs", bad)
        with pytest.raises(sweep.SweepError):
            sweep.parse_choices("hidden", f"8,{bad}")
    assert parse_field("hidden", " 64 ") == 64 and sweep.parse_choices("hidden", "8,16") == (8, 16)


def test_download_offline_says_mnist_ships_with_the_package(capsys):
    """`MNIST_TUI_OFFLINE=1 mnist-tui download` failed ("not downloading MNIST") although the
    package carries MNIST (the conftest sets MNIST_TUI_OFFLINE)."""
    from mnist_tui.cli import main

    assert main(["download"]) == 0
    assert "ships inside the package" in capsys.readouterr().out
