"""`mnist-tui serve` for real: start the server, load the page in headless Chromium, stop it."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="chromium is not installed (Debian: apt-get install chromium; .ci/run does this)",
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def chromium(*args: str, profile) -> subprocess.CompletedProcess:
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={profile}"]
    return subprocess.run([CHROMIUM, *flags, *args], capture_output=True, text=True, timeout=90)


def test_served_dashboard_loads_in_headless_chromium(tmp_path, tiny_dir):
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "mnist_tui", "serve", "--port", str(port), "--data-dir", str(tiny_dir)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                assert server.poll() is None, server.stdout.read()
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.2)
        url = f"http://127.0.0.1:{port}/"
        dom = chromium("--dump-dom", url, profile=tmp_path / "p1")
        # textual-serve's page names the app in its start dialog and loads its terminal script.
        assert "<div>mnist-tui</div>" in dom.stdout, dom.stderr[-2000:]
        assert "textual.js" in dom.stdout
        shot = tmp_path / "page.png"
        chromium("--window-size=1000,700", "--virtual-time-budget=5000", f"--screenshot={shot}", url,
                 profile=tmp_path / "p2")
        assert shot.exists() and shot.stat().st_size > 2000  # a blank page compresses to far less
        assert app_processes(tiny_dir), "the page did not start an app session"
    finally:
        server.terminate()
        server.wait(10)
    # The app sessions must not outlive the server (they notice they were orphaned and exit).
    deadline = time.monotonic() + 10
    while app_processes(tiny_dir) and time.monotonic() < deadline:
        time.sleep(0.2)
    left = app_processes(tiny_dir)
    try:
        os.killpg(server.pid, signal.SIGKILL)  # a safety net, so a failure here leaves nothing
    except ProcessLookupError:
        pass
    assert left == []


def app_processes(tiny_dir) -> list[int]:
    """Pids of dashboard processes started for this test's data directory."""
    r = subprocess.run(["pgrep", "-f", f"mnist_tui --data-dir {tiny_dir}"], capture_output=True, text=True)
    return [int(p) for p in r.stdout.split()]


def test_serving_beyond_localhost_warns(tmp_path):
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "mnist_tui", "serve", "--host", "0.0.0.0",
                               "--port", str(port)], stderr=subprocess.PIPE, text=True)
    try:
        line = server.stderr.readline()
        assert "not localhost" in line and "no authentication" in line
    finally:
        server.terminate()
        server.wait(10)
