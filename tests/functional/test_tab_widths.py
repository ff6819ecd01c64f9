"""Tabs at each width: no wrapped lines, every tab label whole, scrollbar thumbs visible."""

from __future__ import annotations

import pytest
from helpers import wait_for

from mnist_tui.core.config import TrainConfig
from mnist_tui.ui.app import make_app

QUICK = TrainConfig(hidden=16, epochs=2, batch_size=32, lr=0.05)


async def finish_run(app, pilot) -> None:
    await pilot.press("s")
    await wait_for(pilot, lambda: app.main.state in ("done", "stopped", "diverged", "error"))


def screen_lines(app) -> list[str]:
    """The terminal's text, as a user sees it (Pilot's widgets may hold more than is drawn)."""
    return [strip.text for strip in app.screen._compositor.render_strips()]


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
