"""Each update rule's first steps on a two-parameter problem, against values worked out by hand
from the equations PyTorch documents (torch.optim.SGD, Adam, AdamW). Nothing here is fitted to
the code's output: each expected number is written from the equation beside it."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mnist_tui.core import optim, train
from mnist_tui.core.config import OPTIMIZERS, TrainConfig
from mnist_tui.core.events import EpochEnd

G1 = np.array([0.5, -1.0])
G2 = np.array([1.5, 0.0])
LR = 0.1


def run(name: str, grads, lr=LR, momentum=0.9, weight_decay=0.0, betas=(0.9, 0.999)):
    theta = np.array([1.0, -2.0])
    rule = optim.make(name, theta, [theta[:1]], weight_decay, betas)  # θ[0] is "a weight"
    out = []
    for g in grads:
        rule.step(np.asarray(g, dtype=float), lr, momentum)
        out.append(theta.copy())
    return out


def test_sgd():
    # θ ← θ − γ g:  1 − 0.1·0.5 = 0.95;  −2 − 0.1·(−1) = −1.9;  then 0.95 − 0.15 = 0.8
    a, b = run("sgd", [G1, G2])
    np.testing.assert_allclose(a, [0.95, -1.9], rtol=0, atol=1e-15)
    np.testing.assert_allclose(b, [0.80, -1.9], rtol=0, atol=1e-15)


def test_momentum_dampening_0():
    # t=1: b = g1 = (0.5, −1);  θ = (1 − 0.05, −2 + 0.1) = (0.95, −1.9)
    # t=2: b = 0.9·(0.5, −1) + (1.5, 0) = (1.95, −0.9);  θ = (0.95 − 0.195, −1.9 + 0.09)
    a, b = run("momentum", [G1, G2])
    np.testing.assert_allclose(a, [0.95, -1.9], rtol=0, atol=1e-15)
    np.testing.assert_allclose(b, [0.755, -1.81], rtol=0, atol=1e-15)


def test_nesterov():
    # t=1: b = (0.5, −1);  g = g1 + 0.9 b = (0.95, −1.9);  θ = (1 − 0.095, −2 + 0.19) = (0.905, −1.81)
    # t=2: b = (1.95, −0.9);  g = (1.5, 0) + 0.9 b = (3.255, −0.81);  θ = (0.905 − 0.3255, −1.81 + 0.081)
    a, b = run("nesterov", [G1, G2])
    np.testing.assert_allclose(a, [0.905, -1.81], rtol=0, atol=1e-15)
    np.testing.assert_allclose(b, [0.5795, -1.729], rtol=0, atol=1e-15)


def test_sgd_ignores_momentum():
    assert np.array_equal(run("sgd", [G1, G2], momentum=0.9)[1], run("sgd", [G1, G2], momentum=0.0)[1])


def _adam_by_hand(grads, theta0, lr=LR, b1=0.9, b2=0.999, eps=1e-8, decoupled=0.0):
    """The documented equations, one scalar at a time."""
    out, theta = [], list(theta0)
    m, v = [0.0, 0.0], [0.0, 0.0]
    for t, g in enumerate(grads, start=1):
        for i in range(2):
            if decoupled and i == 0:  # θ ← θ − γλθ, on the weight only
                theta[i] = theta[i] - lr * decoupled * theta[i]
            m[i] = b1 * m[i] + (1 - b1) * g[i]
            v[i] = b2 * v[i] + (1 - b2) * g[i] ** 2
            m_hat = m[i] / (1 - b1**t)
            v_hat = v[i] / (1 - b2**t)
            theta[i] = theta[i] - lr * m_hat / (math.sqrt(v_hat) + eps)
        out.append(list(theta))
    return out


def test_adam_first_step_is_lr_times_the_sign():
    # t=1: m̂ = g, v̂ = g², so the step is γ g / (|g| + ε): 0.1·0.5/(0.5 + 1e-8) for θ[0]
    a, _ = run("adam", [G1, G2])
    assert a[0] == pytest.approx(1 - 0.1 * 0.5 / (0.5 + 1e-8), abs=1e-15)
    assert a[1] == pytest.approx(-2 + 0.1 * 1.0 / (1.0 + 1e-8), abs=1e-15)


def test_adam_with_bias_correction_and_eps_after_the_root():
    got = run("adam", [G1, G2, G1])
    want = _adam_by_hand([G1, G2, G1], [1.0, -2.0])
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-14)
    # t=2, θ[1]: g = 0 now, m = 0.9·(−0.1) = −0.09, m̂ = −0.09/0.19; v = 0.999·0.001, v̂ =
    # 0.000999/0.001999; the step is the ratio, not 0 (momentum carries it on)
    m_hat, v_hat = -0.09 / 0.19, 0.000999 / (1 - 0.999**2)
    assert got[1][1] - got[0][1] == pytest.approx(-0.1 * m_hat / (math.sqrt(v_hat) + 1e-8), abs=1e-14)


def test_adam_l2_weight_decay_goes_into_the_gradient_not_adamw():
    # adam: the trainer adds λθ to g (uses_l2); adamw: θ ← θ − γλθ on the weights first
    assert optim.RULES["adam"].uses_l2 and not optim.RULES["adamw"].uses_l2
    got = run("adamw", [G1, G2], weight_decay=0.1)
    want = _adam_by_hand([G1, G2], [1.0, -2.0], decoupled=0.1)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-14)
    # θ[0] first shrinks by γλ = 1%: 1 → 0.99, then the Adam step of 0.1·0.5/(0.5 + 1e-8)
    assert got[0][0] == pytest.approx(0.99 - 0.1 * 0.5 / (0.5 + 1e-8), abs=1e-15)
    assert got[0][1] == run("adam", [G1])[0][1]  # the bias (not in `weights`) is not decayed


def test_betas_are_used():
    got = run("adam", [G1, G2], betas=(0.5, 0.9))
    want = _adam_by_hand([G1, G2], [1.0, -2.0], b1=0.5, b2=0.9)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-14)


def test_a_live_lr_change_applies_to_every_rule():
    for name in optim.OPTIMIZERS:
        a = run(name, [G1, G2], lr=0.1)[1]
        b = run(name, [G1, G2], lr=0.05)[1]
        assert not np.array_equal(a, b), name


# --- the fast path (issue 25): blocks of the vector, NumPy ufuncs, no BLAS thread pool ---------


# The "weights" of the fast-path runs: two parts of θ, each across block boundaries at 4096 floats
# (AdamW decays them inside the block loop, block by block).
WEIGHTS = (slice(0, 5000), slice(9000, 20003))


def _steps(name: str, block, size: int = 100_003, steps: int = 70, dtype=np.float32,
           same_grad_array: bool = False):
    """θ after `steps` updates of a rule with random gradients (the flush included: 70 > 64).
    `same_grad_array`: the gradient arrives in one array refilled every step, as the trainer's
    workspace gives it, instead of a new array each step."""
    rng = np.random.default_rng(5)
    theta = rng.standard_normal(size).astype(dtype)
    rule = optim.make(name, theta, [theta[w] for w in WEIGHTS], weight_decay=0.01, block=block)
    grad = np.empty(size, dtype)
    for t in range(steps):
        g = (rng.standard_normal(size) * 10.0 ** rng.uniform(-6, 0, size)).astype(dtype)
        if same_grad_array:
            grad[:] = g
            g = grad
        rule.step(g, 0.01 / (1 + t), 0.9 if t % 7 else 0.5)  # a live momentum change now and then
    return theta, rule


@pytest.mark.parametrize("name", optim.OPTIMIZERS)
def test_the_blocked_update_is_bit_identical_to_the_whole_vector_one(name):
    whole, rule_whole = _steps(name, block=None)
    blocked, rule_blocked = _steps(name, block=4096)  # 25 blocks, the last one short
    assert len(rule_whole.blocks) == 1 and len(rule_blocked.blocks) == 25
    assert np.array_equal(whole, blocked)
    for a, b in zip(rule_whole.buffers, rule_blocked.buffers, strict=True):
        assert np.array_equal(a, b)


def _plain(name: str, size: int = 100_003, steps: int = 70, dtype=np.float32):
    """The same run as `_steps`, each rule written as whole-vector expressions (one new array
    per operation, no `out=`, no blocks, no shared scratch): the plain path."""
    rng = np.random.default_rng(5)
    theta = rng.standard_normal(size).astype(dtype)
    b = m = v = np.zeros(size, dtype)
    wd, b1, b2 = 0.01, 0.9, 0.999
    for t in range(1, steps + 1):
        g = (rng.standard_normal(size) * 10.0 ** rng.uniform(-6, 0, size)).astype(dtype)
        lr, mu = 0.01 / t, 0.9 if (t - 1) % 7 else 0.5
        if name == "sgd":
            theta = theta - g * lr
        elif name in ("momentum", "nesterov"):
            b = g.copy() if t == 1 else b * mu + g
            theta = theta - ((b * mu + g) if name == "nesterov" else b) * lr
        else:
            if name == "adamw":
                for w in WEIGHTS:
                    theta[w] = theta[w] * (1 - lr * wd)
            m, v = m * b1 + g, v * b2 + g * g  # M = m/(1-β1), V = v/(1-β2) (optim.Adam)
            root = math.sqrt((1 - b2**t) / (1 - b2))
            c, e = lr * (1 - b1) * root / (1 - b1**t), optim.EPS * root
            theta = theta - m / (np.sqrt(v) + e) * c
        decay = mu if name in ("momentum", "nesterov") else b1
        if name != "sgd" and t % optim.flush_every(decay) == 0:  # tiny entries to exactly 0
            b, m, v = (np.where(np.abs(a) < optim.FLUSH_BELOW, 0, a).astype(dtype) for a in (b, m, v))
    return theta, [b] if name in ("momentum", "nesterov") else [m, v] if name != "sgd" else []


@pytest.mark.parametrize("same_grad_array", [False, True], ids=["new-grad", "refilled-grad"])
@pytest.mark.parametrize("block", [None, 4096, optim.BLOCK])
@pytest.mark.parametrize("name", optim.OPTIMIZERS)
def test_the_fast_update_is_bit_identical_to_the_plain_expressions(name, block, same_grad_array):
    """In-place ufuncs, blocks, one block's scratch reused by every block, the step's scalars
    as 0-d arrays, the gradient's block views kept while the same array comes back, and
    AdamW's decay inside the block loop change how the numbers are computed, never which:
    float32 results equal the plain expressions' bit for bit (the flush of tiny entries
    included: 70 steps > 64)."""
    fast, rule = _steps(name, block=block, same_grad_array=same_grad_array)
    plain, buffers = _plain(name)
    assert np.array_equal(fast, plain)
    for a, b in zip(rule.buffers, buffers, strict=True):
        assert np.array_equal(a, b)


def test_adamw_decays_weights_that_are_not_part_of_theta_too():
    # weights given as arrays of their own (not views of θ) are decayed as before, in one pass
    theta, own = np.array([1.0, -2.0]), np.array([3.0])
    rule = optim.make("adamw", theta, [own], weight_decay=0.1)
    assert not rule.in_blocks
    rule.step(np.array([0.5, -1.0]), LR, 0.9)
    assert own[0] == 3.0 * (1 - LR * 0.1)  # θ ← θ − γλθ
    want = _adam_by_hand([G1], [1.0, -2.0])[0]  # θ itself: the Adam step only
    np.testing.assert_allclose(theta, want, rtol=0, atol=1e-15)


def test_span_in_finds_views_of_theta_only():
    theta = np.zeros(100, np.float32)
    assert optim.span_in(theta, theta[10:30]) == (10, 30)
    assert optim.span_in(theta, theta[20:80].reshape(6, 10)) == (20, 80)  # a weight matrix
    assert optim.span_in(theta, theta) == (0, 100)
    assert optim.span_in(theta, theta[10:30:2]) is None  # not contiguous
    assert optim.span_in(theta, theta[10:30].copy()) is None  # not θ's memory
    assert optim.span_in(theta, theta.view(np.int32)[10:30]) is None  # another dtype


@pytest.mark.parametrize("name", ["adam", "adamw"])
def test_float32_adam_follows_the_documented_equations_to_1e_6(name):
    """The folded, in-place float32 update against the equations in float64, element by element."""
    rng = np.random.default_rng(6)
    size, b1, b2, lr, wd = 50_000, 0.9, 0.999, 1e-3, 0.01
    theta0 = rng.standard_normal(size) * 0.05  # the scale of the network's weights
    theta = theta0.astype(np.float32)
    rule = optim.make(name, theta, [theta], weight_decay=wd)
    ref, m, v = theta0.copy(), np.zeros(size), np.zeros(size)
    for t in range(1, 31):
        g = rng.standard_normal(size).astype(np.float32)
        rule.step(g, lr, 0.0)
        if name == "adamw":
            ref -= lr * wd * ref
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g.astype(np.float64) ** 2
        ref -= lr * (m / (1 - b1**t)) / (np.sqrt(v / (1 - b2**t)) + optim.EPS)
    np.testing.assert_allclose(theta, ref, rtol=0, atol=1e-6)


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_every_optimizer_learns_the_tiny_set(tiny, optimizer):
    config = TrainConfig(hidden=16, epochs=3, batch_size=16, optimizer=optimizer, schedule="constant",
                         lr=0.001 if optimizer.startswith("adam") else 0.05, weight_decay=1e-4)
    accs = [ev.test_acc for ev in train.train(config, tiny) if isinstance(ev, EpochEnd)]
    assert accs[-1] > 0.5, accs


def test_optimizers_differ_and_sgd_is_the_seed_rule(tiny):
    finals = {}
    for name in OPTIMIZERS:
        config = TrainConfig(hidden=8, epochs=1, batch_size=32, optimizer=name, lr=0.01,
                             weight_decay=0.01)  # adamw equals adam without decay
        finals[name] = [ev.test_loss for ev in train.train(config, tiny) if isinstance(ev, EpochEnd)][0]
    assert len(set(finals.values())) == len(OPTIMIZERS)
    # sgd ignores momentum: the same run with momentum 0 and 0.9
    a = TrainConfig(hidden=8, epochs=1, batch_size=32, optimizer="sgd", momentum=0.0)
    b = TrainConfig(hidden=8, epochs=1, batch_size=32, optimizer="sgd", momentum=0.9)
    la = [ev.test_loss for ev in train.train(a, tiny) if isinstance(ev, EpochEnd)]
    lb = [ev.test_loss for ev in train.train(b, tiny) if isinstance(ev, EpochEnd)]
    assert la == lb
