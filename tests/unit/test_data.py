"""The IDX parser, the loader's search order, and the download path against a local server."""

from __future__ import annotations

import gzip
import http.server
import os
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from helpers import idx_images, idx_labels, write_dataset

from mnist_tui.core import data
from mnist_tui.core.data import FILES, IMAGE_MAGIC, DataError

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


def test_missing_file_is_named(tiny_dir):
    (tiny_dir / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DataError, match="t10k-labels-idx1-ubyte.gz: file not found"):
        data.load_dir(tiny_dir)


def test_count_mismatch_names_the_label_file(tiny_dir):
    _corrupt(tiny_dir, "train-labels-idx1-ubyte.gz", gzip.compress(idx_labels(np.zeros(599))))
    with pytest.raises(DataError, match="train-labels-idx1-ubyte.gz: 599 labels, but .* 600 images"):
        data.load_dir(tiny_dir)


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


# --- download against a local server ------------------------------------------------------


class _Handler(http.server.BaseHTTPRequestHandler):
    routes: dict[str, bytes | str] = {}

    def do_GET(self):  # noqa: N802 (http.server's name)
        body = self.routes.get(self.path)
        if body is None:
            self.send_error(404)
            return
        if body == "drop":
            self.send_response(200)
            self.send_header("Content-Length", "100000")
            self.end_headers()
            self.wfile.write(b"\x1f\x8b" + bytes(1000))
            self.wfile.flush()
            self.connection.shutdown(2)
            return
        if body == "slow":
            time.sleep(1.5)
            body = b""
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    srv.handle_error = lambda *a: None  # a client that timed out and left is expected here
    srv.daemon_threads = True
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    _Handler.routes = {}
    yield _Handler.routes, f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()
    srv.server_close()


def _good(name: str) -> bytes:
    return (REAL / name).read_bytes()


def _tampered(name: str) -> bytes:
    raw = bytearray(gzip.decompress(_good(name)))
    raw[-1] ^= 0xFF
    return gzip.compress(bytes(raw), compresslevel=1)


def _no_partials(directory: Path) -> bool:
    return not [p for p in directory.iterdir() if p.name.startswith(".")]


def test_download_verifies_and_falls_back_to_the_next_mirror(server, tmp_path):
    routes, url = server
    for name in FILES:
        routes[f"/bad/{name}"] = _tampered(name)
        routes[f"/good/{name}"] = _good(name)
    seen = []
    target = data.download(tmp_path / "cache", progress=lambda n, d, t: seen.append((n, d, t)),
                           mirrors=[url + "/bad/", url + "/good/"])
    assert data.has_files(target) and _no_partials(target)
    assert {n for n, _, _ in seen} == set(FILES) and seen[-1][1] == seen[-1][2]
    assert data.load_dir(target).n_train == 60000


def test_download_refuses_tampered_files_and_leaves_nothing(server, tmp_path):
    routes, url = server
    name = "t10k-labels-idx1-ubyte.gz"
    for other in FILES:
        routes[f"/bad/{other}"] = _good(other)
    routes[f"/bad/{name}"] = _tampered(name)
    with pytest.raises(DataError, match="SHA-256 mismatch") as e:
        data.download(tmp_path / "cache", mirrors=[url + "/bad/"])
    assert name in str(e.value)
    assert not (tmp_path / "cache" / name).exists() and _no_partials(tmp_path / "cache")


def test_dropped_connection_leaves_no_partial_file(server, tmp_path):
    routes, url = server
    routes["/drop/train-images-idx3-ubyte.gz"] = "drop"
    with pytest.raises(DataError, match="every mirror"):
        data.download(tmp_path / "cache", mirrors=[url + "/drop/"])
    assert not list((tmp_path / "cache").iterdir())


def test_slow_mirror_times_out_then_the_next_is_used(server, tmp_path):
    routes, url = server
    for name in FILES:
        routes[f"/slow/{name}"] = "slow"
        routes[f"/good/{name}"] = _good(name)
    t0 = time.perf_counter()
    data.download(tmp_path / "cache", mirrors=[url + "/slow/", url + "/good/"], timeout=0.3)
    assert data.has_files(tmp_path / "cache")
    assert time.perf_counter() - t0 < 30


def test_unwritable_cache_is_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(DataError, match="cannot write the download cache"):
        data.download(blocker / "cache", mirrors=["http://127.0.0.1:9/"])


