"""Each test sample's learning history: when it was learned for good, how often it was forgotten.

After Toneva et al., "An Empirical Study of Example Forgetting during Deep Neural Network
Learning" (ICLR 2019). The input is the predicted class of every test sample at every epoch,
P (epochs, n) uint8, and the labels y (n,). A *forgetting event* is a sample going from right at
one epoch to wrong at the next. Per sample:

- learned at: the first epoch from which it stays right to the end (None if wrong at the end);
- forgettings: the number of forgetting events;
- kinds: "never learned" (wrong at every epoch), "learned late" (learned for good only in the
  second half of the run, after the first epoch), "flip-flopping" (forgotten two or more
  times), "forgotten" (right at some epoch, wrong at the end).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

KINDS = ("never learned", "learned late", "flip-flopping", "forgotten")


@dataclass(frozen=True)
class Forgetting:
    correct: np.ndarray  # (epochs, n) bool
    learned_at: np.ndarray  # (n,) int: 1-based epoch learned for good, 0 if not learned
    forgettings: np.ndarray  # (n,) int

    @property
    def epochs(self) -> int:
        return self.correct.shape[0]

    def mask(self, kind: str) -> np.ndarray:
        """The samples of one kind (see KINDS), as a boolean mask."""
        c, e = self.correct, self.epochs
        if kind == "never learned":
            return ~c.any(axis=0)
        if kind == "learned late":
            return (self.learned_at > max(1, e // 2)) & c[-1]
        if kind == "flip-flopping":
            return self.forgettings >= 2
        if kind == "forgotten":
            return c.any(axis=0) & ~c[-1]
        raise ValueError(f"unknown kind {kind!r}: one of {', '.join(KINDS)}")

    def counts(self) -> dict[str, int]:
        out = {k: int(self.mask(k).sum()) for k in KINDS}
        out["forgetting events"] = int(self.forgettings.sum())
        out["samples"] = int(self.correct.shape[1])
        out["epochs"] = int(self.epochs)
        return out

    def timeline(self, i: int) -> str:
        """One ✓/✗ per epoch for sample i."""
        return "".join("✓" if ok else "✗" for ok in self.correct[:, i])


def analyse(predictions: np.ndarray, labels: np.ndarray) -> Forgetting:
    """The learning history of every sample from its predicted class at each epoch."""
    P = np.asarray(predictions)
    if P.ndim != 2 or P.shape[1] != len(labels):
        raise ValueError(f"predictions of shape {P.shape} do not match {len(labels)} labels")
    correct = P == np.asarray(labels)[None, :]
    e = correct.shape[0]
    if e == 0:
        n = len(labels)
        return Forgetting(correct, np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.int64))
    forgettings = (correct[:-1] & ~correct[1:]).sum(axis=0)
    # learned for good at: 1 + the last epoch index where it was wrong (0-based), when right at
    # the end; 0 when wrong at the end.
    wrong_any = ~correct
    last_wrong = np.where(wrong_any.any(axis=0),
                          e - 1 - np.argmax(wrong_any[::-1], axis=0), -1)
    learned_at = np.where(correct[-1], last_wrong + 2, 0)
    return Forgetting(correct, learned_at.astype(np.int64), forgettings.astype(np.int64))
