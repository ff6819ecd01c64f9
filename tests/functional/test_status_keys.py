"""The status bar keeps what q and D do at its right end, whatever else it holds, at 80 and 100
columns (issue 24): the rest gives way."""

from __future__ import annotations

import pytest

from mnist_tui.ui.widgets.status_bar import StatusBar

KEYS = ("q: quit, stopping the run (recorded) · D: detach: the run trains on in this process "
        "(mnist-tui attach follows one)", "q: stop run · D: detach")


@pytest.mark.parametrize("width", [80, 100])
@pytest.mark.parametrize("note", ["", "test acc 98.24%  loss 0.061", "x" * 200])
def test_the_keys_stay_whole_at_the_right_end(width, note):
    bar = StatusBar()
    bar.set(state="training", epoch=12, epochs=1000, fraction=0.5, rate=123_456.0,
            elapsed=3725.0, eta=86000.0, note=note, keys=KEYS)
    text = bar.build(width).plain
    assert len(text) == width, text
    assert text.endswith("  " + KEYS[1]), text
    assert text.startswith(" TRAINING  epoch 12/1000"), text
    if note:
        assert "…" in text or note in text  # a glimpse of it at least


def test_the_long_form_where_everything_fits():
    bar = StatusBar()
    bar.set(state="idle", keys=("q/D: quit (no run is going)", "q/D: quit"))
    assert bar.build(100).plain.endswith("  q/D: quit (no run is going)")
    assert bar.build(100).plain.startswith(" IDLE ")
