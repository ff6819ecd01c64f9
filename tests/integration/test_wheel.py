"""The wheel as a user installs it: built from this clone, installed into a fresh venv, and run
from outside the clone with no network, an empty XDG_DATA_HOME and an empty XDG_CACHE_HOME.

An editable install finds everything in the source tree, so only this test sees what the
wheel lacks (issue 21, item 1: the wheel shipped no MNIST files; offline training failed).
One test, one wheel: building and installing it is the slow part.
"""

from __future__ import annotations

import fcntl
import os
import pty
import select
import site
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def _install_wheel(work: Path) -> Path:
    """Build the wheel and install it into a new venv; return the venv's bin directory."""
    dist = work / "dist"
    work.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(dist),
                    str(ROOT)], check=True, timeout=300, cwd=work)
    (wheel,) = dist.glob("mnist_tui-*.whl")
    venv = work / "venv"
    # --system-site-packages and the running interpreter's site-packages: the dependencies are
    # not downloaded again; mnist_tui itself must come from the wheel (checked below).
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip",
                    str(venv)], check=True, timeout=120)
    (site_dir,) = (venv / "lib").glob("python3*/site-packages")
    (site_dir / "_running_env.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"),
                    "install", "-q", "--no-deps", "--force-reinstall", str(wheel)],
                   check=True, timeout=300)
    return venv / "bin"


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("MNIST_TUI_", "PYTHON", "VIRTUAL_ENV", "XDG_"))}
    env.update(HOME=str(home), XDG_DATA_HOME=str(home / "share"),
               XDG_CACHE_HOME=str(home / "cache"), MNIST_TUI_OFFLINE="1", TERM="xterm-256color",
               MNIST_TUI_MIRRORS="http://127.0.0.1:9/")  # offline, and no real mirror either
    (home / "share").mkdir(parents=True)
    (home / "cache").mkdir()
    return env


def _run(argv: list[str], env, cwd, timeout: float = 240) -> subprocess.CompletedProcess:
    started = time.monotonic()
    proc = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, (argv, proc.returncode, proc.stdout[-2000:], proc.stderr[-2000:])
    print(f"{Path(argv[0]).name} {' '.join(argv[1:])[:40]}: "
          f"{time.monotonic() - started:.1f} s")
    return proc


def _dashboard_in_a_pty(mnist_tui: Path, env, cwd) -> bytes:
    """Open the dashboard in an 80x24 pty; once it has drawn its footer, press q."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    proc = subprocess.Popen([str(mnist_tui)], stdin=slave, stdout=slave, stderr=slave, env=env,
                            cwd=cwd, start_new_session=True, close_fds=True)
    os.close(slave)
    out = b""
    try:
        deadline = time.monotonic() + 90
        while b"Quit" not in out:
            assert time.monotonic() < deadline and proc.poll() is None, out[-3000:]
            if select.select([master], [], [], 0.2)[0]:
                out += os.read(master, 65536)
        time.sleep(0.5)  # let it settle: a key during start-up is fine too, but not the test
        os.write(master, b"q")
        deadline = time.monotonic() + 30
        while proc.poll() is None:
            assert time.monotonic() < deadline, ("q did not quit", out[-3000:])
            if select.select([master], [], [], 0.2)[0]:
                try:
                    out += os.read(master, 65536)
                except OSError:  # EIO: the app has closed the terminal
                    break
        assert proc.wait(timeout=30) == 0, out[-3000:]
        return out
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        os.close(master)


def test_the_wheel_in_a_fresh_venv_trains_sweeps_and_draws_offline(tmp_path):
    started = time.monotonic()
    bindir = _install_wheel(tmp_path / "build")
    print(f"wheel built and installed: {time.monotonic() - started:.1f} s")
    away = tmp_path / "elsewhere"  # not the clone: nothing can be found relative to it
    away.mkdir()
    env = _env(tmp_path / "home")
    where = _run([str(bindir / "python"), "-c", "import mnist_tui; print(mnist_tui.__file__)"],
                 env, away).stdout.strip()
    assert where.startswith(str(tmp_path / "build" / "venv")), where  # the wheel's, not the clone's
    mnist_tui = bindir / "mnist-tui"

    train = _run([str(mnist_tui), "train", "--epochs", "1"], env, away)
    assert "test" in train.stdout, train.stdout
    listing = _run([str(mnist_tui), "runs", "list"], env, away).stdout
    assert "no runs yet" not in listing.lower() and "1" in listing, listing
    # One worker: the packaging is under test here, not the sweep's parallelism (CI's time).
    sweep = _run([str(mnist_tui), "sweep", "--trials", "1", "--epochs", "1", "--workers", "1"],
                 env, away)
    assert "best: trial" in sweep.stdout, (sweep.stdout, sweep.stderr)
    started = time.monotonic()
    _dashboard_in_a_pty(mnist_tui, env, away)
    print(f"dashboard drawn and quit in a pty: {time.monotonic() - started:.1f} s")
