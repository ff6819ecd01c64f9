"""The write rules of core/files.py where the target is another process's output (/proc/self/fd/1)."""

from __future__ import annotations

import os

import pytest


@pytest.mark.parametrize("path", ["link", "/dev/stdout"])
def test_a_symlink_to_proc_self_fd_1_is_refused_not_replaced(tmp_path, path):
    import subprocess
    import sys

    link = tmp_path / "out.csv"
    link.symlink_to("/proc/self/fd/1")
    def identity(st):  # what replacing /dev/stdout would change; not its times (any read sets atime)
        return st.st_mode, st.st_ino, st.st_dev, st.st_uid

    before = identity(os.lstat("/dev/stdout")), os.readlink("/dev/stdout")
    r = subprocess.run([sys.executable, "-m", "mnist_tui", "runs", "export", "1", "--output",
                        str(link) if path == "link" else path, "--db", str(tmp_path / "none.sqlite")],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=60)
    assert (identity(os.lstat("/dev/stdout")), os.readlink("/dev/stdout")) == before  # not replaced
    assert r.returncode == 1 and "refused" in r.stderr and "Traceback" not in r.stderr
    assert link.is_symlink() and os.readlink(link) == "/proc/self/fd/1"
    assert not (tmp_path / "none.sqlite").exists()
