"""Preprocessing a drawing as MNIST was prepared: crop, fit 20x20, centre by mass."""

from __future__ import annotations

import numpy as np

from mnist_tui.core import draw


def _bbox(img):
    a = img.reshape(28, 28)
    rows, cols = np.nonzero(a)
    return rows.min(), rows.max(), cols.min(), cols.max()


def _com(img):
    a = img.reshape(28, 28).astype(float)
    return (a.sum(1) * np.arange(28)).sum() / a.sum(), (a.sum(0) * np.arange(28)).sum() / a.sum()


def test_blank_canvas_stays_blank():
    out = draw.preprocess(np.zeros((28, 28)))
    assert out.shape == (784,) and out.dtype == np.uint8 and not out.any()


def test_a_small_corner_stroke_is_scaled_to_20_and_centred():
    c = np.zeros((28, 28))
    c[1:11, 2:4] = 1  # 10 tall, 2 wide, in the top-left corner
    out = draw.preprocess(c)
    r0, r1, c0, c1 = _bbox(out)
    assert r1 - r0 + 1 == 20  # the long side fits the 20-pixel box
    assert c1 - c0 + 1 <= 6  # aspect ratio kept (2/10 of 20, with interpolation spread)
    cy, cx = _com(out)
    assert abs(cy - 14) <= 1 and abs(cx - 14) <= 1


def test_an_off_centre_mass_is_moved_to_the_centre():
    c = np.zeros((28, 28))
    c[20:27, 20:27] = 1
    c[20, 20:27] = 0.2
    out = draw.preprocess(c)
    cy, cx = _com(out)
    assert abs(cy - 14) <= 1 and abs(cx - 14) <= 1
    assert out.max() == 255
