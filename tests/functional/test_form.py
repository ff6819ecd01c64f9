"""The training form: live edits (Enter, blur, bursts), errors on the edited fields, pastes, f, pause and stop."""

from __future__ import annotations

import pytest
from helpers import burst, wait_for
from textual.widgets import Button, Input
from textual.widgets._footer import FooterKey

from mnist_tui.core.config import TrainConfig
from mnist_tui.core.store import Store
from mnist_tui.ui.app import make_app

QUICK = TrainConfig(hidden=8, epochs=2, batch_size=32, lr=0.05)


LONG = TrainConfig(hidden=8, epochs=1000, batch_size=2, lr=0.05)  # still going when looked at (minutes)


def quick_app(tiny, tmp_path, config=QUICK, **kw):
    return make_app(tiny, config=config, progress_interval=0.02, db_path=tmp_path / "runs.sqlite", **kw)


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


async def test_the_resume_button_shows_its_whole_label_at_80_columns(tiny, tmp_path):
    """A fresh user's check: paused at 80x24, the button read `Resum` (its width was set by
    `Pause`, and a label set later does not widen it)."""
    app = make_app(tiny, config=LONG, save_dir=tmp_path, db_path=tmp_path / "h.sqlite")
    async with app.run_test(size=(80, 24)) as pilot:
        app.main.action_start()
        await wait_for(pilot, lambda: app.main.run_state.value == "training", 60)
        await pilot.press("p")
        await wait_for(pilot, lambda: app.main.run_state.value == "paused", 30)
        await pilot.pause(0.2)
        assert "Resume" in app.export_screenshot()
        app.main.action_stop()
        await wait_for(pilot, lambda: not app.main.run_state.going, 30)


async def test_escape_and_a_key_in_one_read_are_escape_then_the_key(tiny, tmp_path):
    """`Esc s` in one read (a burst over SSH) is parsed by Textual as Alt+s, which a field took
    as text: `32s` in the hidden field (a fresh user's check). It is Esc, then s: the field
    is left as typed and s starts the run."""
    from textual import events

    app = quick_app(tiny, tmp_path, config=LONG)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("f")
        field = app.query_one("#f-hidden", Input)
        assert app.focused is field
        before = field.value
        event = events.Key("alt+s", "s")  # what Textual's parser makes of "\x1bs"
        event.set_sender(app)
        app._driver.send_message(event)
        await wait_for(pilot, lambda: app.main.state in ("training", "starting", "done"))
        assert field.value == before
        assert app.focused is not field
        await pilot.press("x")
        await wait_for(pilot, lambda: app.main.state in ("stopped", "done"))
