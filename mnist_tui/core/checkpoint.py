"""Checkpoints as plain .npz: weights, the config as JSON text, and the metric history.

No pickle: files are read with allow_pickle=False and every array is checked for its name,
shape and dtype before anything is returned, so a bad file never half-loads.
"""

from __future__ import annotations

import json
import os
import stat
import zipfile
from dataclasses import asdict
from pathlib import Path

import numpy as np

from .config import TrainConfig, from_dict
from .files import FileError, check_target, write_atomic, write_new
from .history import EPOCH_KEYS
from .model import PARAM_NAMES, Perceptron, param_shapes

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


def save(path: str | os.PathLike, model: Perceptron, config: TrainConfig, history: dict,
         exclusive: bool = False) -> Path:
    """Write the checkpoint to a temporary name beside `path`, then rename it into place.

    `exclusive` (for a name the program chose, not the user): never replace an existing file;
    take `name-2.npz`, `name-3.npz`… instead. Returns the path written."""
    path = save_path(path)
    arrays = {k: np.asarray(v) for k, v in model.params().items()}
    arrays["config"] = np.array(json.dumps(asdict(config)))
    arrays["format_version"] = np.array(FORMAT_VERSION)
    for key in HISTORY_KEYS:
        arrays["history_" + key] = np.asarray(history.get(key, []), dtype=np.float64)
    try:
        if exclusive:
            return path.with_name(write_new(path, lambda f: np.savez(f, **arrays)).name)
        write_atomic(path, lambda f: np.savez(f, **arrays))
    except FileError as e:
        raise CheckpointError(f"cannot write the checkpoint: {e}") from None
    return path


MAX_FILE_BYTES = 256 * 2**20  # the largest real checkpoint (n=4096, float64) is about 52 MB
MAX_HEADER_BYTES = 10_000  # numpy's own limit for a safe .npy header
MAX_HISTORY = 1_000_000  # epochs in a history: far beyond any real run
MAX_CONFIG_CHARS = 100_000
MEMBERS = frozenset({*PARAM_NAMES, "config", "format_version", *("history_" + k for k in HISTORY_KEYS)})


