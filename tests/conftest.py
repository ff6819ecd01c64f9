"""Fixtures: a tiny seeded dataset in memory and on disk, and an environment with no real data."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from helpers import tiny_dataset, write_dataset  # noqa: E402


@pytest.fixture(scope="session")
def tiny():
    return tiny_dataset()


@pytest.fixture
def tiny_dir(tmp_path, tiny):
    return write_dataset(tmp_path / "tiny", tiny)


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch, tmp_path):
    """No test reads the user's cache or downloads by accident."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "share"))  # the run history
    monkeypatch.setenv("MNIST_TUI_OFFLINE", "1")
    # Live runs' sockets (core/host.py) per test: run ids are per history, and a test's run 1
    # must not be marked live by another test's run 1 served at the same moment.
    # Short (a Unix socket's path has at most 107 bytes; tmp_path is longer than that allows).
    import shutil
    import tempfile

    runtime = tempfile.mkdtemp(prefix="mt-run-")
    monkeypatch.setenv("XDG_RUNTIME_DIR", runtime)
    monkeypatch.delenv("MNIST_TUI_DATA", raising=False)
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("TEXTUAL_THEME", raising=False)
    # Rich picks the colour system from the environment; fix it so screenshots do not depend
    # on the terminal the tests run in (16 colours would switch digits to shade characters).
    monkeypatch.setenv("COLORTERM", "truecolor")
    monkeypatch.setenv("TERM", "xterm-256color")
    yield
    shutil.rmtree(runtime, ignore_errors=True)


FASHION = next((p / "shared" / "data" / "fashion-mnist" for p in Path(__file__).resolve().parents[2:4]
                if (p / "shared" / "data" / "fashion-mnist").is_dir()),
               Path(__file__).resolve().parents[2] / "shared" / "data" / "fashion-mnist")  # a worktree's too


@pytest.fixture
def fashion_mirror(monkeypatch):
    """../shared/data/fashion-mnist served over local HTTP, as the download mirror; the test
    may download (MNIST_TUI_OFFLINE unset) into its own cache."""
    import http.server
    import threading
    from functools import partial

    if not FASHION.is_dir():
        pytest.skip(f"{FASHION} is not there")
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(FASHION))
    handler.log_message = lambda *a: None
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{srv.server_address[1]}/"
    monkeypatch.setenv("MNIST_TUI_MIRRORS", url)
    monkeypatch.delenv("MNIST_TUI_OFFLINE", raising=False)
    yield url
    srv.shutdown()
    srv.server_close()


@pytest.fixture(scope="session")
def big_history(tmp_path_factory):
    """A history of 10,000 runs, 20 epochs each with predictions (of 50 test samples, to keep
    the file small), built as `mnist-tui bench --history` builds its own: a few real runs
    recorded through the Store, copied in SQL. Tests only read it: copy it to write."""
    from mnist_tui.bench.history import build_history

    return build_history(tmp_path_factory.mktemp("big") / "runs.sqlite", runs=10_000, n_test=50)


# The longest first: the two processes take them at once, and the many short ones fill in
# after. Last in collection order (tests/soak), the 100-pair pty test alone made the suite's
# last two minutes. A stable sort: within each group, the order is the files' own.
LONGEST = ("tests/soak/test_bursts.py", "tests/soak/test_hardening.py",
           "tests/integration/test_sweep_postgres.py", "tests/functional/test_runs_scale.py",
           "tests/integration/test_wheel.py", "tests/functional/test_layout.py")


def pytest_collection_modifyitems(config, items):
    def rank(item) -> tuple[int, int]:
        path = item.nodeid.split("::")[0]
        if path in LONGEST:
            return 0, LONGEST.index(path)
        return (1 if item.get_closest_marker("slow") else 2), 0

    items.sort(key=rank)
