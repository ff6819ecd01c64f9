"""No terminal (issue 21, item 5): Textual reads keys from stdin and draws on stderr. As found,
`mnist-tui < /dev/null` drew, took no key and spun at 40-47% CPU until killed; `> out.txt`
never exited; `2>err.log` wrote the whole UI into err.log. Now the dashboard says in one line
that it needs a terminal, points to `mnist-tui train`, and exits 2, before loading anything.
The other two streams are a real terminal (a pty), as they are for the user who does this."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time

import pytest


def _dashboard(tmp_path, tiny_dir, redirect: str | None) -> tuple[int | None, str, str]:
    """Run `mnist-tui` with one stream redirected (or none) and the others on a pty; return the
    exit code (None if it was still running after 30 s), what the pty showed, the redirected
    file."""
    master, slave = pty.openpty()
    target = tmp_path / "redirected"
    target.write_bytes(b"")
    streams = {"stdin": slave, "stdout": slave, "stderr": slave}
    handle = open(os.devnull) if redirect == "stdin" else open(target, "w")
    if redirect:
        streams[redirect] = handle
    proc = subprocess.Popen([sys.executable, "-m", "mnist_tui", "--data-dir", str(tiny_dir)],
                            **streams, cwd=tmp_path, start_new_session=True,
                            env={**os.environ, "TERM": "xterm-256color"})
    os.close(slave)
    handle.close()
    shown = b""
    deadline = time.monotonic() + 30
    try:
        while proc.poll() is None and time.monotonic() < deadline:
            if select.select([master], [], [], 0.1)[0]:
                try:
                    shown += os.read(master, 65536)
                except OSError:  # EIO: the terminal's last holder has closed it
                    break
        try:
            code = proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            code = None
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)
        while select.select([master], [], [], 0)[0]:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            if not chunk:
                break
            shown += chunk
        os.close(master)
    return code, shown.decode(errors="replace"), target.read_text(errors="replace")


@pytest.mark.slow
@pytest.mark.parametrize("redirect", ["stdin", "stdout", "stderr"])
def test_the_dashboard_without_a_terminal_says_so_in_one_line(redirect, tmp_path, tiny_dir):
    code, shown, written = _dashboard(tmp_path, tiny_dir, redirect)
    assert code == 2, (code, shown[-500:], written[-500:])
    said = written if redirect == "stderr" else shown  # the one line goes to stderr
    lines = [line for line in said.replace("\r", "").splitlines() if line.strip()]
    assert len(lines) == 1, said[-1000:]
    assert "terminal" in lines[0] and "mnist-tui train" in lines[0], lines
    assert "\x1b[" not in shown + written  # nothing drawn, on the terminal or in the file


@pytest.mark.slow
@pytest.mark.parametrize("damage", ["missing", "truncated", "not the data"])
def test_a_bad_data_file_is_one_line_and_exit_1_in_a_terminal(damage, tmp_path, tiny_dir):
    """The dashboard parses the files in a thread while it imports its UI: a bad one is still
    the one line naming it, exit 1, and nothing drawn."""
    name = "train-images-idx3-ubyte.gz"
    if damage == "missing":
        (tiny_dir / name).unlink()
    elif damage == "truncated":
        (tiny_dir / name).write_bytes((tiny_dir / name).read_bytes()[:-40])
    else:  # an unpacked file must be MNIST's own (its pinned SHA-256)
        (tiny_dir / name).unlink()
        (tiny_dir / name.removesuffix(".gz")).write_bytes(b"\0\0\x08\x03" + bytes(12))
    code, shown, _ = _dashboard(tmp_path, tiny_dir, None)
    lines = [line for line in shown.replace("\r", "").splitlines() if line.strip()]
    assert code == 1, (code, shown[-1000:])
    assert len(lines) == 1 and lines[0].startswith("mnist-tui: ") and "train-images" in lines[0], lines
    assert {"missing": "file not found", "truncated": "truncated gzip",
            "not the data": "SHA-256 mismatch"}[damage] in lines[0], lines
    assert "\x1b[" not in shown and "Traceback" not in shown
