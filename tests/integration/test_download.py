"""The download path against a local server: verification, mirrors, timeouts, bombs, dropped connections."""

from __future__ import annotations

import gzip
import http.server
import threading
import time
from pathlib import Path

import pytest

from mnist_tui.core import data
from mnist_tui.core.data import FILES, DataError

REAL = data.PACKAGE_DATA_DIR


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


@pytest.mark.real_data
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


@pytest.mark.real_data
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


@pytest.mark.real_data
def test_slow_mirror_times_out_then_the_next_is_used(server, tmp_path):
    routes, url = server
    for name in FILES:
        routes[f"/slow/{name}"] = "slow"
        routes[f"/good/{name}"] = _good(name)
    t0 = time.perf_counter()
    data.download(tmp_path / "cache", mirrors=[url + "/slow/", url + "/good/"], timeout=0.3)
    assert data.has_files(tmp_path / "cache")
    assert time.perf_counter() - t0 < 30


@pytest.mark.real_data
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


@pytest.mark.real_data
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
