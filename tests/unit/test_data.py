"""The IDX parser and the loader's search order (downloads: tests/integration/test_download.py)."""

from __future__ import annotations

import gzip
import os
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from helpers import idx_images, idx_labels, write_dataset

from mnist_tui.core import data
from mnist_tui.core.data import DataError

REAL = data.PACKAGE_DATA_DIR


# --- parsing ------------------------------------------------------------------------------


def test_parse_good_images_and_labels():
    imgs = np.arange(2 * 784, dtype=np.uint32).reshape(2, 784) % 256
    out = data.parse_idx(idx_images(imgs), "x")
    assert out.shape == (2, 784) and out.dtype == np.uint8
    np.testing.assert_array_equal(out, imgs)
    np.testing.assert_array_equal(data.parse_idx(idx_labels(np.array([3, 9, 0])), "y"), [3, 9, 0])


@pytest.mark.parametrize(
    "blob, words",
    [
        (b"", "too short"),
        (b"\x00\x00\x08\x02" + bytes(12), "bad magic number 0x00000802"),
        (idx_images(np.zeros((1, 27 * 28)), rows=27), "27x28, expected 28x28"),
        (idx_images(np.zeros((2, 784)))[:-5], "header promises 2 items"),
        (idx_images(np.zeros((2, 784))) + b"\x00", "header promises 2 items"),
        (idx_labels(np.array([1, 10, 2])), "label 10 at index 1"),
    ],
)
def test_parse_rejects_each_defect_naming_the_file(blob, words):
    with pytest.raises(DataError) as e:
        data.parse_idx(blob, "somefile.gz")
    assert "somefile.gz" in str(e.value) and words in str(e.value)


def _corrupt(directory: Path, name: str, content: bytes) -> Path:
    path = directory / name
    path.write_bytes(content)
    return path


@pytest.mark.parametrize(
    "content, words",
    [
        (b"", "file is empty"),
        (b"this is not gzip", "not a gzip file"),
        (gzip.compress(idx_labels(np.zeros(600)))[:-30], "truncated gzip"),
    ],
)
def test_file_level_defects(tiny_dir, content, words):
    path = _corrupt(tiny_dir, "train-labels-idx1-ubyte.gz", content)
    with pytest.raises(DataError) as e:
        data.load_dir(tiny_dir)
    assert str(path) in str(e.value) and words in str(e.value)


def test_a_gzip_of_several_members_reads_whole_and_stays_bounded(tmp_path):
    """gzip's own format allows members one after another (and zero padding after them): the
    content is all of them, and the header's promise bounds the sum, not each member."""
    blob = idx_labels(np.arange(1000) % 10)
    path = tmp_path / "train-labels-idx1-ubyte.gz"
    path.write_bytes(gzip.compress(blob[:500]) + gzip.compress(blob[500:]) + bytes(7))
    assert data.read_gz(path) == blob
    path.write_bytes(gzip.compress(blob[:500]) + gzip.compress(blob[500:] + b"x"))
    with pytest.raises(DataError, match="inflates beyond the 1,008 bytes"):
        data.read_gz(path)
    path.write_bytes((gzip.compress(blob[:500]) + gzip.compress(blob[500:]))[:-20])
    with pytest.raises(DataError, match="truncated gzip"):
        data.read_gz(path)


def test_missing_file_is_named(tiny_dir):
    (tiny_dir / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DataError, match="t10k-labels-idx1-ubyte.gz: file not found"):
        data.load_dir(tiny_dir)


def test_count_mismatch_names_the_label_file(tiny_dir):
    _corrupt(tiny_dir, "train-labels-idx1-ubyte.gz", gzip.compress(idx_labels(np.zeros(599))))
    with pytest.raises(DataError, match="train-labels-idx1-ubyte.gz: 599 labels, but .* 600 images"):
        data.load_dir(tiny_dir)


@pytest.mark.real_data
def test_real_files_load_fast_as_uint8_with_the_known_facts():
    t0 = time.perf_counter()
    ds = data.load_dir(REAL)
    seconds = time.perf_counter() - t0
    assert ds.train_images.shape == (60000, 784) and ds.train_images.dtype == np.uint8
    assert ds.test_images.shape == (10000, 784)
    assert list(np.bincount(ds.train_labels)) == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    assert list(np.bincount(ds.test_labels)) == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert list(ds.train_labels[:10]) == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert list(ds.test_labels[:10]) == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    print(f"loaded the four files in {seconds:.3f}s")