def open_regular(path: Path, limit: int):
    """Open `path` for reading only if it is a regular file no larger than `limit` bytes.

    Opened without blocking, so a FIFO or a device is refused at once instead of hanging."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except FileNotFoundError:
        raise CheckpointError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise CheckpointError(f"{path}: is a directory, not a checkpoint file") from None
    except OSError as e:
        raise CheckpointError(f"{path}: cannot read ({e.strerror or e})") from None
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        kind = "a directory" if stat.S_ISDIR(st.st_mode) else "not a regular file (a FIFO, " \
            "device or socket)"
        raise CheckpointError(f"{path}: is {kind}; refused")
    if st.st_size > limit:
        os.close(fd)
        raise CheckpointError(f"{path}: {st.st_size:,} bytes, larger than any checkpoint "
                              f"({limit:,}); refused")
    os.set_blocking(fd, True)
    return os.fdopen(fd, "rb")


def _member_shapes(n: int) -> dict[str, tuple[tuple[int, ...] | None, str]]:
    """Allowed members: name -> (shape, or None for 1-D of any length up to MAX_HISTORY; kinds)."""
    shapes: dict[str, tuple[tuple[int, ...] | None, str]] = {
        "config": ((), "U"), "format_version": ((), "iu")}
    for k, shape in param_shapes(n).items():
        shapes[k] = (shape, "f")
    for k in HISTORY_KEYS:
        shapes["history_" + k] = (None, "f")
    return shapes


def _read_member(z: zipfile.ZipFile, info: zipfile.ZipInfo, path: Path, name: str,
                 shape: tuple[int, ...] | None, kinds: str) -> np.ndarray:
    """Read one .npy member after checking its header: dtype kind, shape, and size."""
    with z.open(info) as f:
        try:
            version = np.lib.format.read_magic(f)
            if version == (1, 0):
                header_len = int.from_bytes(f.read(2), "little")
            else:
                header_len = int.from_bytes(f.read(4), "little")
            if header_len > MAX_HEADER_BYTES:
                raise CheckpointError(f"{path}: {name} has a {header_len:,}-byte array header, "
                                      f"over the {MAX_HEADER_BYTES:,} a checkpoint uses; refused")
            f.seek(0)
            np.lib.format.read_magic(f)
            read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                           else np.lib.format.read_array_header_2_0)
            got_shape, fortran, dtype = read_header(f, max_header_size=MAX_HEADER_BYTES)
        except CheckpointError:
            raise
        except ValueError as e:
            raise CheckpointError(f"{path}: {name} is not a valid array ({e})") from None
        if dtype.hasobject:
            raise CheckpointError(f"{path}: holds pickled objects, which are refused")
        if dtype.kind not in kinds:
            what = {"f": "a float array", "U": "text", "iu": "an integer"}[kinds]
            raise CheckpointError(f"{path}: {name} has dtype {dtype}, expected {what}")
        if shape is None:
            if len(got_shape) != 1 or got_shape[0] > MAX_HISTORY:
                raise CheckpointError(f"{path}: {name} has shape {got_shape}, expected a list "
                                      f"of at most {MAX_HISTORY:,} values")
        elif tuple(got_shape) != shape:
            raise CheckpointError(f"{path}: {name} has shape {tuple(got_shape)}, expected {shape}")
        count = int(np.prod(got_shape, dtype=np.int64))
        if dtype.kind == "U" and dtype.itemsize > 4 * MAX_CONFIG_CHARS:
            raise CheckpointError(f"{path}: {name} is over {MAX_CONFIG_CHARS:,} characters")
        data = f.read(count * dtype.itemsize + 1)  # bounded: at most what the header declares
        if len(data) != count * dtype.itemsize:
            raise CheckpointError(f"{path}: {name} holds {len(data)} bytes, its header "
                                  f"promises {count * dtype.itemsize}")
        array = np.frombuffer(data, dtype=dtype).reshape(got_shape, order="F" if fortran else "C")
        return array


def load(
    path: str | os.PathLike, expect_hidden: int | None = None
) -> tuple[Perceptron, TrainConfig, dict[str, list[float]]]:
    """Read and validate a checkpoint; raise CheckpointError with a one-line reason.

    Hostile files cost little: only a regular file of a sane size is opened (a FIFO is refused
    without blocking), member names, dtypes and shapes are checked from the zip directory and
    the .npy headers before any array is read, and nothing larger than the config implies is
    ever read. Every value is checked again after its conversion (float64 1e300 becomes inf
    as float32)."""
    path = Path(path)
    with open_regular(path, MAX_FILE_BYTES) as f:
        if f.read(4) != b"PK\x03\x04":
            raise CheckpointError(f"{path}: not an .npz checkpoint (no zip header)")
        f.seek(0)
        try:
            contents = _read_npz(f, path)
        except CheckpointError:
            raise
        except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, ValueError,
                NotImplementedError) as e:
            raise CheckpointError(f"{path}: not a valid .npz checkpoint ({e})") from None
    return _validate(path, contents, expect_hidden)


def _read_npz(f, path: Path) -> dict[str, np.ndarray]:
    with zipfile.ZipFile(f) as z:
        infos = {}
        for info in z.infolist():
            name = info.filename.removesuffix(".npy")
            if name not in MEMBERS:
                raise CheckpointError(f"{path}: unknown member {info.filename!r}; refused")
            if name in infos:
                raise CheckpointError(f"{path}: {info.filename!r} appears twice; refused")
            if info.file_size > MAX_FILE_BYTES:
                raise CheckpointError(f"{path}: {info.filename} inflates to "
                                      f"{info.file_size:,} bytes; refused")
            infos[name] = info
        missing = [k for k in (*PARAM_NAMES, "config") if k not in infos]
        if missing:
            raise CheckpointError(f"{path}: missing {', '.join(missing)}")
        contents = {"config": _read_member(z, infos["config"], path, "config", (), "U")}
        config = _parse_config(path, contents["config"])
        shapes = _member_shapes(config.hidden)
        for name, info in infos.items():
            if name != "config":
                contents[name] = _read_member(z, info, path, name, *shapes[name])
        contents["config"] = config
        return contents


def _parse_config(path: Path, raw: np.ndarray) -> TrainConfig:
    text = str(raw)
    try:
        return from_dict(json.loads(text))
    except (ValueError, TypeError, RecursionError) as e:
        reason = "nested too deeply" if isinstance(e, RecursionError) else e
        raise CheckpointError(f"{path}: bad config ({reason})") from None


def _validate(path: Path, contents: dict, expect_hidden: int | None):
    config: TrainConfig = contents["config"]
    n = config.hidden
    if expect_hidden is not None and n != expect_hidden:
        raise CheckpointError(f"{path}: has {n} hidden units, expected {expect_hidden}")
    model = Perceptron(n, seed=config.seed)
    with np.errstate(over="ignore", invalid="ignore"):
        for k in PARAM_NAMES:
            a = np.ascontiguousarray(contents[k], dtype=np.float32)  # what training will use
            if not np.isfinite(a).all():
                raise CheckpointError(f"{path}: {k} holds NaN or infinite values (or values "
                                      "too large for float32)")
            setattr(model, k, a)
        history = {}
        for key in HISTORY_KEYS:
            values = np.asarray(contents.get("history_" + key, np.zeros(0)), dtype=np.float64)
            if not np.isfinite(values).all():
                raise CheckpointError(f"{path}: history {key} holds NaN or infinite values")
            history[key] = [float(x) for x in values]
    if len({len(v) for v in history.values()}) > 1:
        raise CheckpointError(f"{path}: history arrays have different lengths")
    if not forward_is_finite(model):
        raise CheckpointError(f"{path}: its weights overflow float32 arithmetic (the forward "
                              "pass gives NaN or infinite values); refused")
    return model, config, history


F32_LIMIT = float(np.finfo(np.float32).max) / 4  # headroom for softmax's Z - max(Z)


def forward_is_finite(model: Perceptron) -> bool:
    """Whether the forward pass is finite for every input in [0, 1]^784, so for every image.

    Weights of 1e30 are each finite float32, yet X W1 then W2 overflow to inf, and softmax
    gives NaN. Bounded by interval arithmetic in float64: |Z1| <= |b1| + sum|W1|, and as
    0 <= A1 <= max(b1 + sum(max(W1, 0)), 0), |Z2| <= |b2| + A1max |W2|; every partial sum of
    the float32 matmuls stays within the same bounds. Then checked on probe images too."""
    p = {k: v.astype(np.float64) for k, v in model.params().items()}
    z1_abs = np.abs(p["b1"]) + np.abs(p["W1"]).sum(axis=0)  # (n,)
    a1_max = np.maximum(p["b1"] + np.maximum(p["W1"], 0).sum(axis=0), 0)
    z2_abs = np.abs(p["b2"]) + a1_max @ np.abs(p["W2"])  # (10,)
    if not (np.all(z1_abs < F32_LIMIT) and np.all(z2_abs < F32_LIMIT)):
        return False
    probes = np.random.default_rng(0).random((4, 784)).astype(np.float32)  # blank, full, noise
    probes[0], probes[1] = 0, 1
    with np.errstate(all="ignore"):
        return bool(np.isfinite(model.forward(probes)).all())
