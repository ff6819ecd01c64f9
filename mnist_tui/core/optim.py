"""The update rules: how a step turns the gradient into new weights. Nothing else changes.

The backward pass (model.py) gives the gradient g of the loss for every parameter, packed into one
flat vector; each rule below updates the packed parameters θ in place. The equations are the ones
PyTorch documents for `torch.optim.SGD`, `torch.optim.Adam` and `torch.optim.AdamW`, with t the
step number (from 1), γ the learning rate of this step (the schedule's, or a live edit's), λ the
weight decay, μ the momentum, β1 and β2 Adam's decay rates and ε = 1e-8:

    sgd        θ ← θ − γ g
    momentum   b ← μ b + g   (b = g at t = 1; dampening 0)          θ ← θ − γ b
    nesterov   b ← μ b + g   (b = g at t = 1)      g ← g + μ b       θ ← θ − γ g
    adam       m ← β1 m + (1 − β1) g       v ← β2 v + (1 − β2) g²
               m̂ = m / (1 − β1ᵗ)           v̂ = v / (1 − β2ᵗ)
               θ ← θ − γ m̂ / (√v̂ + ε)      (ε added after the square root)
    adamw      θ ← θ − γ λ θ  (decoupled weight decay), then the Adam step on g

Weight decay λ: for sgd, momentum, nesterov and adam it is the L2 penalty g ← g + λ θ, added by the
trainer before `step`; adamw instead shrinks θ itself, inside `step`. Either way it applies to the
weights W1 and W2 only, never the biases (`weights` below), as is usual.

Each rule keeps its state (b, or m and v) in flat float arrays beside θ and allocates nothing per
step: Adam costs a few passes over ~100k numbers, against three matrix products per batch.
"""

from __future__ import annotations

import math

import numpy as np

OPTIMIZERS = ("sgd", "momentum", "nesterov", "adam", "adamw")
EPS = 1e-8
# Momentum decays the buffer of rarely-seen pixels geometrically until it is subnormal, and
# subnormal float arithmetic is ~50x slower on x86 (measured: 411 vs 7.5 us for one update of
# 100k floats). NumPy cannot set flush-to-zero, so every few steps the entries below FLUSH_BELOW,
# far too small to move a float32 weight, are set to exactly 0: often enough that nothing decays
# from FLUSH_BELOW to the subnormal range (1.2e-38) in between (decay^k >= 1e-22).
FLUSH_BELOW, FLUSH_EVERY_MAX = 1e-15, 64


def flush_every(decay: float) -> int:
    """Steps between flushes of tiny entries of a buffer that decays by `decay` per step."""
    if decay <= 0:
        return FLUSH_EVERY_MAX  # nothing decays across steps
    return max(1, min(FLUSH_EVERY_MAX, int(22 / -math.log10(decay))))


class Optimizer:
    """One update rule over the flat parameter vector θ; `weights` are θ's views of W1 and W2."""

    name = ""
    uses_l2 = True  # the trainer adds λθ to the gradient (all but adamw)

    def __init__(self, theta: np.ndarray, weights: list[np.ndarray], weight_decay: float = 0.0,
                 betas: tuple[float, float] = (0.9, 0.999)) -> None:
        self.theta, self.weights = theta, weights
        self.weight_decay = weight_decay
        self.beta1, self.beta2 = betas
        self.t = 0
        self.tmp = np.empty_like(theta)
        self.buffers: list[np.ndarray] = []  # state that decays geometrically (b, or m and v)

    def step(self, grad: np.ndarray, lr: float, momentum: float) -> None:
        raise NotImplementedError

    def _flush(self, decay: float) -> None:
        if self.t % flush_every(decay) == 0:
            for buf in self.buffers:
                np.copyto(buf, 0, where=np.less(np.abs(buf, out=self.tmp), FLUSH_BELOW))


