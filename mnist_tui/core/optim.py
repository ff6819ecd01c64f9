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
step. Every pass is a NumPy ufunc writing in place (`out=`), never a BLAS level-1 call (scal,
axpy): SciPy's OpenBLAS is a second library with a thread pool of its own, and its threads,
spinning after each tiny call, fought NumPy's matmul threads for the two cores (an Adam epoch at
n=128, batch 128 took 21 s instead of 0.5 s, and every run after it in that process was as slow:
issue 25). A ufunc pass is as fast as one BLAS thread and touches no thread pool. The step's
scalars (β1, γ, ...) go to the ufuncs as 0-d arrays of θ's dtype, made once a step: the same
numbers NumPy makes of a Python float, without converting one in every call (about 0.25 us a
call: Adam's update at n=800 took 945 us a step against 985, momentum's 418 against 441, the two
codes alternated seven times in one process).

The update runs block by block (BLOCK floats at a time): each rule's equations are written once,
in `update`, for one block, and `step` applies them to every block in turn. Elementwise maths is
the same numbers whatever the blocking (a test holds the blocked step bit-identical to one
block of the whole vector), but a block's few arrays stay in the core's cache across Adam's ten
passes, where the whole vector (3 MB per array at n=1024) went to memory and back ten times.
"""

from __future__ import annotations

import math

import numpy as np

OPTIMIZERS = ("sgd", "momentum", "nesterov", "adam", "adamw")
EPS = 1e-8
# Floats per block of the update: Adam's five arrays (θ, g, m, v, a temporary) of one block take
# 5 x 128 KiB, inside a core's L2 cache (1 MiB here) and no smaller than needed to keep the
# per-block Python cost (about 0.6 us per ufunc call) under the pass itself. Measured (CPU time
# of one step, n=800): Adam 1.27 ms in 32k blocks, 1.67 ms whole, 2.21 ms in 4k blocks; at
# n=128 the whole vector is best (158 us against 173), hence one block up to 4 x BLOCK.
BLOCK = 32768
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
    """One update rule over the flat parameter vector θ; `weights` are θ's views of W1 and W2.

    A rule defines `n_buffers` (its state arrays), `constants` (the step's scalars, once per
    step) and `update` (its equations on one block: θ, g, a temporary, then its buffers).
    `block=None` updates the whole vector at once (the plain path the tests compare with).
    """

    name = ""
    uses_l2 = True  # the trainer adds λθ to the gradient (all but adamw)
    n_buffers = 0
    decay_attr = ""  # the buffers decay by this step argument / attribute (for the flush)

    def __init__(self, theta: np.ndarray, weights: list[np.ndarray], weight_decay: float = 0.0,
                 betas: tuple[float, float] = (0.9, 0.999), block: int | None = BLOCK) -> None:
        self.theta, self.weights = theta, weights
        self.weight_decay = weight_decay
        self.beta1, self.beta2 = betas
        self.t = 0
        # state that decays geometrically (b, or m and v)
        self.buffers: list[np.ndarray] = [np.zeros_like(theta) for _ in range(self.n_buffers)]
        size = theta.size
        if not block or size <= 4 * block:  # a few blocks cost more calls than cache they save
            block = max(size, 1)
        self.blocks = [slice(i, min(i + block, size)) for i in range(0, size, block)]
        # One block's scratch, reused by every block: it stays in the cache, where a whole
        # vector's temporary went to memory and back with every block.
        self.tmp = np.empty(block, dtype=theta.dtype)
        self.views = [(theta[s], self.tmp[: s.stop - s.start], *(b[s] for b in self.buffers))
                      for s in self.blocks]
        self._decay, self._flush_every = math.nan, FLUSH_EVERY_MAX  # flush_every(decay), cached
        self._grad: np.ndarray | None = None  # the gradient array _block_views slice
        self._block_views: list[tuple] = []

    def step(self, grad: np.ndarray, lr: float, momentum: float) -> None:
        """One update of θ by the gradient `grad` (flat, θ's layout), block by block."""
        self.t += 1
        # The step's scalars as 0-d arrays of θ's dtype: the same numbers a Python float gives
        # (NumPy casts it to θ's dtype), without the cast in each of the ~10 calls a block.
        dtype = self.theta.dtype
        constants = tuple(c if c is None or isinstance(c, bool) else np.array(c, dtype)
                          for c in self.constants(lr, momentum))
        update = self.update
        for views in self._views_with(grad):
            update(*views, *constants)
        if self.buffers:
            self._flush(momentum if self.decay_attr == "momentum" else self.beta1)

    def _views_with(self, grad: np.ndarray) -> list[tuple]:
        """Each block's (θ, g, scratch, *buffers, *extra) views for the gradient `grad`, kept
        while the trainer passes the same array (its workspace's) step after step."""
        if grad is not self._grad:
            self._grad = grad
            self._block_views = [
                (theta, grad[s], tmp, *buffers, *extra)
                for s, (theta, tmp, *buffers), extra in zip(self.blocks, self.views,
                                                              self.extra_views(), strict=True)]
        return self._block_views

    def extra_views(self) -> list[tuple]:
        """Per block, what else its `update` takes after the buffers (nothing here)."""
        return [()] * len(self.blocks)

    def constants(self, lr: float, momentum: float) -> tuple:
        raise NotImplementedError

    def update(self, theta, g, tmp, *args) -> None:
        raise NotImplementedError

    def _flush(self, decay: float) -> None:
        if decay != self._decay:
            self._decay, self._flush_every = decay, flush_every(decay)
        if self.t % self._flush_every == 0:
            for _, tmp, *buffers in self.views:
                for buf in buffers:
                    np.copyto(buf, 0, where=np.less(np.abs(buf, out=tmp), FLUSH_BELOW))


class SGD(Optimizer):
    """θ ← θ − γ g (the seed's rule; momentum is ignored)."""

    name = "sgd"

    def constants(self, lr, momentum):
        return (lr,)

    def update(self, theta, g, tmp, lr):
        theta -= np.multiply(g, lr, out=tmp)


class Momentum(Optimizer):
    """b ← μ b + g (b = g at the first step);  θ ← θ − γ b.  torch.optim.SGD, dampening 0."""

    name = "momentum"
    nesterov = False
    n_buffers = 1
    decay_attr = "momentum"

    @property
    def buf(self) -> np.ndarray:
        return self.buffers[0]

    def constants(self, lr, momentum):
        return lr, momentum, self.t == 1

    def update(self, theta, g, tmp, b, lr, momentum, first):
        if first:
            np.copyto(b, g)
        else:
            b *= momentum
            b += g
        if self.nesterov:  # g ← g + μ b
            direction = np.multiply(b, momentum, out=tmp)
            direction += g
        else:
            direction = b
        theta -= np.multiply(direction, lr, out=tmp)


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
    Ten passes is the fewest for these equations in NumPy ufuncs: a pass scales by one scalar or
    combines two arrays, so x ← a x + b y takes two unless a or b is 1; folding c into the
    divisor (M / (√(V/c²) + e/c)) needs V/c², one pass more for the one it saves (issue 25).
    """

    name = "adam"
    n_buffers = 2  # M = m / (1 − β1), V = v / (1 − β2)

    @property
    def m(self) -> np.ndarray:
        return self.buffers[0]

    @property
    def v(self) -> np.ndarray:
        return self.buffers[1]

    def constants(self, lr, momentum):
        b1, b2, t = self.beta1, self.beta2, self.t
        root = math.sqrt((1 - b2**t) / (1 - b2))
        return b1, b2, lr * (1 - b1) * root / (1 - b1**t), EPS * root  # β1, β2, c, e

    def update(self, theta, g, tmp, m, v, b1, b2, c, e):
        m *= b1
        m += g  # M ← β1 M + g
        v *= b2
        v += np.square(g, out=tmp)  # V ← β2 V + g²  (np.square: g·g's numbers, in half the time)
        np.sqrt(v, out=tmp)
        tmp += e
        np.divide(m, tmp, out=tmp)
        tmp *= c
        theta -= tmp  # θ ← θ − c M/(√V+e)


class AdamW(Adam):
    """θ ← θ − γ λ θ (decoupled weight decay, on the weights), then the Adam step.
    torch.optim.AdamW.

    The decay runs in the block loop, on the part of each block that is a weight, just before
    that block's Adam step: the same numbers as a pass over W1 and W2 first (each element is
    decayed, then stepped), without streaming the weights from memory once more."""

    name = "adamw"
    uses_l2 = False

    def __init__(self, theta, weights, weight_decay=0.0, betas=(0.9, 0.999), block=BLOCK):
        super().__init__(theta, weights, weight_decay, betas, block)
        spans = [span_in(theta, w) for w in weights]
        self.in_blocks = None not in spans  # every weight is a part of θ (as in training)
        # each block's views of the weights it holds
        self.decayed = [tuple(theta[max(a, s.start):min(b, s.stop)] for a, b in spans
                              if max(a, s.start) < min(b, s.stop))
                        for s in self.blocks] if self.in_blocks else [()] * len(self.blocks)

    def extra_views(self):
        return [(w,) for w in self.decayed]

    def step(self, grad, lr, momentum):
        if self.weight_decay and not self.in_blocks:
            for w in self.weights:
                w *= 1 - lr * self.weight_decay
        super().step(grad, lr, momentum)

    def constants(self, lr, momentum):
        shrink = 1 - lr * self.weight_decay if self.weight_decay and self.in_blocks else None
        return shrink, *super().constants(lr, momentum)

    def update(self, theta, g, tmp, m, v, weights, shrink, b1, b2, c, e):
        if shrink is not None:
            for w in weights:
                w *= shrink  # θ ← θ − γλθ, as θ (1 − γλ), on this block's weights
        super().update(theta, g, tmp, m, v, b1, b2, c, e)


def span_in(theta: np.ndarray, part: np.ndarray) -> tuple[int, int] | None:
    """Where `part` lies in the flat vector θ, as (start, stop), if it is a contiguous view of
    θ's memory; else None."""
    if part.dtype != theta.dtype or not part.flags.c_contiguous or not np.shares_memory(theta, part):
        return None
    offset = part.__array_interface__["data"][0] - theta.__array_interface__["data"][0]
    start, rest = divmod(offset, theta.itemsize)
    if rest or start < 0 or start + part.size > theta.size:
        return None
    return start, start + part.size


RULES = {cls.name: cls for cls in (SGD, Momentum, Nesterov, Adam, AdamW)}


def make(name: str, theta: np.ndarray, weights: list[np.ndarray], weight_decay: float = 0.0,
         betas: tuple[float, float] = (0.9, 0.999), block: int | None = BLOCK) -> Optimizer:
    """The update rule called `name` (one of OPTIMIZERS) over θ, updated `block` floats at a time
    (None: the whole vector at once)."""
    return RULES[name](theta, weights, weight_decay, betas, block)
