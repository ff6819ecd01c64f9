"""Checkpoints as plain .npz: weights, the config as JSON text, and the metric history.

No pickle: files are read with allow_pickle=False and every array is checked for its name,
shape and dtype before anything is returned, so a bad file never half-loads.
"""

from __future__ import annotations

import json
import os
import zipfile
from dataclasses import asdict
from pathlib import Path

import numpy as np

from .config import TrainConfig, from_dict
from .files import FileError, check_target, write_atomic
from .history import EPOCH_KEYS
from .model import N_IN, N_OUT, PARAM_NAMES, Perceptron

FORMAT_VERSION = 1
HISTORY_KEYS = EPOCH_KEYS


class CheckpointError(Exception):
    """A checkpoint cannot be written or is not a valid mnist-tui checkpoint."""


def save_path(path: str | os.PathLike) -> Path:
    """Where `save(path, …)` writes (".npz" added if missing), checked before any training:
    raises CheckpointError if that place cannot take the file."""
    text = os.fspath(path)
    try:
        if os.path.lexists(text):
            check_target(text)  # `--save somedir` or a device: refuse, never write beside it
        if text and not text.endswith(os.sep) and not text.endswith(".npz"):
            text += ".npz"
        check_target(text)
    except FileError as e:
        raise CheckpointError(str(e)) from None
    return Path(text)


def save(path: str | os.PathLike, model: Perceptron, config: TrainConfig, history: dict) -> Path:
    """Write the checkpoint to a temporary name beside `path`, then rename it into place."""
    path = save_path(path)
    arrays = {k: np.asarray(v) for k, v in model.params().items()}
    arrays["config"] = np.array(json.dumps(asdict(config)))
    arrays["format_version"] = np.array(FORMAT_VERSION)
    for key in HISTORY_KEYS:
        arrays["history_" + key] = np.asarray(history.get(key, []), dtype=np.float64)
    try:
        write_atomic(path, lambda f: np.savez(f, **arrays))
    except FileError as e:
        raise CheckpointError(f"cannot write the checkpoint: {e}") from None
    return path


def load(
    path: str | os.PathLike, expect_hidden: int | None = None
) -> tuple[Perceptron, TrainConfig, dict[str, list[float]]]:
    """Read and validate a checkpoint; raise CheckpointError with a one-line reason."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            magic = f.read(4)
        if magic != b"PK\x03\x04":
            raise CheckpointError(f"{path}: not an .npz checkpoint (no zip header)")
        with np.load(path, allow_pickle=False) as z:
            contents = {k: z[k] for k in z.files}
    except CheckpointError:
        raise
    except FileNotFoundError:
        raise CheckpointError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise CheckpointError(f"{path}: is a directory, not a checkpoint file") from None
    except ValueError as e:
        if "pickle" in str(e).lower():
            raise CheckpointError(f"{path}: holds pickled objects, which are refused") from None
        raise CheckpointError(f"{path}: not a valid .npz checkpoint ({e})") from None
    except (zipfile.BadZipFile, EOFError, OSError) as e:
        raise CheckpointError(f"{path}: not a valid .npz checkpoint ({e})") from None

    missing = [k for k in (*PARAM_NAMES, "config") if k not in contents]
    if missing:
        raise CheckpointError(f"{path}: missing {', '.join(missing)}")
    try:
        config = from_dict(json.loads(str(contents["config"])))
    except (ValueError, TypeError, RecursionError) as e:
        raise CheckpointError(f"{path}: bad config ({e})") from None

    n = config.hidden
    want = {"W1": (N_IN, n), "b1": (n,), "W2": (n, N_OUT), "b2": (N_OUT,)}
    for k, shape in want.items():
        a = contents[k]
        if a.shape != shape:
            raise CheckpointError(f"{path}: {k} has shape {a.shape}, expected {shape}")
        if a.dtype.kind != "f":
            raise CheckpointError(f"{path}: {k} has dtype {a.dtype}, expected a float array")
        if not np.isfinite(a).all():
            raise CheckpointError(f"{path}: {k} holds NaN or infinite values")
    if expect_hidden is not None and n != expect_hidden:
        raise CheckpointError(f"{path}: has {n} hidden units, expected {expect_hidden}")

    model = Perceptron(n, seed=config.seed)
    for k in PARAM_NAMES:
        setattr(model, k, np.ascontiguousarray(contents[k], dtype=np.float32))
    history = {
        key: [float(x) for x in contents.get("history_" + key, np.zeros(0)).ravel()]
        for key in HISTORY_KEYS
    }
    lengths = {len(v) for v in history.values()}
    if len(lengths) > 1:
        raise CheckpointError(f"{path}: history arrays have different lengths")
    return model, config, history
