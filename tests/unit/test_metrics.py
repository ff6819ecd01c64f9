"""Loss, accuracy, the confusion matrix and sample selection on hand-made arrays."""

from __future__ import annotations

import numpy as np
import pytest

from mnist_tui.core import metrics, render


def test_nll_and_accuracy_by_hand():
    proba = np.array([[0.5, 0.5], [0.1, 0.9], [0.8, 0.2]])
    y = np.array([0, 1, 1])
    assert metrics.nll(proba, y) == pytest.approx(-(np.log(0.5) + np.log(0.9) + np.log(0.2)) / 3)
    assert metrics.accuracy(proba.argmax(1), y) == pytest.approx(2 / 3)
    assert metrics.accuracy(np.array([]), np.array([])) == 0.0
    assert np.isfinite(metrics.nll(np.array([[1.0, 0.0]]), np.array([1])))


def test_confusion_matrix_rows_are_true_columns_predicted():
    cm = metrics.confusion_matrix(np.array([0, 0, 1, 2, 2, 2]), np.array([0, 1, 1, 2, 0, 2]), k=3)
    np.testing.assert_array_equal(cm, [[1, 1, 0], [0, 1, 0], [1, 0, 2]])
    assert cm.sum() == 6
    np.testing.assert_allclose(metrics.recall_per_class(cm), [0.5, 1.0, 2 / 3])
    assert np.isnan(metrics.recall_per_class(np.zeros((2, 2), int))).all()


def test_select_samples_orders_most_confidently_wrong_first_and_filters():
    y = np.array([0, 1, 2, 3, 1])
    proba = np.array([
        [0.9, 0.1, 0, 0],   # right
        [0.6, 0.4, 0, 0],   # wrong: true 1 pred 0 at 0.6
        [0.05, 0.9, 0.05, 0],  # wrong: true 2 pred 1 at 0.9
        [0, 0, 0.3, 0.7],   # right
        [0.8, 0.2, 0, 0],   # wrong: true 1 pred 0 at 0.8
    ])
    assert list(metrics.select_samples(y, proba)) == [2, 4, 1]
    assert list(metrics.select_samples(y, proba, true_class=1)) == [4, 1]
    assert list(metrics.select_samples(y, proba, pred_class=1)) == [2]
    assert list(metrics.select_samples(y, proba, true_class=3, pred_class=3, wrong=False)) == [3]


def test_render_helpers():
    img = np.zeros(784, np.uint8)
    img[0] = 255  # top-left pixel
    cells = render.half_block_cells(img)
    assert cells.shape == (14, 28, 2) and tuple(cells[0, 0]) == (255, 0)
    rows = render.shade_rows(img)
    assert len(rows) == 14 and all(len(r) == 28 for r in rows) and rows[0][0] == "▒"
    assert render.bar(0.5, 4) == "██  " and render.bar(1.0, 3) == "███" and render.bar(float("nan"), 2) == "  "
    lines = render.probability_lines(np.array([0.1, 0.7, 0.2] + [0] * 7), true_label=2)
    assert "◀ ✗" in lines[1] and "← true" in lines[2] and len(lines) == 10
    xs, ys = render.downsample(np.arange(1000), np.r_[np.inf, np.ones(999)], 50)
    assert len(xs) <= 50 and np.isfinite(ys).all() and xs[-1] == 999
    assert render.format_duration(125) == "2m05s" and render.format_duration(float("inf")) == "--"