# --- search order -------------------------------------------------------------------------


def test_search_order(tmp_path, tiny):
    flag_dir, env_dir = write_dataset(tmp_path / "a", tiny), write_dataset(tmp_path / "b", tiny)
    env = {"MNIST_TUI_DATA": str(env_dir), "XDG_CACHE_HOME": str(tmp_path / "c")}
    assert data.find_data_dir(flag_dir, env) == flag_dir
    assert data.find_data_dir(None, env) == env_dir
    assert data.find_data_dir(None, {"XDG_CACHE_HOME": str(tmp_path / "c")}) == REAL
    whys = [why for why, _ in data.candidate_dirs(flag_dir, env)]
    assert whys == ["--data-dir", "MNIST_TUI_DATA", "package data", "cache"]


def test_cache_is_used_when_package_data_is_absent(tmp_path, tiny, monkeypatch):
    monkeypatch.setattr(data, "PACKAGE_DATA_DIR", tmp_path / "nowhere")
    env = {"XDG_CACHE_HOME": str(tmp_path / "c")}
    cached = write_dataset(tmp_path / "c" / "mnist-tui", tiny)
    assert data.find_data_dir(None, env) == cached


def test_explicit_dir_without_files_is_an_error_not_a_fallthrough(tmp_path):
    with pytest.raises(DataError, match="from --data-dir"):
        data.find_data_dir(tmp_path, {})
    with pytest.raises(DataError, match="from MNIST_TUI_DATA"):
        data.find_data_dir(None, {"MNIST_TUI_DATA": str(tmp_path)})


def test_offline_error_says_where_to_put_the_files(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "PACKAGE_DATA_DIR", tmp_path / "nowhere")
    env = {"XDG_CACHE_HOME": str(tmp_path / "c"), "MNIST_TUI_OFFLINE": "1"}
    with pytest.raises(DataError) as e:
        data.find_data_dir(None, env)
    msg = str(e.value)
    assert "MNIST_TUI_OFFLINE" in msg and str(tmp_path / "c" / "mnist-tui") in msg and "--data-dir" in msg


def test_unwritable_cache_is_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(DataError, match="cannot write the download cache"):
        data.download(blocker / "cache", mirrors=["http://127.0.0.1:9/"])


def test_a_read_only_data_directory_loads_without_writing(tiny_dir, monkeypatch):
    """Loading only reads: every way of writing is made to fail, and the load still works."""
    def refuse(*args, **kwargs):
        raise PermissionError("read-only")

    monkeypatch.setattr("tempfile.mkstemp", refuse)
    monkeypatch.setattr(os, "replace", refuse)
    real_open = open

    def read_only_open(path, mode="r", *args, **kwargs):
        if any(c in mode for c in "wax+") and str(tiny_dir) in str(path):
            raise PermissionError(f"read-only: {path}")
        return real_open(path, mode, *args, **kwargs)

    monkeypatch.setattr("builtins.open", read_only_open)
    ds = data.load(tiny_dir)
    assert ds.n_train == 600


# --- hostile data files: refused in under 1 s with under 100 MB of extra memory ----------------

DATA_PROBE = """
import json, resource, sys, time
from pathlib import Path
from mnist_tui.core import data
import tracemalloc
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
tracemalloc.start()  # ru_maxrss is a high-water mark that imports may already have passed
t0 = time.perf_counter()
try:
    data.read_gz(Path(sys.argv[1]))
    error = None
except data.DataError as e:
    error = str(e)
print(json.dumps({"error": error, "seconds": time.perf_counter() - t0,
                  "grown_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before,
                  "traced_peak_kb": tracemalloc.get_traced_memory()[1] / 1024}))
"""


def test_a_fifo_in_place_of_a_data_file_is_refused_at_once(tmp_path):
    fifo = tmp_path / "train-images-idx3-ubyte.gz"
    os.mkfifo(fifo)
    result = []

    def read():
        try:
            data.read_gz(fifo)
        except DataError as e:
            result.append(str(e))

    t = threading.Thread(target=read, daemon=True)
    t.start()
    t.join(2.0)
    if t.is_alive():
        os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        pytest.fail("read_gz blocked on a FIFO")
    assert "not a regular file" in result[0]
