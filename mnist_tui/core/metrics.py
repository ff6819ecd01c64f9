"""Loss, accuracy, the confusion matrix and the misclassified samples, on plain arrays."""

from __future__ import annotations

import numpy as np

N_CLASSES = 10


def nll(proba: np.ndarray, y: np.ndarray) -> float:
    """Mean negative log-likelihood of labels y (m,) under probabilities proba (m, k)."""
    p = proba[np.arange(len(y)), y]
    # Probabilities that underflowed to 0 would give inf; the smallest normal float is the floor.
    return float(-np.log(np.maximum(p, np.finfo(proba.dtype).tiny)).mean())


def accuracy(pred: np.ndarray, y: np.ndarray) -> float:
    """Fraction of predictions equal to the labels; 0.0 for empty input."""
    return float(np.mean(pred == y)) if len(y) else 0.0


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, k: int = N_CLASSES) -> np.ndarray:
    """(k, k) int64 counts: row = true class, column = predicted class."""
    idx = y_true.astype(np.int64) * k + y_pred.astype(np.int64)
    return np.bincount(idx, minlength=k * k).reshape(k, k)


def recall_per_class(cm: np.ndarray) -> np.ndarray:
    """Diagonal over row sums, (k,) float; NaN for a class with no samples."""
    totals = cm.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(totals > 0, np.diag(cm) / totals, np.nan)


def select_samples(
    y_true: np.ndarray,
    proba: np.ndarray,
    true_class: int | None = None,
    pred_class: int | None = None,
    wrong: bool = True,
) -> np.ndarray:
    """Indices of samples (mis)classified, filtered by true/predicted class.

    Wrong samples are ordered most confidently wrong first (highest probability given to the
    wrong class); right ones least confident first, so the borderline cases lead.
    """
    pred = proba.argmax(axis=1)
    mask = (pred != y_true) if wrong else (pred == y_true)
    if true_class is not None:
        mask &= y_true == true_class
    if pred_class is not None:
        mask &= pred == pred_class
    idx = np.flatnonzero(mask)
    conf = proba[idx, pred[idx]]
    order = np.argsort(-conf if wrong else conf, kind="stable")
    return idx[order]
