"""The mistakes tab: suspects draw the digit, and the mark reads in whole words."""

from __future__ import annotations

import pytest
from helpers import burst, wait_for

from mnist_tui.core.config import TrainConfig
from mnist_tui.ui.app import make_app

QUICK = TrainConfig(hidden=16, epochs=2, batch_size=32, lr=0.05)


def screen_lines(app) -> list[str]:
    """The terminal's text, as a user sees it (Pilot's widgets may hold more than is drawn)."""
    return [strip.text for strip in app.screen._compositor.render_strips()]


@pytest.fixture(scope="module")
def mnist():
    from mnist_tui.core import data

    return data.load_dir(data.PACKAGE_DATA_DIR)


@pytest.mark.real_data
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
