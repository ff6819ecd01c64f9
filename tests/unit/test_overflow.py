"""Checkpoints whose numbers overflow (issue 21, item 8): weights of 1e30 are finite float32,
but every forward pass gives NaN. Refused at load; and every renderer is safe anyway."""

from __future__ import annotations

import numpy as np
import pytest

from mnist_tui.core import checkpoint, render
from mnist_tui.core.config import TrainConfig
from mnist_tui.core.model import Perceptron


def huge_checkpoint(path, value=1e30, hidden=8, w2=None):
    model = Perceptron(hidden, seed=1)
    model.W1[:] = value
    model.W2[:] = value if w2 is None else w2
    return checkpoint.save(path, model, TrainConfig(hidden=hidden), {})


def test_the_huge_model_really_gives_nan_though_every_weight_is_finite():
    model = Perceptron(8)
    model.W1[:], model.W2[:] = 1e30, 1e30
    assert all(np.isfinite(p).all() for p in model.params().values())
    with np.errstate(all="ignore"):
        assert not np.isfinite(model.forward(np.full((1, 784), 0.5, np.float32))).all()


@pytest.mark.parametrize("w1, w2", [(1e30, 1e30), (1e30, -1e30), (1e19, 1e19), (3e38, 1.0)])
def test_a_checkpoint_whose_forward_pass_overflows_is_refused_in_one_line(tmp_path, w1, w2):
    path = huge_checkpoint(tmp_path / "huge.npz", w1, w2=w2)
    with pytest.raises(checkpoint.CheckpointError) as e:
        checkpoint.load(path)
    assert "\n" not in str(e.value) and "huge.npz" in str(e.value)
    assert "overflow" in str(e.value)


def test_huge_weights_no_input_can_reach_still_load(tmp_path):
    """W1 all -1e30: every hidden unit is dead for any image, the outputs are b2: finite."""
    path = huge_checkpoint(tmp_path / "dead.npz", -1e30)
    assert checkpoint.load(path)[0].W1[0, 0] == np.float32(-1e30)


def test_large_but_sane_weights_still_load(tmp_path):
    model = Perceptron(8, seed=1)
    model.W1 *= 1000  # far beyond training, far from overflowing
    path = checkpoint.save(tmp_path / "big.npz", model, TrainConfig(hidden=8), {})
    assert np.array_equal(checkpoint.load(path)[0].W1, model.W1)


BAD = np.array([np.nan, np.inf, -np.inf, 1e30, -1e30, 0.5, 3e38, -3e38], np.float32)


def test_signed_cells_never_gives_a_colour_rich_would_refuse():
    from rich.style import Style

    w = np.resize(BAD, 784)
    cells, shades = render.signed_cells(w)
    for row in cells:
        for top, bottom in row:
            Style(color=top, bgcolor=bottom)  # raises on rgb(-1844674407370955162,…)
    assert all(len(r) == 28 and set(r) <= set(render.SHADES) for r in shades)
    cells, shades = render.signed_cells(np.full(784, np.nan, np.float32))  # nothing finite
    Style(color=cells[0][0][0])


def test_greys_and_shades_of_non_finite_levels_are_clamped():
    from rich.style import Style

    for v in (*BAD.tolist(), 300.0, -5.0, 255.0, 0.0):
        Style(color=render.grey(v))
    assert render.grey(np.nan) == "rgb(0,0,0)" and render.grey(1e30) == "rgb(255,255,255)"
    rows = render.shade_rows(np.resize(BAD, 784))
    assert all(len(r) == 28 and set(r) <= set(render.SHADES) for r in rows)


def test_probability_lines_of_nan_are_printable():
    lines = render.probability_lines(np.full(10, np.nan), 3)
    assert len(lines) == 10 and all("nan" not in line.lower() for line in lines)


def test_the_clis_json_is_json_even_with_nan():
    """`explain --format json` printed NaN (not JSON) for such a model; to_json writes null."""
    import json

    from mnist_tui.cli.output import to_json

    text = to_json({"p": [float("nan"), np.float64("inf"), 0.5], "s": -np.inf, "k": "x"})
    assert json.loads(text) == {"p": [None, None, 0.5], "s": None, "k": "x"}
    assert "NaN" not in text and "Infinity" not in text
