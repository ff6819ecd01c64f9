"""Focus never goes nowhere: after a race, after Escape from a filter or in Draw, on a screen
that scrolls, and the focused field plain to see. Keys are queued at the driver in one burst
(see tests/soak/test_bursts.py), not pressed one by one."""

from __future__ import annotations

import sys
from pathlib import Path

from helpers import wait_for
from textual.geometry import Region
from textual.widgets import Input, Select

from mnist_tui.core.config import TrainConfig
from mnist_tui.ui.app import make_app

sys.path.insert(0, str(Path(__file__).parents[1] / "soak"))
from test_bursts import footer_keys, inject  # noqa: E402


async def test_after_a_race_escape_does_not_go_back_to_the_race_field(tiny, tmp_path):
    """Back from a race, the focus is not in the race field and its text is gone: `8` used
    to type into it, and Enter to race the same again."""
    from mnist_tui.ui.screens.race import RaceScreen

    app = make_app(tiny, config=TrainConfig(hidden=8, epochs=1, batch_size=64),
                   save_dir=tmp_path, db_path=tmp_path / "h.sqlite")
    async with app.run_test(size=(100, 30)) as pilot:
        inject(app, ["r", *"lr 0.3,0.1", "enter"])
        await wait_for(pilot, lambda: isinstance(app.screen, RaceScreen))
        await wait_for(pilot, lambda: app.screen.over, timeout=60)
        inject(app, ["escape"])
        await wait_for(pilot, lambda: app.screen is app.main)
        await pilot.pause(0.2)
        race = app.main.query_one("#race", Input)
        assert app.focused is not race
        assert race.value == ""
        inject(app, ["8"])
        await pilot.pause(0.3)
        assert race.value == ""
        assert app.main.query_one("TabbedContent").active == "runs"


async def test_escape_from_a_mistakes_filter_leaves_the_focus_on_the_tab(tiny, tmp_path):
    """Escape in a Select of the Mistakes tab: the samples are focused, j/k/n/S work and the
    footer shows them (the focus went nowhere, and the footer lost the tab's keys)."""
    app = make_app(tiny, config=TrainConfig(hidden=8, epochs=1, batch_size=64),
                   save_dir=tmp_path, db_path=tmp_path / "h.sqlite")
    async with app.run_test(size=(100, 30)) as pilot:
        app.main.action_start()
        await wait_for(pilot, lambda: app.main.state.value == "done", timeout=60)
        inject(app, ["4"])
        await pilot.pause(0.3)
        view = app.main.query_one("#mistakes-view")
        select = view.query_one(Select)
        app.screen.set_focus(select)
        await pilot.pause(0.2)
        inject(app, ["escape"])
        await wait_for(pilot, lambda: app.focused is view, timeout=5)
        await wait_for(pilot, lambda: {"Next", "Prev", "Suspects"} <= footer_keys(app), timeout=5)
        before = view.position
        inject(app, ["j"])
        await pilot.pause(0.3)
        assert len(view.indices) < 2 or view.position == before + 1


async def test_escape_in_draw_keeps_the_canvas_focused(tiny, tmp_path):
    app = make_app(tiny, config=TrainConfig(hidden=8, epochs=1), save_dir=tmp_path,
                   db_path=tmp_path / "h.sqlite")
    async with app.run_test(size=(100, 30)) as pilot:
        inject(app, ["7", "escape"])
        canvas = app.main.query_one("#canvas")
        await wait_for(pilot, lambda: app.focused is canvas, timeout=5)
        await pilot.pause(0.3)
        assert app.focused is canvas  # and stays
        await wait_for(pilot, lambda: {"Paint", "Erase", "Clear"} <= footer_keys(app), timeout=5)


async def test_the_compare_screen_scrolls_by_keyboard_as_it_opens(tiny, tmp_path):
    """PageDown, End and Down did nothing until Tab focused the text."""
    from mnist_tui.core.store import Store
    from mnist_tui.ui.screens.compare import CompareScreen

    app = make_app(tiny, config=TrainConfig(hidden=8, epochs=1, batch_size=64),
                   save_dir=tmp_path, db_path=tmp_path / "h.sqlite")
    async with app.run_test(size=(60, 14)) as pilot:
        for _ in range(2):
            app.main.action_start()
            await wait_for(pilot, lambda: app.main.state.value == "done", timeout=60)
        with Store(tmp_path / "h.sqlite", readonly=True) as db:
            runs = [db.run(r["id"]) for r in db.runs()]
        app.push_screen(CompareScreen(runs))
        await pilot.pause(0.5)
        text = app.screen.query_one("#compare-text")
        assert text.max_scroll_y > 0, "the test needs text taller than the screen"
        inject(app, ["end"])
        await wait_for(pilot, lambda: text.scroll_y == text.max_scroll_y, timeout=5)


