"""`mnist-tui serve` for real: the server, headless Chromium opening and closing tabs, signals."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import time
import uuid

import pytest
from helpers import marked_processes, readline_within

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


def start_server(data_dir, marker: str) -> tuple[subprocess.Popen, str]:
    """The real `mnist-tui serve`; every process it starts carries the marker in its env."""
    port = free_port()
    env = {**os.environ, "MNIST_TUI_TEST_MARK": marker}
    flags = ["--data-dir", str(data_dir)] if data_dir else []
    server = subprocess.Popen(
        [sys.executable, "-m", "mnist_tui", "serve", "--port", str(port), *flags],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True, env=env)
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return server, f"http://127.0.0.1:{port}/"
        except OSError:
            assert server.poll() is None, server.stdout.read()
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.2)


def sessions(marker: str, server: subprocess.Popen) -> list[int]:
    """The server's app processes (and anything they started): marked, not the server."""
    return [p for p in marked_processes(marker) if p != server.pid]


def wait_until_gone(marker: str, server: subprocess.Popen, seconds: float) -> list[int]:
    deadline = time.monotonic() + seconds
    while sessions(marker, server) and time.monotonic() < deadline:
        time.sleep(0.1)
    return sessions(marker, server)


@pytest.mark.slow
def test_a_closed_tab_leaves_no_app_behind_and_nor_does_the_server(tmp_path):
    """Chromium loads the page (an app session starts) and closes it while the app is still
    loading MNIST (the project's own copy, as a user's would): the server then sends `quit`
    during start-up. That left the app spinning at 100% CPU; now the session must end within
    10 s, and after the server stops no marked process remains anywhere."""
    marker = uuid.uuid4().hex
    server, url = start_server(None, marker)
    try:
        dom = chromium("--dump-dom", url, profile=tmp_path / "p1")
        # textual-serve's page names the app in its start dialog and loads its terminal script.
        assert "<div>mnist-tui</div>" in dom.stdout, dom.stderr[-2000:]
        assert "textual.js" in dom.stdout
        for i in range(3):  # three tabs, each opened (a session starts) and closed
            shot = tmp_path / f"page{i}.png"
            chromium("--window-size=1000,700", "--virtual-time-budget=5000", f"--screenshot={shot}",
                     url, profile=tmp_path / f"p{i + 2}")
            assert shot.exists() and shot.stat().st_size > 2000  # a blank page is far smaller
        left = wait_until_gone(marker, server, 10)
        assert left == [], f"sessions alive 10 s after their tab closed: {left}"
        server.terminate()
        server.wait(10)
        assert server.stdout.read().count("GET /ws") >= 3, "the page did not start app sessions"
        assert wait_until_gone(marker, server, 10) == []
    finally:
        server.kill()
        for pid in marked_processes(marker):  # a safety net, so a failure here leaves nothing
            os.kill(pid, signal.SIGKILL)


BUSY_APP = textwrap.dedent('''
    import os
    import sys
    from pathlib import Path
    from mnist_tui.core.data import load_dir
    from mnist_tui.ui.app import MnistApp

    class Busy(MnistApp):
        """The dashboard, then an event loop that never comes back (as when it spins)."""

        def on_mount(self):
            super().on_mount()
            self.set_timer(0.5, self.spin)

        def spin(self):
            os.write(2, b"busy\\n")  # print() would go to Textual's log
            while True:
                pass

    if __name__ == "__main__":
        Busy(load_dir(Path(sys.argv[1]))).run()
''')


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_a_busy_served_app_ends_on_sigterm_or_sighup_within_2_s(tmp_path, tiny_dir, sig):
    """Under textual-serve's web driver, with its event loop stuck, the app still leaves."""
    marker = uuid.uuid4().hex
    script = tmp_path / "busy.py"
    script.write_text(BUSY_APP)
    env = {**os.environ, "MNIST_TUI_TEST_MARK": marker,
           "TEXTUAL_DRIVER": "textual.drivers.web_driver:WebDriver", "COLUMNS": "100", "ROWS": "30"}
    app = subprocess.Popen([sys.executable, str(script), str(tiny_dir)], stdin=subprocess.PIPE,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    try:
        assert readline_within(app.stderr).strip() == b"busy"
        time.sleep(0.3)
        assert app.poll() is None
        t0 = time.monotonic()
        app.send_signal(sig)
        app.wait(5)
        took = time.monotonic() - t0
        assert took < 2.0, f"took {took:.1f} s"
        assert app.returncode == 128 + sig
        deadline = time.monotonic() + 2
        while marked_processes(marker) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert marked_processes(marker) == []  # its fork server went with it
    finally:
        app.kill()
        for pid in marked_processes(marker):
            os.kill(pid, signal.SIGKILL)


@pytest.mark.slow
def test_serving_beyond_localhost_warns(tmp_path):
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "mnist_tui", "serve", "--host", "0.0.0.0",
                               "--port", str(port)], stderr=subprocess.PIPE, text=True)
    try:
        line = readline_within(server.stderr)
        assert "not localhost" in line and "no authentication" in line
    finally:
        server.terminate()
        server.wait(10)
