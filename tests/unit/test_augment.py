"""Training-time distortions: shapes, determinism, and that they move ink without losing it."""

from __future__ import annotations

import numpy as np
import pytest

from mnist_tui.core import augment


def _digit_batch(tiny, m=16):
    return tiny.train_images[:m].astype(np.float32) / 255


def test_none_returns_the_batch_itself(tiny):
    X = _digit_batch(tiny)
    assert augment.distort(X, "none", np.random.default_rng(0)) is X


@pytest.mark.parametrize("kind", ["affine", "elastic"])
def test_distortions_keep_shape_dtype_and_range_and_are_seeded(tiny, kind):
    X = _digit_batch(tiny)
    a = augment.distort(X, kind, np.random.default_rng(5))
    b = augment.distort(X, kind, np.random.default_rng(5))
    c = augment.distort(X, kind, np.random.default_rng(6))
    assert a.shape == X.shape and a.dtype == X.dtype
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c) and not np.array_equal(a, X)
    assert a.min() >= -1e-6 and a.max() <= 1 + 1e-6


def test_identity_affine_leaves_the_image_unchanged(tiny, monkeypatch):
    monkeypatch.setattr(augment, "MAX_ROTATE_DEG", 0.0)
    monkeypatch.setattr(augment, "SCALE_RANGE", (1.0, 1.0))
    monkeypatch.setattr(augment, "MAX_SHIFT_PX", 0.0)
    X = _digit_batch(tiny)
    np.testing.assert_allclose(augment.distort(X, "affine", np.random.default_rng(0)), X, atol=1e-5)


def test_a_centred_digit_keeps_most_of_its_ink_under_affine():
    X = np.zeros((8, 28, 28), np.float32)
    X[:, 9:19, 11:17] = 1.0  # a centred bar, away from the edges
    Y = augment.distort(X.reshape(8, 784), "affine", np.random.default_rng(1))
    ratio = Y.sum(axis=1) / X.reshape(8, 784).sum(axis=1)
    assert np.all((ratio > 0.75) & (ratio < 1.3))


def test_augment_flag_is_validated(capsys):
    from mnist_tui.cli import main

    with pytest.raises(SystemExit) as e:
        main(["train", "--augment", "rotate"])
    assert e.value.code == 2 and "augmentation must be one of none, affine, elastic" in capsys.readouterr().err


@pytest.mark.parametrize("kind", ["affine", "elastic"])
def test_per_image_resampling_equals_one_call_over_the_batch(tiny, kind):
    """The per-image 2-D maps give exactly the numbers of the former single 3-D call."""
    from scipy.ndimage import map_coordinates

    for seed in range(8):
        X = tiny.train_images[seed * 64 : seed * 64 + 64 + seed].astype(np.float32) / 255
        m = len(X)
        got = augment.distort(X, kind, np.random.default_rng(seed))
        rng = np.random.default_rng(seed)
        coords = augment.affine_coords(m, rng)
        if kind == "elastic":
            coords += augment.elastic_displacement(m, rng)
        index = np.broadcast_to(np.arange(m, dtype=np.float32)[:, None, None], (m, 28, 28))
        want = map_coordinates(X.reshape(m, 28, 28), np.concatenate([index[None], coords]),
                               order=1, mode="constant", cval=0.0).reshape(m, 784)
        assert np.array_equal(got, want), seed