def test_download_command_fetches_and_verifies_into_a_directory(server, tmp_path, monkeypatch, capsys):
    from mnist_tui.cli import main

    routes, url = server
    for name in FILES:
        routes[f"/m/{name}"] = _good(name)
    monkeypatch.delenv("MNIST_TUI_OFFLINE")
    monkeypatch.setenv("MNIST_TUI_MIRRORS", url + "/m/")
    target = tmp_path / "dl"
    assert main(["download", "--dir", str(target)]) == 0
    assert "downloaded and verified" in capsys.readouterr().out and data.has_files(target)
    assert main(["download", "--dir", str(target)]) == 0
    assert "already" in capsys.readouterr().out
    monkeypatch.setenv("MNIST_TUI_OFFLINE", "1")
    assert main(["download", "--dir", str(tmp_path / "other")]) == 1


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


def test_a_bomb_served_by_a_mirror_is_refused_while_it_downloads(server, tmp_path):
    """1 GB of zeros in a 1 MB gzip, in place of the 47 MB training images: refused as soon as
    it inflates past 47 MB, in bounded memory; a 1 MB body for a 10 kB file is refused by its
    length alone. Nothing is left in the cache."""
    import resource
    import zlib

    routes, url = server
    name = "train-images-idx3-ubyte.gz"
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = bytes(1 << 20)
    bomb = b"".join(packer.compress(block) for _ in range(1024)) + packer.flush()
    assert len(bomb) < 2 << 20
    routes[f"/bomb/{name}"] = bomb
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    with pytest.raises(DataError, match="inflates beyond"):
        data.download(tmp_path / "cache", mirrors=[url + "/bomb/"])
    assert time.perf_counter() - t0 < 1.0
    grown_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert grown_kb < 100 * 1024  # under 100 MB more at the peak
    assert _no_partials(tmp_path / "cache") and not (tmp_path / "cache" / name).exists()
    for other in FILES:
        routes[f"/long/{other}"] = _good(other)
    routes["/long/t10k-labels-idx1-ubyte.gz"] = bomb
    with pytest.raises(DataError, match="more than the 10008 .* refused"):
        data.download(tmp_path / "cache2", mirrors=[url + "/long/"])
    assert not (tmp_path / "cache2" / "t10k-labels-idx1-ubyte.gz").exists()


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


def read_in_a_fresh_process(path) -> dict:
    import json
    import subprocess
    import sys

    r = subprocess.run([sys.executable, "-c", DATA_PROBE, str(path)], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0, r.stderr[-2000:]
    result = json.loads(r.stdout)
    import os

    case = os.environ.get("PYTEST_CURRENT_TEST", "").split("::")[-1].split(" ")[0]
    print(f"\nFIGURE {case}: {result['seconds']:.3f} s, RSS peak +{result['grown_kb'] / 1024:.1f} MB, "
          f"allocated peak {result['traced_peak_kb'] / 1024:.2f} MB")
    return result


def _gzip_of(header: bytes, zeros: int) -> bytes:
    import zlib

    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    parts = [packer.compress(header)]
    block = bytes(1 << 20)
    for _ in range(zeros >> 20):
        parts.append(packer.compress(block))
    return b"".join(parts) + packer.flush()


def _idx_header(count: int) -> bytes:
    return b"".join(int(v).to_bytes(4, "big") for v in (IMAGE_MAGIC, count, 28, 28))


@pytest.mark.parametrize("kind, words", [
    ("bomb", "inflates beyond"), ("huge count", "more than 1,000,000"), ("sparse", "larger than"),
])
def test_hostile_data_files_are_refused_fast_and_small(tmp_path, kind, words):
    path = tmp_path / "train-images-idx3-ubyte.gz"
    if kind == "bomb":  # 1 GB of zeros behind a header that promises 100 images
        path.write_bytes(_gzip_of(_idx_header(100), 1 << 30))
        assert path.stat().st_size < 2 << 20
    elif kind == "huge count":
        path.write_bytes(_gzip_of(_idx_header(10**9), 0))
    else:
        with open(path, "wb") as f:
            f.write(b"\x1f\x8b")
            f.truncate(2 * 2**30)
    r = read_in_a_fresh_process(path)
    assert r["error"] and words in r["error"], r
    assert r["seconds"] < 1.0 and r["grown_kb"] < 100 * 1024, r


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