async def test_the_focused_field_is_marked_by_a_character_not_a_shade(tiny, tmp_path, monkeypatch):
    """With NO_COLOR, the focused form field still stands out: a bar at its left."""
    monkeypatch.setenv("NO_COLOR", "1")
    app = make_app(tiny, config=TrainConfig(hidden=8, epochs=1), save_dir=tmp_path,
                   db_path=tmp_path / "h.sqlite")
    async with app.run_test(size=(100, 30)) as pilot:
        inject(app, ["f"])
        await pilot.pause(0.3)
        hidden = app.main.query_one("#f-hidden", Input)
        epochs = app.main.query_one("#f-epochs", Input)
        assert app.focused is hidden

        def first_cell(widget) -> str:
            line = widget.render_lines(Region(0, 0, *widget.outer_size))[0]
            return "".join(segment.text for segment in line)[0]

        assert first_cell(hidden) == "▌"
        assert first_cell(epochs) == " "


# --- finding your way: the palette's app commands, and the help screen -------------------


async def test_the_palette_offers_the_app_actions(tiny, tmp_path):
    """ctrl+p then `sta`: Start is offered (it said "No matches found"); every tab, the
    smoothing, the ghost, race, save and load are commands too, and choosing one runs it."""
    from textual.command import CommandList

    from mnist_tui.ui.commands import AppCommands

    app = make_app(tiny, config=TrainConfig(hidden=8, epochs=1), save_dir=tmp_path,
                   db_path=tmp_path / "h.sqlite")
    async with app.run_test(size=(100, 30)) as pilot:
        names = [name for name, _, _ in AppCommands(app.main)._commands()]
        for wanted in ("Start", "Stop", "Pause", "Save", "Load", "Race", "Ghost", "Smooth-",
                       "Smooth+", "Help", *(f"{t.title()} tab" for t in
                                            ("train", "runs", "sweep", "calib"))):
            assert wanted in names
        assert "Quit" not in names  # q only: a stray Enter in the palette must not end a run
        inject(app, ["ctrl+p", "r", "u", "n", "s", " ", "t"])
        await wait_for(pilot, lambda: any(
            "Runs tab" in str(o.prompt) for o in app.screen.query_one(CommandList)._options)
            if app.screen.query(CommandList) else False, timeout=10)
        inject(app, ["down", "enter"])
        await wait_for(pilot, lambda: app.main.query_one("TabbedContent").active == "runs",
                       timeout=10)
        assert app.screen is app.main


async def test_help_lists_every_key_of_the_tab_and_of_the_app(tiny, tmp_path):
    """? (or F1) on the Runs tab: its keys, the dashboard's and the app's, read from the
    bindings; Esc closes it."""
    from mnist_tui.ui.screens.help import HelpScreen

    app = make_app(tiny, config=TrainConfig(hidden=8, epochs=1), save_dir=tmp_path,
                   db_path=tmp_path / "h.sqlite")
    async with app.run_test(size=(80, 24)) as pilot:
        inject(app, ["8", "?"])
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
        groups = dict(app.screen.groups)
        tab = next(rows for heading, rows in groups.items() if heading.startswith("This tab"))
        from mnist_tui.ui.widgets.runs_view import RunsView

        tab_keys = {b.description for b in RunsView.BINDINGS}
        assert tab_keys <= {what for _, what in tab} | {
            b.tooltip for b in RunsView.BINDINGS if b.tooltip}
        dashboard = {what for _, what in groups["Dashboard"]}
        assert "Start a fresh run with the form's values" in dashboard
        assert "Show the Calib tab" in dashboard
        assert any("?" in keys for keys, _ in groups["Everywhere"])
        inject(app, ["escape"])
        await wait_for(pilot, lambda: app.screen is app.main)
        inject(app, ["f1"])
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
        inject(app, ["f1"])
        await wait_for(pilot, lambda: app.screen is app.main)
