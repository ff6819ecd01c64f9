"""What each ui/compat guard answers, shown on the app's own widgets (see compat/*.py)."""

from __future__ import annotations

from textual.widgets._select import SelectOverlay

from mnist_tui.core.config import TrainConfig
from mnist_tui.ui.app import make_app
from mnist_tui.ui.widgets.hyper_form import HyperForm


async def test_page_keys_in_a_select_not_yet_laid_out_do_nothing(tiny, tmp_path):
    """Textual's OptionList._move_page read its empty line cache (the overlay never shown)
    and raised KeyError, which ended the app (compat/option_list.py)."""
    app = make_app(tiny, config=TrainConfig(hidden=4, epochs=1), save_dir=tmp_path,
                   db_path=tmp_path / "h.sqlite")
    async with app.run_test(size=(80, 24)) as pilot:
        overlay = app.main.query_one(HyperForm).query(SelectOverlay).first()
        overlay.highlighted = 1
        overlay.action_page_down()
        overlay.action_page_up()
        await pilot.pause()
        assert overlay.highlighted == 1
    assert app.return_code in (0, None)


async def test_the_palette_has_no_quit_and_its_page_keys_are_safe(tiny, tmp_path):
    """Product policy in the app (no Quit in the palette) and the palette's guarded list."""
    from mnist_tui.ui.compat import SafeCommandPalette

    app = make_app(tiny, config=TrainConfig(hidden=4, epochs=1), save_dir=tmp_path,
                   db_path=tmp_path / "h.sqlite")
    async with app.run_test(size=(80, 24)) as pilot:
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert titles and "Quit" not in titles
        # Nor Detach: a stray Enter in the palette must not end the UI (random keys found it:
        # typed letters matched "Detach" and Enter ran it, the app left with its run going).
        from mnist_tui.ui.commands import AppCommands

        commands = [name for name, _, _ in AppCommands(app.screen)._commands()]
        assert len(commands) > 10, commands
        assert not {"Quit", "Detach"} & set(commands), commands
        await pilot.press("ctrl+p")
        await pilot.pause()
        assert isinstance(app.screen, SafeCommandPalette)
        app.screen._action_command_list("page_down")  # the list may not be laid out yet
        await pilot.press("pagedown", "pageup", "escape")
        await pilot.pause()
        assert app.screen is app.main
