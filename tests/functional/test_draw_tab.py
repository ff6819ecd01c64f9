"""The draw tab: what a nudge changed, said in words."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import wait_for

from mnist_tui.core.config import TrainConfig
from mnist_tui.ui.app import make_app


@pytest.fixture(scope="module")
def mnist():
    from mnist_tui.core import data

    return data.load_dir(data.PACKAGE_DATA_DIR)


@pytest.mark.real_data
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
