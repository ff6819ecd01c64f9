"""Chart helpers: round ticks, and a debiased EMA of the batch losses."""

from __future__ import annotations

import numpy as np
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
