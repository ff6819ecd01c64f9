"""Why the model said it: input saliency and nudges, one hidden unit at a time, and time to target.

Everything here reads a trained `Perceptron` and never changes the weights it is given (a
revive changes a copy the trainer owns; see `revive`).

Saliency is the gradient of log S[c], the log-probability of class c, with respect to the input
pixels x (in [0, 1], as the model sees them). It runs the seed's own backward steps for one
sample whose "label" is c, then one step further, to the input:

    dZ2 = S - Y            (Y one-hot at c; m = 1)
    dA1 = dZ2 W2ᵀ
    dZ1 = dA1 ⊙ [Z1 > 0]
    dX  = dZ1 W1ᵀ          (the step the seed never needed: the input is not a parameter)

dX is the gradient of the loss −log S[c]; the saliency is −dX, the direction that raises class c.
Red where more ink would raise it, blue where ink lowers it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .model import Perceptron, softmax
from .resources import EVAL_CHUNK

NUDGE_STEP = 0.5  # L2 length of one nudge step, in pixels of full ink (x in [0, 1])
NUDGE_MAX_STEPS = 60
BISECTIONS = 12  # along the last step, to land just past the decision boundary


def input_gradient(model: Perceptron, x: np.ndarray, cls: int) -> tuple[np.ndarray, np.ndarray]:
    """(S, the probabilities (10,); the gradient of log S[cls] with respect to x (784,))."""
    X = np.asarray(x, dtype=model.dtype).reshape(1, -1)
    Z1, A1, Z2 = model.forward_cache(X)
    S = softmax(Z2)
    dZ2 = S.copy()
    dZ2[0, cls] -= 1  # dZ2 = S - Y
    dA1 = dZ2 @ model.W2.T  # (1, n)
    dZ1 = dA1 * (Z1 > 0)  # (1, n)
    dX = dZ1 @ model.W1.T  # (1, 784)
    return S[0], -dX[0]


def saliency(model: Perceptron, x: np.ndarray) -> tuple[int, np.ndarray, np.ndarray]:
    """(predicted class, its probabilities (10,), the saliency of that class (784,))."""
    S = model.forward(np.asarray(x, dtype=model.dtype).reshape(1, -1))[0]
    pred = int(S.argmax())
    _, grad = input_gradient(model, x, pred)
    return pred, S, grad


@dataclass(frozen=True)
class Nudge:
    """The frames of a nudge toward `target`: images (k+1, 784) and probabilities (k+1, 10)."""

    target: int
    images: np.ndarray
    proba: np.ndarray

    @property
    def flipped_at(self) -> int | None:
        """The first frame the model answers `target`, or None if it never did."""
        hits = np.flatnonzero(self.proba.argmax(axis=1) == self.target)
        return int(hits[0]) if len(hits) else None

    @property
    def change(self) -> float:
        """L2 distance from the first frame to the last (x in [0, 1])."""
        return float(np.linalg.norm(self.images[-1] - self.images[0]))

    @property
    def pixels_changed(self) -> int:
        """Pixels that moved by more than a tenth of full ink."""
        return int(np.count_nonzero(np.abs(self.images[-1] - self.images[0]) > 0.1))


def nudge(model: Perceptron, x: np.ndarray, target: int, step: float = NUDGE_STEP,
          max_steps: int = NUDGE_MAX_STEPS) -> Nudge:
    """Gradient ascent on log S[target] in the input, a fixed L2 step at a time, each image kept
    in [0, 1]; it stops at the first image the model answers `target`, moved back along the
    last step to just past the boundary (the smallest change this walk finds), or after
    `max_steps`."""
    x = np.clip(np.asarray(x, dtype=np.float64).ravel(), 0, 1)
    images, probas = [x.copy()], []
    for _ in range(max_steps + 1):
        S, grad = input_gradient(model, x, target)
        probas.append(np.asarray(S, dtype=np.float64))
        if S.argmax() == target or len(images) > max_steps:
            break
        norm = float(np.linalg.norm(grad))
        if not norm or not np.isfinite(norm):
            break
        x = np.clip(x + step * grad / norm, 0, 1)
        images.append(x.copy())
    images = images[: len(probas)]
    if len(images) > 1 and probas[-1].argmax() == target:
        # The last step overshot the boundary by up to a whole step: bisect along it for the
        # first point the model answers `target`, so the change shown is no larger than needed.
        a, b = images[-2], images[-1]
        lo, hi = 0.0, 1.0
        for _ in range(BISECTIONS):
            mid = (lo + hi) / 2
            S = model.forward((a + mid * (b - a)).reshape(1, -1).astype(model.dtype))[0]
            lo, hi = (lo, mid) if S.argmax() == target else (mid, hi)
        images[-1] = a + hi * (b - a)
        probas[-1] = np.asarray(model.forward(images[-1].reshape(1, -1).astype(model.dtype))[0],
                                dtype=np.float64)
    return Nudge(target, np.array(images), np.array(probas))


# --- one hidden unit at a time ----------------------------------------------------------------

def hidden_activations(model: Perceptron, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(A1 (n_samples, n) float32, Z2 (n_samples, 10)) for uint8 images, in chunks."""
    n = len(images)
    A = np.empty((n, model.n_hidden), np.float32)
    Z = np.empty((n, 10), np.float32)
    for i in range(0, n, EVAL_CHUNK):
        X = images[i : i + EVAL_CHUNK].astype(np.float32) * np.float32(1 / 255)
        _, A1, Z2 = model.forward_cache(X)
        A[i : i + EVAL_CHUNK], Z[i : i + EVAL_CHUNK] = A1, Z2
    return A, Z


