"""Calibration: does a 90% answer come true 90% of the time?

Reliability diagram: the test samples binned by confidence (the top probability) into 10 equal
bins, [0, 0.1), ..., [0.9, 1.0]; each bin's mean confidence against its accuracy. The expected
calibration error is their weighted gap (Guo et al., "On Calibration of Modern Neural Networks",
ICML 2017):

    ECE = Σ_b (n_b / n) |acc_b − conf_b|

Temperature scaling (same paper) divides the logits by one number T > 0 before the softmax,
fitted to minimise the NLL of a held-out validation split. It never changes which class wins
(accuracy is untouched), only how sure the model says it is.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .model import Perceptron, log_softmax, softmax
from .resources import EVAL_CHUNK

BINS = 10
T_RANGE = (0.05, 20.0)


@dataclass(frozen=True)
class Reliability:
    confidence: np.ndarray  # (BINS,) mean confidence of each bin (NaN where empty)
    accuracy: np.ndarray  # (BINS,) accuracy of each bin (NaN where empty)
    count: np.ndarray  # (BINS,) samples per bin
    ece: float


def reliability(proba: np.ndarray, labels: np.ndarray, bins: int = BINS) -> Reliability:
    proba = np.asarray(proba, dtype=np.float64)
    conf = proba.max(axis=1)
    right = (proba.argmax(axis=1) == np.asarray(labels)).astype(np.float64)
    b = np.minimum((conf * bins).astype(np.int64), bins - 1)
    count = np.bincount(b, minlength=bins)
    sum_conf = np.bincount(b, weights=conf, minlength=bins)
    sum_right = np.bincount(b, weights=right, minlength=bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_conf, acc = sum_conf / count, sum_right / count
    return Reliability(mean_conf, acc, count, ece_of_bins(mean_conf, acc, count))


def ece_of_bins(confidence: np.ndarray, accuracy: np.ndarray, count: np.ndarray) -> float:
    """Σ_b (n_b / n) |acc_b − conf_b| over the non-empty bins of a reliability diagram."""
    keep = count > 0
    return float((count[keep] * np.abs(accuracy[keep] - confidence[keep])).sum()
                 / max(1.0, float(count.sum())))


def ece(proba: np.ndarray, labels: np.ndarray) -> float:
    return reliability(proba, labels).ece


def logits(model: Perceptron, images: np.ndarray) -> np.ndarray:
    """Z2 (n, 10) float64 for uint8 images, in chunks."""
    out = np.empty((len(images), 10), np.float64)
    for i in range(0, len(images), EVAL_CHUNK):
        X = images[i : i + EVAL_CHUNK].astype(np.float32) * np.float32(1 / 255)
        out[i : i + EVAL_CHUNK] = model.forward_cache(X)[2]
    return out


def nll_at(Z: np.ndarray, labels: np.ndarray, T: float) -> float:
    return float(-log_softmax(Z / T)[np.arange(len(labels)), labels].mean())


def fit_temperature(Z: np.ndarray, labels: np.ndarray) -> float:
    """The T in T_RANGE minimising the NLL of softmax(Z / T): a bounded 1-D search on log T."""
    from scipy.optimize import minimize_scalar

    labels = np.asarray(labels, dtype=np.int64)
    res = minimize_scalar(lambda u: nll_at(Z, labels, float(np.exp(u))),
                          bounds=tuple(np.log(T_RANGE)), method="bounded",
                          options={"xatol": 1e-4})
    return float(np.exp(res.x))


@dataclass(frozen=True)
class Calibration:
    temperature: float
    val_ece_before: float
    val_ece_after: float
    before: Reliability  # on the test set, T = 1
    after: Reliability  # on the test set, the fitted T
    val_samples: int


def calibrate(model: Perceptron, val_images: np.ndarray, val_labels: np.ndarray,
              test_images: np.ndarray, test_labels: np.ndarray) -> Calibration:
    """Fit T on the validation split; the reliability of the test set before and after."""
    Zv = logits(model, val_images)
    T = fit_temperature(Zv, val_labels)
    Zt = logits(model, test_images)
    return Calibration(
        T, ece(softmax(Zv), val_labels), ece(softmax(Zv / T), val_labels),
        reliability(softmax(Zt), test_labels), reliability(softmax(Zt / T), test_labels),
        len(val_labels))
