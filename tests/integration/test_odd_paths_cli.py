"""Paths as users' machines have them, through the CLI: train --save into a folder named in Latin-1."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys

LATIN1 = os.fsdecode(b"r\xe9sultats")  # how Python sees a folder named in Latin-1: 'r\udce9…'


def stored_checkpoint(db, run_id: int):
    with sqlite3.connect(db) as c:
        return c.execute("SELECT checkpoint FROM runs WHERE id = ?", (run_id,)).fetchone()[0]


def test_train_save_into_a_latin1_folder(tmp_path, tiny_dir):
    """`train --save $'ck\\xff.npz'` in a folder named with byte 0xE9: saved, recorded as done."""
    folder = tmp_path / LATIN1
    folder.mkdir()
    env = {**os.environ, "XDG_DATA_HOME": os.fspath(folder / "share")}
    name = os.fsdecode(b"ck\xff.npz")
    r = subprocess.run([sys.executable, "-m", "mnist_tui", "train", "--data-dir", str(tiny_dir),
                        "--hidden", "8", "--epochs", "1", "--save", name],
                       cwd=folder, env=env, capture_output=True, timeout=120)
    err = r.stderr.decode(errors="replace")
    assert r.returncode == 0, err
    assert b"Traceback" not in r.stderr and b"saved" in r.stdout
    assert (folder / name).is_file()
    db = folder / "share" / "mnist-tui" / "runs.sqlite"
    assert stored_checkpoint(db, 1) == os.fsencode(os.path.join(os.fspath(folder), name))
    shown = {}
    for cmd in (["runs", "list"], ["runs", "show", "1"], ["runs", "export", "1"]):
        r = subprocess.run([sys.executable, "-m", "mnist_tui", *cmd], cwd=folder, env=env,
                           capture_output=True, timeout=60)
        assert r.returncode == 0 and b"Traceback" not in r.stderr, (cmd, r.stderr)
        assert b"lost" not in r.stdout
        shown[cmd[1]] = r.stdout
    assert b"ck\xef\xbf\xbd.npz" in shown["show"]  # U+FFFD in UTF-8 where the byte 0xFF was
