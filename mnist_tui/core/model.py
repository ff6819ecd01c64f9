"""The seed's perceptron: 784 inputs, n ReLU hidden units, 10 softmax outputs, mean NLL loss.

Forward:   Z1 = X W1 + b1,  A1 = ReLU(Z1),  Z2 = A1 W2 + b2,  S = softmax(Z2),  L = mean NLL.
Backward:  the seed's seven steps, in the seed's order (see `Perceptron.backward`).

Shapes: X (m, 784), W1 (784, n), b1 (n,), W2 (n, 10), b2 (10,), S (m, 10).
Parameters are float32 by default; a caller may swap in float64 arrays and the maths holds.

Speed comes from layout, not from changing the maths: a trainer may pass a `Workspace`, whose
preallocated arrays receive each step's result (numpy's `out=`), so a step allocates nothing
large; and `pack()` lays the four parameters out in one flat vector, so the SGD update is a
few whole-vector operations instead of a dozen small ones.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

N_IN, N_OUT = 784, 10
PARAM_NAMES = ("W1", "b1", "W2", "b2")


def flops_per_sample(n_hidden: int) -> int:
    """Training matmul FLOPs per sample (a multiply-add counts 2): forward X W1 and A1 W2,
    backward A1ᵀ dZ2, dZ2 W2ᵀ and Xᵀ dZ1. Elementwise work is left out."""
    return 2 * (2 * 784 * n_hidden + 3 * n_hidden * 10)


def log_softmax(Z: np.ndarray) -> np.ndarray:
    """Row-wise log-softmax, stable for any finite Z: (m, k) -> (m, k)."""
    shifted = Z - Z.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def softmax(Z: np.ndarray) -> np.ndarray:
    """Row-wise softmax with the max subtracted first, so exp never overflows."""
    E = np.exp(Z - Z.max(axis=1, keepdims=True))
    return E / E.sum(axis=1, keepdims=True)


def param_shapes(n_hidden: int) -> dict[str, tuple[int, ...]]:
    return {"W1": (N_IN, n_hidden), "b1": (n_hidden,), "W2": (n_hidden, N_OUT), "b2": (N_OUT,)}


def flat_views(flat: np.ndarray, n_hidden: int) -> dict[str, np.ndarray]:
    """Views of a flat vector shaped as W1, b1, W2, b2 (each C-contiguous)."""
    views, start = {}, 0
    for name, shape in param_shapes(n_hidden).items():
        size = int(np.prod(shape))
        views[name] = flat[start : start + size].reshape(shape)
        start += size
    return views


@dataclass
class Workspace:
    """Preallocated arrays for batches of up to m rows; results of a step land here."""

    Z1: np.ndarray  # (m, n)
    A1: np.ndarray  # (m, n)
    active: np.ndarray  # (m, n) bool, [Z1 > 0]
    Z2: np.ndarray  # (m, 10)
    S: np.ndarray  # (m, 10), becomes dZ2 in the backward pass
    dA1: np.ndarray  # (m, n), becomes dZ1
    grad: np.ndarray  # flat, the same layout as Perceptron.pack()
    grads: dict[str, np.ndarray]  # views of `grad` named W1 b1 W2 b2
    rows: np.ndarray  # 0..m-1, for picking each row's label

    @classmethod
    def create(cls, n_hidden: int, m: int, dtype) -> Workspace:
        n = n_hidden
        grad = np.empty(sum(int(np.prod(s)) for s in param_shapes(n).values()), dtype=dtype)
        return cls(
            Z1=np.empty((m, n), dtype), A1=np.empty((m, n), dtype),
            active=np.empty((m, n), bool), Z2=np.empty((m, N_OUT), dtype),
            S=np.empty((m, N_OUT), dtype), dA1=np.empty((m, n), dtype),
            grad=grad, grads=flat_views(grad, n), rows=np.arange(m),
        )


def _out(ws: Workspace | None, name: str, m: int) -> np.ndarray | None:
    """The first m rows of a workspace array, or None (numpy then allocates)."""
    return None if ws is None else getattr(ws, name)[:m]


class Perceptron:
    """784-n-10 ReLU network with a softmax output, trained by the seed's backprop."""

    def __init__(self, n_hidden: int, seed: int = 0, dtype: type = np.float32):
        rng = np.random.default_rng(seed)
        # He initialisation: keeps the variance of ReLU activations steady from layer to layer.
        self.W1 = (rng.standard_normal((N_IN, n_hidden)) * np.sqrt(2.0 / N_IN)).astype(dtype)
        self.b1 = np.zeros(n_hidden, dtype=dtype)
        self.W2 = (rng.standard_normal((n_hidden, N_OUT)) * np.sqrt(2.0 / n_hidden)).astype(dtype)
        self.b2 = np.zeros(N_OUT, dtype=dtype)

    @classmethod
    def from_params(cls, W1: np.ndarray, b1: np.ndarray, W2: np.ndarray,
                    b2: np.ndarray) -> Perceptron:
        """A network with these parameters (copied): (784, n) (n,) (n, 10) (10,)."""
        model = cls.__new__(cls)
        model.W1, model.b1, model.W2, model.b2 = (np.array(a) for a in (W1, b1, W2, b2))
        return model

    @property
    def n_hidden(self) -> int:
        return self.W1.shape[1]

    @property
    def dtype(self) -> np.dtype:
        return np.result_type(*self.params().values())

    def params(self) -> dict[str, np.ndarray]:
        """The parameters by name (the arrays themselves, not copies)."""
        return {name: getattr(self, name) for name in PARAM_NAMES}

    def pack(self) -> np.ndarray:
        """Move the parameters into one flat vector and make W1 b1 W2 b2 views of it."""
        dtype = self.dtype
        flat = np.concatenate([p.astype(dtype, copy=False).ravel() for p in self.params().values()])
        for name, view in flat_views(flat, self.n_hidden).items():
            setattr(self, name, view)
        return flat

    def forward_cache(
        self, X: np.ndarray, ws: Workspace | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Z1 (m, n), A1 (m, n) and Z2 (m, 10) for a batch X (m, 784)."""
        m = X.shape[0]
        Z1 = np.matmul(X, self.W1, out=_out(ws, "Z1", m))
        Z1 += self.b1  # Z1 = X W1 + b1
        A1 = np.maximum(Z1, 0, out=_out(ws, "A1", m))  # A1 = ReLU(Z1)
        Z2 = np.matmul(A1, self.W2, out=_out(ws, "Z2", m))
        Z2 += self.b2  # Z2 = A1 W2 + b2
        return Z1, A1, Z2

    def forward(self, X: np.ndarray) -> np.ndarray:
        """S, the softmax probabilities (m, 10), for X (m, 784)."""
        return softmax(self.forward_cache(X)[2])

    predict_proba = forward

    def predict(self, X: np.ndarray) -> np.ndarray:
        """The most probable class for each row of X: (m,) int64."""
        return self.forward_cache(X)[2].argmax(axis=1)

    def loss_and_grads(
        self, X: np.ndarray, y: np.ndarray
    ) -> tuple[float, dict[str, np.ndarray]]:
        """Mean NLL of labels y (m,) under the model, and its gradient for each parameter."""
        loss, grads, _ = self.loss_grads_logits(X, y)
        return loss, grads

    def loss_grads_logits(
        self, X: np.ndarray, y: np.ndarray, ws: Workspace | None = None
    ) -> tuple[float, dict[str, np.ndarray], np.ndarray]:
        """As `loss_and_grads`, and also the logits Z2 (m, 10), so a trainer can count hits.

        With a workspace, the gradients returned are its arrays: valid until the next call.
        """
        Z1, A1, Z2 = self.forward_cache(X, ws)
        m = X.shape[0]
        rows = np.arange(m) if ws is None else ws.rows[:m]
        # Log-softmax, computed once from the shifted logits: -log S[y] = log Σ exp(z) - z[y],
        # exact even where S[y] itself would underflow to 0 (no clipping needed).
        shifted = np.subtract(Z2, Z2.max(axis=1, keepdims=True), out=_out(ws, "S", m))
        true_logit = shifted[rows, y]
        S = np.exp(shifted, out=shifted)
        sums = S.sum(axis=1, keepdims=True)
        loss = float(np.mean(np.log(sums[:, 0]) - true_logit))
        S /= sums  # S = softmax(Z2)
        return loss, self.backward(X, y, Z1, A1, S, ws), Z2

    def backward(
        self, X: np.ndarray, y: np.ndarray, Z1: np.ndarray, A1: np.ndarray, S: np.ndarray,
        ws: Workspace | None = None,
    ) -> dict[str, np.ndarray]:
        """The seed's seven backward steps. S is overwritten (it becomes dZ2); m = batch size."""
        m = X.shape[0]
        rows = np.arange(m) if ws is None else ws.rows[:m]
        g = ws.grads if ws is not None else dict.fromkeys(PARAM_NAMES)
        # dZ2 = (S - Y)/m, with Y the one-hot labels: subtracting Y is subtracting 1 at each label.
        dZ2 = S
        dZ2[rows, y] -= 1
        dZ2 /= m  # (m, 10)
        dW2 = np.matmul(A1.T, dZ2, out=g["W2"])  # (n, 10) = (n, m) · (m, 10)
        db2 = np.sum(dZ2, axis=0, out=g["b2"])  # (10,)
        dA1 = np.matmul(dZ2, self.W2.T, out=_out(ws, "dA1", m))  # (m, n) = (m, 10) · (10, n)
        active = np.greater(Z1, 0, out=_out(ws, "active", m))  # ReLU passed gradient only here
        dZ1 = np.multiply(dA1, active, out=dA1)  # (m, n)
        dW1 = np.matmul(X.T, dZ1, out=g["W1"])  # (784, n) = (784, m) · (m, n)
        db1 = np.sum(dZ1, axis=0, out=g["b1"])  # (n,)
        return {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}
