"""Find, download, verify and parse the four IDX files of MNIST or Fashion-MNIST.

Both datasets have the same four file names, format and sizes; each has its own pinned SHA-256
sums, mirrors, class names and cache directory (MNIST in ~/.cache/mnist-tui, as before, and
Fashion-MNIST in ~/.cache/mnist-tui/fashion). MNIST ships inside the package (found through
importlib.resources, so an installed wheel trains offline); Fashion-MNIST is downloaded on
first use. A directory may hold the files gzipped or unpacked (gunzip's or 7-Zip's names); the
unpacked ones and the shipped copy are verified against the pinned SHA-256 when read.

Images stay uint8 in memory, (N, 784), 47 MB for the training set; the trainer converts one
batch at a time to float32. Every defect in a file raises `DataError` naming the file.
"""

from __future__ import annotations

import hashlib
import http.client
import importlib.resources
import os
import tempfile
import urllib.error
import urllib.request
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import IO

import numpy as np

from .files import FileError, write_atomic
from .idx import (  # noqa: F401  (re-exported: the IDX format's names, as before)
    COLS,
    IMAGE_MAGIC,
    LABEL_MAGIC,
    MAX_GZ_BYTES,
    MAX_ITEMS,
    MAX_RAW_BYTES,
    PIXELS,
    ROWS,
    DataError,
    parse_idx,
    read_gz,
    read_raw,
    verify,
)

# File name -> SHA-256 of the *uncompressed* bytes (the gzip wrappers differ between mirrors).
FILES: dict[str, str] = {
    "train-images-idx3-ubyte.gz": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte.gz": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte.gz": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte.gz": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}
# File name -> its uncompressed size: a download stops as soon as it inflates beyond it.
SIZES: dict[str, int] = {
    "train-images-idx3-ubyte.gz": 16 + 60000 * 784,
    "train-labels-idx1-ubyte.gz": 8 + 60000,
    "t10k-images-idx3-ubyte.gz": 16 + 10000 * 784,
    "t10k-labels-idx1-ubyte.gz": 8 + 10000,
}
MIRRORS: tuple[str, ...] = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)
FASHION_FILES: dict[str, str] = {  # from ../shared/data/fashion-mnist/README.md
    "train-images-idx3-ubyte.gz": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
    "train-labels-idx1-ubyte.gz": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
    "t10k-images-idx3-ubyte.gz": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
    "t10k-labels-idx1-ubyte.gz": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
}
FASHION_MIRRORS: tuple[str, ...] = (
    "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
    "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
)


@dataclass(frozen=True)
class DatasetInfo:
    """What differs between the two datasets."""

    name: str
    title: str
    files: dict[str, str]  # file name -> SHA-256 of its uncompressed bytes
    mirrors: tuple[str, ...]
    classes: tuple[str, ...]  # short names, for 80 columns
    long_classes: tuple[str, ...]
    cache_subdir: str


DIGITS = tuple(str(k) for k in range(10))
INFO: dict[str, DatasetInfo] = {
    "mnist": DatasetInfo("mnist", "MNIST", FILES, MIRRORS, DIGITS, DIGITS, ""),
    "fashion": DatasetInfo(
        "fashion", "Fashion-MNIST", FASHION_FILES, FASHION_MIRRORS,
        ("T-shirt", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
         "Boot"),
        ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker",
         "Bag", "Ankle boot"),
        "fashion"),
}


def class_names(dataset: str = "mnist", long: bool = False) -> tuple[str, ...]:
    """The ten class names of a dataset ("0".."9" for MNIST)."""
    info = INFO.get(dataset, INFO["mnist"])
    return info.long_classes if long else info.classes


def package_data_dir() -> Path:
    """The MNIST copy shipped inside the package, `mnist_tui/data/mnist`: a wheel holds the
    files (pyproject's force-include); a source checkout or an editable install reaches the
    repository's data/mnist through the link mnist_tui/data -> ../data."""
    found = importlib.resources.files("mnist_tui").joinpath("data", "mnist")
    return found if isinstance(found, Path) else Path(os.devnull)  # zipped: use the cache


PACKAGE_DATA_DIR = package_data_dir()  # kept for the tests and scripts that name it


@dataclass(frozen=True)
class Dataset:
    """MNIST in memory: images (N, 784) uint8, labels (N,) uint8."""

    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray
    source: str = ""  # where the files came from, for display
    name: str = "mnist"  # which dataset: a key of INFO

    @property
    def classes(self) -> tuple[str, ...]:
        return class_names(self.name)

    @property
    def n_train(self) -> int:
        return len(self.train_labels)

    @property
    def n_test(self) -> int:
        return len(self.test_labels)


def file_names(name: str) -> tuple[str, ...]:
    """The names one of the four files may have in a directory: as shipped
    (`train-images-idx3-ubyte.gz`), gunzipped (`train-images-idx3-ubyte`), or as 7-Zip
    unpacks it (`train-images.idx3-ubyte`)."""
    bare = name.removesuffix(".gz")
    return name, bare, bare.replace("-idx", ".idx")


