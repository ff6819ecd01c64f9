"""The seed's perceptron: 784 inputs, n ReLU hidden units, 10 softmax outputs, mean NLL loss.

Forward:   Z1 = X W1 + b1,  A1 = ReLU(Z1),  Z2 = A1 W2 + b2,  S = softmax(Z2),  L = mean NLL.
Backward:  the seed's seven steps, in the seed's order (see `Perceptron.backward`).

Shapes: X (m, 784), W1 (784, n), b1 (n,), W2 (n, 10), b2 (10,), S (m, 10).
Parameters are float32 by default; a caller may swap in float64 arrays and the maths holds.
"""

from __future__ import annotations

import numpy as np

N_IN, N_OUT = 784, 10
PARAM_NAMES = ("W1", "b1", "W2", "b2")


def log_softmax(Z: np.ndarray) -> np.ndarray:
    """Row-wise log-softmax, stable for any finite Z: (m, k) -> (m, k)."""
    shifted = Z - Z.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def softmax(Z: np.ndarray) -> np.ndarray:
    """Row-wise softmax with the max subtracted first, so exp never overflows."""
    E = np.exp(Z - Z.max(axis=1, keepdims=True))
    return E / E.sum(axis=1, keepdims=True)


class Perceptron:
    """784-n-10 ReLU network with a softmax output, trained by the seed's backprop."""

    def __init__(self, n_hidden: int, seed: int = 0, dtype: type = np.float32):
        rng = np.random.default_rng(seed)
        # He initialisation: keeps the variance of ReLU activations steady from layer to layer.
        self.W1 = (rng.standard_normal((N_IN, n_hidden)) * np.sqrt(2.0 / N_IN)).astype(dtype)
        self.b1 = np.zeros(n_hidden, dtype=dtype)
        self.W2 = (rng.standard_normal((n_hidden, N_OUT)) * np.sqrt(2.0 / n_hidden)).astype(dtype)
        self.b2 = np.zeros(N_OUT, dtype=dtype)

    @property
    def n_hidden(self) -> int:
        return self.W1.shape[1]

    def params(self) -> dict[str, np.ndarray]:
        """The parameters by name (the arrays themselves, not copies)."""
        return {name: getattr(self, name) for name in PARAM_NAMES}

    def forward_cache(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Z1 (m, n), A1 (m, n) and Z2 (m, 10) for a batch X (m, 784)."""
        Z1 = X @ self.W1 + self.b1
        A1 = np.maximum(Z1, 0)
        Z2 = A1 @ self.W2 + self.b2
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
        self, X: np.ndarray, y: np.ndarray
    ) -> tuple[float, dict[str, np.ndarray], np.ndarray]:
        """As `loss_and_grads`, and also the logits Z2 (m, 10), so a trainer can count hits."""
        Z1, A1, Z2 = self.forward_cache(X)
        logS = log_softmax(Z2)
        m = X.shape[0]
        loss = float(-logS[np.arange(m), y].mean())
        return loss, self.backward(X, y, Z1, A1, np.exp(logS)), Z2

    def backward(
        self, X: np.ndarray, y: np.ndarray, Z1: np.ndarray, A1: np.ndarray, S: np.ndarray
    ) -> dict[str, np.ndarray]:
        """The seed's seven backward steps. Y is the one-hot of y; m is the batch size."""
        m = X.shape[0]
        Y = np.zeros_like(S)
        Y[np.arange(m), y] = 1
        dZ2 = (S - Y) / m  # (m, 10)
        dW2 = A1.T @ dZ2  # (n, 10) = (n, m) · (m, 10)
        db2 = dZ2.sum(axis=0)  # (10,)
        dA1 = dZ2 @ self.W2.T  # (m, n) = (m, 10) · (10, n)
        dZ1 = dA1 * (Z1 > 0)  # (m, n), ReLU passes gradient only where it was active
        dW1 = X.T @ dZ1  # (784, n) = (784, m) · (m, n)
        db1 = dZ1.sum(axis=0)  # (n,)
        return {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}
