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


async def test_a_widget_is_styled_when_it_mounts_not_at_each_class_before(tiny, tmp_path,
                                                                           monkeypatch):
    """Textual applied the whole stylesheet to a widget at each class change, mounted or not:
    each form field, validated in its constructor, was styled twice for nothing before it
    mounted (compat/styles_unmounted.py). Now never before mounting, and the classes set
    then still show once it is mounted (a field whose first value is invalid is red)."""
    from textual.css.stylesheet import Stylesheet
    from textual.widget import Widget

    from mnist_tui.ui.widgets.capped_input import CappedInput

    unmounted = []
    apply = Stylesheet.apply

    def recording(sheet, node, *a, **k):
        if isinstance(node, Widget) and not node.is_attached:
            unmounted.append(node)
        return apply(sheet, node, *a, **k)

    monkeypatch.setattr(Stylesheet, "apply", recording)
    app = make_app(tiny, config=TrainConfig(hidden=4, epochs=1), save_dir=tmp_path,
                   db_path=tmp_path / "h.sqlite")
    async with app.run_test(size=(80, 24)) as pilot:
        lr = app.main.query_one("#f-lr", CappedInput)
        assert lr.has_class("-valid") and not lr.has_class("-invalid")
        from textual.validation import Number

        good, bad = (CappedInput(v, validators=[Number()], id=i) for v, i in (("1", "good"), ("x", "bad")))
        assert bad.has_class("-invalid") and not good.has_class("-invalid")
        await app.main.mount(good, bad)
        await pilot.pause()
        assert bad.styles.border_top != good.styles.border_top, "the -invalid style did not apply"
    assert [w for w in unmounted if isinstance(w, CappedInput)] == []


async def test_the_dashboard_is_styled_once_at_start(tiny, tmp_path, monkeypatch):
    """The default screen's first resume, and its first Resize (setting the breakpoint
    classes), each restyled all its widgets, styled a moment before as they mounted
    (compat/first_resume.py): each is styled once now; a later resume that asks for it, and a
    breakpoint crossed, still restyle."""
    from collections import Counter

    from textual.css.stylesheet import Stylesheet
    from textual.widgets import Label

    applied = Counter()
    apply = Stylesheet.apply

    def counting(sheet, node, *a, **k):
        applied[node] += 1
        return apply(sheet, node, *a, **k)

    monkeypatch.setattr(Stylesheet, "apply", counting)
    app = make_app(tiny, config=TrainConfig(hidden=4, epochs=1), save_dir=tmp_path,
                   db_path=tmp_path / "h.sqlite")
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        labels = list(app.main.query_one(HyperForm).query(Label))
        assert labels and [applied[label] for label in labels] == [1] * len(labels)
        assert {"-narrow", "-short"} <= app.main.classes  # the breakpoints of 100x30
        from textual import events

        app.main.post_message(events.ScreenResume())  # a later resume that restyles
        await pilot.pause()
        resumed = [applied[label] for label in labels]
        assert min(resumed) > 1
        await pilot.resize_terminal(160, 50)  # a breakpoint crossed: its classes, restyled
        await pilot.pause()
        assert {"-wide", "-tall"} <= app.main.classes and "-narrow" not in app.main.classes
        assert all(applied[label] > n for label, n in zip(labels, resumed, strict=True))
