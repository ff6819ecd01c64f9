"""The seed's network: shapes, a float64 finite-difference gradient check, stable softmax."""

from __future__ import annotations

import numpy as np
import pytest

from mnist_tui.core.model import Perceptron, log_softmax, softmax


def _float64_model(n=7, seed=3):
    model = Perceptron(n, seed=seed)
    rng = np.random.default_rng(seed)
    for k, p in model.params().items():
        # Random biases too, so that their gradients are not trivially checked at zero.
        setattr(model, k, (p + 0.1 * rng.standard_normal(p.shape)).astype(np.float64))
    return model


def test_parameters_have_the_documented_shapes_and_dtype():
    m = Perceptron(32, seed=0)
    assert (m.W1.shape, m.b1.shape, m.W2.shape, m.b2.shape) == ((784, 32), (32,), (32, 10), (10,))
    assert all(p.dtype == np.float32 for p in m.params().values())
    # He initialisation: std close to sqrt(2 / fan_in).
    assert abs(m.W1.std() - np.sqrt(2 / 784)) < 0.005


def test_forward_gives_probabilities():
    m = Perceptron(16)
    X = np.random.default_rng(0).random((5, 784), dtype=np.float32)
    S = m.forward(X)
    assert S.shape == (5, 10)
    np.testing.assert_allclose(S.sum(axis=1), 1, rtol=1e-5)
    np.testing.assert_array_equal(m.predict(X), S.argmax(axis=1))
    np.testing.assert_array_equal(m.predict_proba(X), S)


def test_gradient_check_float64():
    model = _float64_model()
    rng = np.random.default_rng(1)
    X = rng.random((6, 784))
    y = rng.integers(0, 10, 6)
    _, grads = model.loss_and_grads(X, y)
    eps = 1e-6
    for name, p in model.params().items():
        assert grads[name].shape == p.shape
        # Check a sample of entries (all of b1, b2; 40 of each weight matrix).
        flat = p.reshape(-1)
        picks = range(flat.size) if flat.size <= 40 else rng.choice(flat.size, 40, replace=False)
        for i in picks:
            old = flat[i]
            flat[i] = old + eps
            up, _ = model.loss_and_grads(X, y)
            flat[i] = old - eps
            down, _ = model.loss_and_grads(X, y)
            flat[i] = old
            numeric = (up - down) / (2 * eps)
            analytic = grads[name].reshape(-1)[i]
            rel = abs(numeric - analytic) / max(abs(numeric) + abs(analytic), 1e-8)
            assert rel < 1e-6, (name, i, numeric, analytic)


def test_a_wrong_gradient_fails_the_check():
    """The check above can fail: break one backward step and the error is large."""
    model = _float64_model()
    rng = np.random.default_rng(1)
    X, y = rng.random((6, 784)), rng.integers(0, 10, 6)
    _, grads = model.loss_and_grads(X, y)
    eps, i = 1e-6, 3
    flat = model.b2
    old = flat[i]
    flat[i] = old + eps
    up, _ = model.loss_and_grads(X, y)
    flat[i] = old - eps
    down, _ = model.loss_and_grads(X, y)
    numeric = (up - down) / (2 * eps)
    assert abs(numeric - grads["b2"][i]) < 1e-8
    assert abs(numeric - 2 * grads["b2"][i]) > 1e-4  # a doubled gradient is caught


def test_softmax_and_log_softmax_are_stable_for_huge_logits():
    Z = np.array([[1000.0, 0.0, -1000.0], [-1e30, 1e30, 0.0]])
    S = softmax(Z)
    assert np.isfinite(S).all()
    np.testing.assert_allclose(S[:, :2], [[1, 0], [0, 1]])
    L = log_softmax(Z)
    assert np.isfinite(L[0]).all() and L[0, 0] == 0.0 and L[0, 2] == -2000.0


def test_loss_uses_log_softmax_not_a_clipped_log():
    m = Perceptron(4, seed=0)
    m.W1 = np.zeros_like(m.W1)
    m.b2 = np.array([0, 200, 0, 0, 0, 0, 0, 0, 0, 0], dtype=np.float32)
    loss, _ = m.loss_and_grads(np.zeros((1, 784), np.float32), np.array([0]))
    assert loss == pytest.approx(200, rel=1e-4)  # a clipped log would cap this near 16-36


def test_float64_parameters_keep_float64_maths():
    m = _float64_model()
    loss, grads = m.loss_and_grads(np.random.default_rng(0).random((3, 784)), np.array([1, 2, 3]))
    assert all(g.dtype == np.float64 for g in grads.values())
    assert np.isfinite(loss)
