"""Training-time distortions of a batch, after Simard, Steinkraus and Platt (2003).

`affine`: a random rotation, scale and shift per image. `elastic`: the same affine map plus a
random displacement field smoothed by a Gaussian (Simard's sigma=4, alpha=34, scaled down a
little for float images in [0, 1] at 28x28). The maps are drawn for the whole batch at once;
each image is then resampled by its own 2-D `map_coordinates` call (bilinear). One 3-D call over
the batch gave the same numbers (the image coordinate is a whole number, so its weights are 1
and 0: a test holds the two equal) but interpolated over 8 neighbours instead of 4, and took
1.6x as long. scipy is imported only when used.
"""

from __future__ import annotations

import numpy as np

from .config import AUGMENTS  # noqa: F401  (the choice list lives with the config)

MAX_ROTATE_DEG = 12.0
SCALE_RANGE = (0.9, 1.1)
MAX_SHIFT_PX = 2.0
ELASTIC_SIGMA = 4.0
ELASTIC_ALPHA = 30.0

_GRID = np.mgrid[0:28, 0:28].astype(np.float32) - 13.5  # (2, 28, 28) row, col about the centre


def affine_coords(batch: int, rng: np.random.Generator) -> np.ndarray:
    """Source (row, col) for every output pixel of every image: (2, batch, 28, 28) float32."""
    theta = np.deg2rad(rng.uniform(-MAX_ROTATE_DEG, MAX_ROTATE_DEG, batch)).astype(np.float32)
    scale = rng.uniform(*SCALE_RANGE, batch).astype(np.float32)
    shift = rng.uniform(-MAX_SHIFT_PX, MAX_SHIFT_PX, (2, batch)).astype(np.float32)
    cos, sin = np.cos(theta) / scale, np.sin(theta) / scale  # the inverse map: output -> source
    r, c = _GRID[0][None], _GRID[1][None]
    src_r = cos[:, None, None] * r - sin[:, None, None] * c + 13.5 - shift[0][:, None, None]
    src_c = sin[:, None, None] * r + cos[:, None, None] * c + 13.5 - shift[1][:, None, None]
    return np.stack([src_r, src_c])


def elastic_displacement(batch: int, rng: np.random.Generator) -> np.ndarray:
    """Smooth random displacement fields (2, batch, 28, 28), in pixels."""
    from scipy.ndimage import gaussian_filter

    field = rng.uniform(-1, 1, (2, batch, 28, 28)).astype(np.float32)
    return ELASTIC_ALPHA * gaussian_filter(field, sigma=(0, 0, ELASTIC_SIGMA, ELASTIC_SIGMA),
                                           mode="constant")


def distort(X: np.ndarray, kind: str, rng: np.random.Generator) -> np.ndarray:
    """Distorted copies of a batch X (m, 784) float, as (m, 784) of the same dtype."""
    if kind == "none":
        return X
    from scipy.ndimage import map_coordinates

    m = X.shape[0]
    coords = affine_coords(m, rng)
    if kind == "elastic":
        coords += elastic_displacement(m, rng)
    images = X.reshape(m, 28, 28)
    out = np.empty((m, 28, 28), dtype=np.result_type(X.dtype, np.float32))
    for i in range(m):  # (2, 28, 28): the source row and column of every pixel of image i
        map_coordinates(images[i], coords[:, i], output=out[i], order=1, mode="constant", cval=0.0)
    return out.reshape(m, 784).astype(X.dtype, copy=False)