class SGD(Optimizer):
    """θ ← θ − γ g (the seed's rule; momentum is ignored)."""

    name = "sgd"

    def step(self, grad, lr, momentum):
        self.t += 1
        self.theta -= np.multiply(grad, lr, out=self.tmp)


class Momentum(Optimizer):
    """b ← μ b + g (b = g at the first step);  θ ← θ − γ b.  torch.optim.SGD, dampening 0."""

    name = "momentum"
    nesterov = False

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.buf = np.zeros_like(self.theta)
        self.buffers = [self.buf]

    def step(self, grad, lr, momentum):
        self.t += 1
        b = self.buf
        if self.t == 1:
            np.copyto(b, grad)
        else:
            b *= momentum
            b += grad
        if self.nesterov:  # g ← g + μ b
            direction = np.multiply(b, momentum, out=self.tmp)
            direction += grad
        else:
            direction = b
        self.theta -= np.multiply(direction, lr, out=self.tmp)
        self._flush(momentum)


class Nesterov(Momentum):
    """b ← μ b + g;  g ← g + μ b;  θ ← θ − γ g.  torch.optim.SGD(nesterov=True)."""

    name = "nesterov"
    nesterov = True


class Adam(Optimizer):
    """m ← β1 m + (1−β1) g;  v ← β2 v + (1−β2) g²;  θ ← θ − γ m̂ / (√v̂ + ε), with
    m̂ = m / (1−β1ᵗ), v̂ = v / (1−β2ᵗ).  torch.optim.Adam (L2 weight decay in g).

    The same numbers in fewer passes over the ~100k parameters (Adam's extra cost per step is
    all passes): keep M = m / (1−β1) and V = v / (1−β2), which obey M ← β1 M + g and
    V ← β2 V + g² (no scaling of g), and fold every constant into two scalars:
        m̂ / (√v̂ + ε) = c · M / (√V + e),  c = (1−β1) √(1−β2ᵗ) / ((1−β1ᵗ) √(1−β2)),
                                           e = ε √(1−β2ᵗ) / √(1−β2).
    Scaling and adding use BLAS scal and axpy in place (one pass each).
    """

    name = "adam"

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.m = np.zeros_like(self.theta)  # M = m / (1 − β1)
        self.v = np.zeros_like(self.theta)  # V = v / (1 − β2)
        self.buffers = [self.m, self.v]
        from scipy.linalg.blas import get_blas_funcs

        self.axpy, self.scal = get_blas_funcs(("axpy", "scal"), (self.theta,))

    def step(self, grad, lr, momentum):
        self.t += 1
        b1, b2, t = self.beta1, self.beta2, self.t
        m, v, tmp = self.m, self.v, self.tmp
        self.axpy(grad, self.scal(b1, m))  # M ← β1 M + g
        self.axpy(np.multiply(grad, grad, out=tmp), self.scal(b2, v))  # V ← β2 V + g²
        root = math.sqrt((1 - b2**t) / (1 - b2))
        np.sqrt(v, out=tmp)
        tmp += EPS * root
        np.divide(m, tmp, out=tmp)
        self.axpy(tmp, self.theta, a=-lr * (1 - b1) * root / (1 - b1**t))  # θ ← θ − c M/(√V+e)
        self._flush(b1)


class AdamW(Adam):
    """θ ← θ − γ λ θ (decoupled weight decay, on the weights), then the Adam step.
    torch.optim.AdamW."""

    name = "adamw"
    uses_l2 = False

    def step(self, grad, lr, momentum):
        if self.weight_decay:
            for w in self.weights:
                w *= 1 - lr * self.weight_decay
        super().step(grad, lr, momentum)


RULES = {cls.name: cls for cls in (SGD, Momentum, Nesterov, Adam, AdamW)}


def make(name: str, theta: np.ndarray, weights: list[np.ndarray], weight_decay: float = 0.0,
         betas: tuple[float, float] = (0.9, 0.999)) -> Optimizer:
    """The update rule called `name` (one of OPTIMIZERS) over θ."""
    return RULES[name](theta, weights, weight_decay, betas)
