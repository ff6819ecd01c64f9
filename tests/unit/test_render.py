"""Chart helpers: round ticks, a debiased EMA of the batch losses, config words, and why charts never use plotext's log scale."""

from __future__ import annotations

import numpy as np
import plotext
import pytest

from mnist_tui.core.render import ema, log_ticks, nice_ticks


def test_ema_is_debiased_like_tensorboard():
    x = np.array([2.0, 1.0, 0.5, 0.25, 4.0])
    w = 0.6
    last, expect = 0.0, []
    for t, v in enumerate(x, start=1):  # TensorBoard's smoothing, written out
        last = last * w + (1 - w) * v
        expect.append(last / (1 - w**t))
    assert np.allclose(ema(x, w), expect)
    assert ema(x, 0.99)[0] == pytest.approx(2.0)  # the first point is the first value, not ~0
    assert np.array_equal(ema(x, 0.0), x)


@pytest.mark.parametrize("w", [0.01, 0.5, 0.9, 0.99, 0.999])
def test_ema_of_a_long_curve_matches_the_recurrence_across_blocks(w):
    """ema computes in blocks (a closed form within each, a carry between): across thousands of
    points it stays the recurrence written out, to 1e-12."""
    x = np.random.default_rng(1).random(5000) * 3
    last, expect = 0.0, []
    for t, v in enumerate(x, start=1):
        last = last * w + (1 - w) * v
        expect.append(last / (1 - w**t))
    assert np.allclose(ema(x, w), expect, rtol=1e-12, atol=0)


def test_ticks_are_round():
    assert nice_ticks(94.86, 96.43) == [95.0, 95.5, 96.0]
    assert nice_ticks(0, 4.5) == [0.0, 2.0, 4.0]
    for ticks in (nice_ticks(0.0013, 2.38, 6), nice_ticks(1, 2)):
        steps = np.diff(ticks)
        mant = steps[0] / 10 ** np.floor(np.log10(steps[0]))
        assert np.allclose(steps, steps[0]) and round(mant, 6) in (1, 2, 5)
    allowed = {m * 10.0**e for e in range(-4, 3) for m in (1, 2, 5)}
    for lo, hi in ((0.05, 2.38), (0.0013, 2.4), (0.1, 0.4)):
        ticks = log_ticks(lo, hi, 6)
        assert ticks and all(min(abs(t - a) for a in allowed) < 1e-12 for t in ticks)
    assert log_ticks(0.05, 2.0, 6) == [0.05, 0.1, 0.2, 0.5, 1.0, 2.0]


@pytest.mark.parametrize("lo, hi, n", [(94.0, 95.9, 2), (94.6, 95.4, 2), (96.1, 96.4, 3),
                                       (0.3, 0.9, 2), (95.0, 95.0, 2)])
def test_axis_ticks_always_give_at_least_two_ticks_inside_the_range(lo, hi, n):
    """Issue 20: the accuracy chart had a single y tick (94) for 94.0-95.9 at 80x24."""
    from mnist_tui.core.render import axis_ticks

    a, b, ticks = axis_ticks(lo, hi, n)
    assert len(ticks) >= 2 and a <= min(lo, hi) and b >= max(lo, hi)
    assert all(a - 1e-9 <= t <= b + 1e-9 for t in ticks)


def test_axis_ticks_for_counts_are_whole_numbers():
    """Issue 20: the unit histogram's count ticks read 638.0, 531.7, 425.3."""
    from mnist_tui.core.render import axis_ticks, tick_label

    _, hi, ticks = axis_ticks(0, 638, 5, integer=True)
    assert hi >= 638 and all(float(t).is_integer() for t in ticks)
    assert [tick_label(t) for t in ticks][:2] == ["0", "200"] or all("." not in tick_label(t) for t in ticks)
    _, _, small = axis_ticks(0, 3, 6, integer=True)
    assert all(float(t).is_integer() for t in small) and len(set(small)) == len(small)


def test_config_words_round_floats_and_show_live_changes():
    from mnist_tui.core.render import config_value, config_words

    words = config_words({"hidden": 16, "lr": 0.0646642271741456, "momentum": 0.6577064848858,
                          "weight_decay": 3.8512e-05}, live={"lr": 0.05})
    assert words.startswith("n=16 lr=0.0647→0.05 m=0.658") and "wd=3.85e-05" in words, words
    assert config_value(0.1) == "0.1" and config_value(128) == "128" and config_value("adam") == "adam"


def test_config_words_show_momentum_only_where_the_optimizer_reads_it():
    """A fresh user's check: Adam trials read `m=0.9` in the Runs tab and `runs list`."""
    from mnist_tui.core.render import config_words

    base = {"hidden": 16, "lr": 0.001, "batch_size": 64, "momentum": 0.9}
    assert "m=0.9" not in config_words({**base, "optimizer": "adam"})
    assert "m=0.9" not in config_words({**base, "optimizer": "adamw"})
    assert "m=0.9" not in config_words({**base, "optimizer": "sgd"})
    assert "m=0.9" in config_words({**base, "optimizer": "nesterov"})
    assert "m=0.9" in config_words(base)  # momentum, the default


def test_plotext_log_scale_is_not_idempotent_so_charts_never_use_it():
    """The cause, in three lines: a second build of a log-scale figure raises."""
    plotext.clf()
    plotext.plot([1, 2, 3], [1, 10, 100])
    plotext.yscale("log")
    plotext.plotsize(40, 10)
    plotext.build()
    with pytest.raises(ValueError):
        plotext.build()
    plotext.clf()