@dataclass(frozen=True)
class Unit:
    """What one hidden unit j does over a set of images."""

    index: int
    receptive_field: np.ndarray  # W1[:, j] (784,)
    bias: float
    outgoing: np.ndarray  # W2[j] (10,): its vote for each class
    activations: np.ndarray  # A1[:, j] over the images
    top: np.ndarray  # indices of the images that excite it most, strongest first

    @property
    def dead(self) -> bool:
        return not bool((self.activations > 0).any())

    @property
    def active_fraction(self) -> float:
        return float(np.mean(self.activations > 0))


def unit(model: Perceptron, A1: np.ndarray, j: int, top: int = 9) -> Unit:
    acts = A1[:, j]
    order = np.argsort(-acts, kind="stable")[:top]
    return Unit(j, np.array(model.W1[:, j]), float(model.b1[j]), np.array(model.W2[j]),
                np.array(acts), order[acts[order] > 0])


def per_class_accuracy(Z2: np.ndarray, labels: np.ndarray, classes: int = 10) -> np.ndarray:
    pred = Z2.argmax(axis=1)
    out = np.full(classes, np.nan)
    for c in range(classes):
        mask = labels == c
        if mask.any():
            out[c] = float(np.mean(pred[mask] == c))
    return out


def ablate(model: Perceptron, A1: np.ndarray, Z2: np.ndarray, labels: np.ndarray,
           units) -> tuple[np.ndarray, np.ndarray]:
    """Per-class accuracy (10,) before and after silencing `units` (their A1 set to 0): Z2
    loses exactly those units' terms, A1[:, j] W2[j]. The model is not changed."""
    units = list(units)
    silenced = Z2 - A1[:, units] @ model.W2[units].astype(np.float32)
    return per_class_accuracy(Z2, labels), per_class_accuracy(silenced, labels)


def revive(params: dict[str, np.ndarray], j: int, rng: np.random.Generator) -> None:
    """Re-initialise hidden unit j in place as the model's own He initialisation would:
    W1[:, j] ~ N(0, 2/784), b1[j] = 0, W2[j] ~ N(0, 2/n)."""
    W1, b1, W2 = params["W1"], params["b1"], params["W2"]
    W1[:, j] = rng.standard_normal(W1.shape[0]) * np.sqrt(2.0 / W1.shape[0])
    b1[j] = 0
    W2[j] = rng.standard_normal(W2.shape[1]) * np.sqrt(2.0 / W1.shape[1])


# --- time to target ---------------------------------------------------------------------------

def time_to_target(accs, seconds, target: float) -> tuple[int, float] | None:
    """(1-based epoch, cumulative seconds) when `accs` first reaches `target`; None if never.
    `seconds` are per-epoch seconds, summed up to and including that epoch."""
    total = 0.0
    for epoch, (acc, sec) in enumerate(zip(accs, seconds, strict=False), 1):
        total += float(sec or 0.0)
        if acc is not None and acc >= target:
            return epoch, total
    return None


# --- a ghost to race --------------------------------------------------------------------------

GHOST_TARGETS = {"mnist": 0.98, "fashion": 0.88}  # a good run's accuracy, reached mid-run


@dataclass(frozen=True)
class Ghost:
    """The history's fastest run to `target` on this machine: its curve, to race against."""

    run_id: int
    target: float
    epochs: list[int]
    test_acc: list[float]
    reached_epoch: int
    reached_seconds: float  # epoch seconds summed (evaluation included), to the first hit


def fastest_to_target(store, dataset: str, target: float | None = None,
                      host: str | None = None, exclude: int | None = None) -> Ghost | None:
    """Of the stored runs of `dataset` recorded on `host` (default: this machine), the one that
    first reached `target` test accuracy in the fewest seconds; None if none did."""
    import socket

    target = GHOST_TARGETS.get(dataset, 0.9) if target is None else target
    host = socket.gethostname() if host is None else host
    best = None
    for run in store.runs(confusion=False):
        config = run.get("config") if isinstance(run.get("config"), dict) else {}
        if run["id"] == exclude or run.get("host") != host or config.get("dataset", "mnist") != dataset:
            continue
        if run.get("best_test_acc") is not None and run["best_test_acc"] < target:
            continue  # its stored best never reached the target: its epochs need not be read
        series = store.epoch_series(run["id"])
        hit = time_to_target(series["test_acc"], series["seconds"], target)
        if hit and (best is None or hit[1] < best.reached_seconds):
            best = Ghost(run["id"], target, series["epoch"], series["test_acc"], *hit)
    return best
