"""Turn a hand-drawn 28x28 canvas into an MNIST-like image, as MNIST itself was prepared.

MNIST's digits were size-normalised to fit a 20x20 box (keeping their aspect ratio), then
centred in the 28x28 field by their centre of mass. A drawing gets the same treatment, so the
network sees what it was trained on.
"""

from __future__ import annotations

import numpy as np

BOX = 20


def preprocess(canvas: np.ndarray) -> np.ndarray:
    """(28, 28) ink in [0, 1] -> (784,) uint8 in MNIST's framing; all zeros if blank."""
    canvas = np.clip(np.asarray(canvas, dtype=np.float32), 0, 1)
    out = np.zeros((28, 28), np.float32)
    rows, cols = np.nonzero(canvas > 0)
    if not len(rows):
        return out.astype(np.uint8).ravel()
    crop = canvas[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]
    scale = BOX / max(crop.shape)
    resized = _resize(crop, (max(1, round(crop.shape[0] * scale)), max(1, round(crop.shape[1] * scale))))
    h, w = resized.shape
    top, left = (28 - h) // 2, (28 - w) // 2
    out[top : top + h, left : left + w] = resized
    # Shift so the centre of mass sits at the centre of the field (whole pixels, as MNIST did).
    mass = out.sum()
    cy = (out.sum(axis=1) * np.arange(28)).sum() / mass
    cx = (out.sum(axis=0) * np.arange(28)).sum() / mass
    out = _shift(out, round(14 - cy), round(14 - cx))
    return (np.clip(out, 0, 1) * 255).round().astype(np.uint8).ravel()


def _resize(img: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Bilinear resize of a small 2-D array to `shape` (area-averaged when shrinking)."""
    from scipy.ndimage import zoom

    z = zoom(img, (shape[0] / img.shape[0], shape[1] / img.shape[1]), order=1, grid_mode=True,
             mode="grid-constant")
    out = np.zeros(shape, np.float32)
    h, w = min(shape[0], z.shape[0]), min(shape[1], z.shape[1])
    out[:h, :w] = z[:h, :w]
    return np.clip(out, 0, 1)


def _shift(img: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """Shift by whole pixels, filling with zeros (no wrap-around)."""
    out = np.zeros_like(img)
    h, w = img.shape
    ys, yd = (slice(0, h - dy), slice(dy, h)) if dy >= 0 else (slice(-dy, h), slice(0, h + dy))
    xs, xd = (slice(0, w - dx), slice(dx, w)) if dx >= 0 else (slice(-dx, w), slice(0, w + dx))
    out[yd, xd] = img[ys, xs]
    return out