def locate(directory: Path, name: str) -> Path | None:
    """The file `name` (a key of FILES) in `directory`, under any of its names, or None."""
    return next((directory / n for n in file_names(name) if (directory / n).is_file()), None)


def load_dir(directory: Path, dataset: str = "mnist", verified: bool = False) -> Dataset:
    """Parse the four files in `directory` into a Dataset (named `dataset`).

    A file may be gzipped or unpacked (see file_names). An unpacked file must be the
    dataset's own, with its pinned SHA-256; so must every file when `verified` (the copy
    shipped with the package). Other gzipped files are taken as given: a dataset of one's own."""
    arrays = []
    info = INFO[dataset]
    for name in FILES:
        path = locate(directory, name) or directory / name  # a missing one: read_gz names it
        if path.name.endswith(".gz"):
            raw = read_gz(path)
            if verified:
                try:
                    verify(path, raw, info.files[name])
                except DataError as e:
                    raise DataError(f"{e}: the copy installed with mnist-tui is damaged; "
                                    "reinstall it") from None
        else:
            raw = read_raw(path)
            try:
                verify(path, raw, info.files[name])
            except DataError as e:
                raise DataError(f"{e}: not {info.title}'s {name.removesuffix('.gz')}; other data "
                                "is read from the four files gzipped") from None
        arrays.append(parse_idx(raw, str(path)))
    train_x, train_y, test_x, test_y = arrays
    for split, x, y, xn, yn in (
        ("train", train_x, train_y, 0, 1),
        ("test", test_x, test_y, 2, 3),
    ):
        names = list(FILES)
        if x.ndim != 2 or y.ndim != 1:
            raise DataError(f"{directory / names[xn]}: images and labels are swapped")
        if len(x) != len(y):
            raise DataError(
                f"{directory / names[yn]}: {len(y)} labels, but {names[xn]} has {len(x)} images"
            )
        if len(x) == 0:
            raise DataError(f"{directory / names[xn]}: the {split} set is empty")
    return Dataset(train_x, train_y, test_x, test_y, source=str(directory), name=dataset)


# --- finding the files ---------------------------------------------------------------------


def cache_dir(env: dict[str, str] | None = None, dataset: str = "mnist") -> Path:
    """Where downloads go: $XDG_CACHE_HOME/mnist-tui (MNIST), …/mnist-tui/fashion."""
    env = os.environ if env is None else env
    base = Path(env.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")) / "mnist-tui"
    sub = INFO[dataset].cache_subdir
    return base / sub if sub else base


def has_files(directory: Path) -> bool:
    """Whether `directory` holds the four files, gzipped or unpacked."""
    return all(locate(directory, name) for name in FILES)


def candidate_dirs(
    data_dir: str | os.PathLike | None = None, env: dict[str, str] | None = None,
    dataset: str = "mnist",
) -> list[tuple[str, Path]]:
    """The search order, as (why, directory): --data-dir, then for MNIST $MNIST_TUI_DATA and
    the project's copy, then the cache."""
    env = os.environ if env is None else env
    out: list[tuple[str, Path]] = []
    if data_dir:
        out.append(("--data-dir", Path(data_dir).expanduser()))
    if dataset == "mnist":
        if env.get("MNIST_TUI_DATA"):
            out.append(("MNIST_TUI_DATA", Path(env["MNIST_TUI_DATA"]).expanduser()))
        out.append(("package data", PACKAGE_DATA_DIR))
    out.append(("cache", cache_dir(env, dataset)))
    return out


def find_data_dir(
    data_dir: str | os.PathLike | None = None,
    env: dict[str, str] | None = None,
    progress: ProgressFn | None = None,
    mirrors: Iterable[str] | None = None,
    dataset: str = "mnist",
) -> Path:
    """Return the first directory holding all four files, downloading into the cache if none does.

    A directory named explicitly (--data-dir or $MNIST_TUI_DATA) must hold the files: a missing
    one there is an error rather than a silent fall-through to another copy.
    """
    env = os.environ if env is None else env
    info = INFO[dataset]
    for why, directory in candidate_dirs(data_dir, env, dataset):
        if has_files(directory):
            return directory
        if why in ("--data-dir", "MNIST_TUI_DATA"):
            missing = next(n for n in FILES if not locate(directory, n))
            others = " or ".join(file_names(missing)[1:])
            raise DataError(f"{directory / missing}: file not found, nor unpacked as {others} "
                            f"(from {why})")
    target = cache_dir(env, dataset)
    if env.get("MNIST_TUI_OFFLINE", "") not in ("", "0"):
        how = (f"run 'mnist-tui download --dataset {dataset}' where there is a network"
               if dataset != "mnist" else "pass --data-dir DIR")
        raise DataError(
            f"{info.title} files not found and MNIST_TUI_OFFLINE is set: {how}, or put the four "
            f".gz files ({', '.join(FILES)}) in {target}"
        )
    download(target, progress=progress, mirrors=mirrors, dataset=dataset)
    return target


def load(
    data_dir: str | os.PathLike | None = None,
    env: dict[str, str] | None = None,
    progress: ProgressFn | None = None,
    dataset: str = "mnist",
) -> Dataset:
    """Find (or download) the files of `dataset` and parse them."""
    return parser_of(data_dir, env, progress, dataset)()


def parser_of(
    data_dir: str | os.PathLike | None = None,
    env: dict[str, str] | None = None,
    progress: ProgressFn | None = None,
    dataset: str = "mnist",
) -> Callable[[], Dataset]:
    """Find (or download) the files of `dataset` now; return what parses them: the slow part,
    mostly zlib and SHA-256, which let go of the GIL (the dashboard runs it in a thread)."""
    if dataset not in INFO:
        raise DataError(f"unknown dataset {dataset!r}: choose one of {', '.join(INFO)}")
    directory = find_data_dir(data_dir, env, progress, dataset=dataset)
    return partial(load_dir, directory, dataset, verified=directory == PACKAGE_DATA_DIR)


# --- downloading ---------------------------------------------------------------------------

# progress(file name, bytes so far, total bytes or 0 if unknown)
ProgressFn = Callable[[str, int, int], None]


def _fetch(url: str, out: IO[bytes], name: str, sha: str, size: int,
           progress: ProgressFn | None, timeout: float) -> None:
    """Stream `url` (gzip) into `out`, inflating and hashing as it comes; raise DataError at
    the first sign it is not the expected file: too long, not gzip, or a wrong SHA-256."""
    inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
    digest, inflated = hashlib.sha256(), 0
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            total = int(resp.headers.get("Content-Length") or 0)
            if total > size + 4096:  # gzip never makes these files larger than this
                raise DataError(f"{url}: {total} bytes, more than the {size} the file has "
                                "uncompressed; refused")
            done = 0
            while chunk := resp.read(1 << 16):
                out.write(chunk)
                done += len(chunk)
                if progress:
                    progress(name, done, total)
                while chunk:  # bounded: never more than the file's size in memory or on disk
                    raw = inflate.decompress(chunk, 1 << 20)
                    inflated += len(raw)
                    if inflated > size:
                        raise DataError(f"{url}: inflates beyond the {size} bytes the file "
                                        "has; refused")
                    digest.update(raw)
                    chunk = inflate.unconsumed_tail
            if total and done != total:
                raise DataError(f"{url}: connection closed after {done} of {total} bytes")
    except zlib.error as e:
        raise DataError(f"{url}: not a valid gzip file ({e})") from None
    except (urllib.error.URLError, http.client.HTTPException, TimeoutError, ConnectionError,
            ValueError) as e:
        raise DataError(f"{url}: {getattr(e, 'reason', None) or e}") from None
    if not inflate.eof:
        raise DataError(f"{url}: truncated gzip (the download ends early)")
    if digest.hexdigest() != sha:
        got = digest.hexdigest()
        raise DataError(f"{url}: SHA-256 mismatch (got {got[:12]}…, want {sha[:12]}…)")


def download(
    target: Path,
    progress: ProgressFn | None = None,
    mirrors: Iterable[str] | None = None,
    timeout: float = 20.0,
    dataset: str = "mnist",
) -> Path:
    """Download the four files of `dataset` into `target`, verifying each, trying mirrors in
    turn ($MNIST_TUI_MIRRORS, comma-separated, replaces the dataset's own list).

    Each file is inflated and hashed while it downloads, and refused as soon as it inflates
    beyond its known size; it is written with `write_atomic` (a temporary name, renamed only
    once its uncompressed SHA-256 matches), so a failure never leaves a partial file behind.
    """
    if mirrors is None:
        env_mirrors = os.environ.get("MNIST_TUI_MIRRORS", "")
        mirrors = [m for m in env_mirrors.split(",") if m] or INFO[dataset].mirrors
    mirrors = list(mirrors)
    try:
        target.mkdir(parents=True, exist_ok=True)
        probe = tempfile.NamedTemporaryFile(dir=target, prefix=".probe-")
        probe.close()
    except OSError as e:
        raise DataError(f"{target}: cannot write the download cache ({e.strerror or e})") from None
    for name, sha in INFO[dataset].files.items():
        final = target / name
        if final.is_file():
            continue
        errors = []
        for base in mirrors:
            url = base.rstrip("/") + "/" + name
            try:
                write_atomic(final, lambda f, url=url, name=name, sha=sha: _fetch(
                    url, f, name, sha, SIZES[name], progress, timeout))
                break
            except DataError as e:
                errors.append(str(e))  # already names the URL or the file
            except FileError as e:
                raise DataError(str(e)) from None
        else:
            raise DataError(f"{name}: download failed from every mirror; " + "; ".join(errors))
    return target
