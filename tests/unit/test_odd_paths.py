"""Paths as users' machines have them (issue 21, items 4 and 6): folders whose names are not
UTF-8 (a Latin-1 system's byte 0xE9), and saves that must never replace a file nobody named."""

from __future__ import annotations

import os
import sqlite3
import threading

import numpy as np
import pytest

from mnist_tui.core import checkpoint, files
from mnist_tui.core.config import TrainConfig
from mnist_tui.core.model import Perceptron
from mnist_tui.core.recording import Recorder
from mnist_tui.core.store import Store

LATIN1 = os.fsdecode(b"r\xe9sultats")  # how Python sees a folder named in Latin-1: 'r\udce9…'


def stored_checkpoint(db, run_id: int):
    with sqlite3.connect(db) as c:
        return c.execute("SELECT checkpoint FROM runs WHERE id = ?", (run_id,)).fetchone()[0]


def test_a_checkpoint_path_that_is_not_utf8_is_recorded_losslessly(tmp_path):
    folder = tmp_path / LATIN1
    folder.mkdir()
    db = folder / "runs.sqlite"  # the history itself lives under the odd name too
    path = os.path.join(os.fspath(folder), os.fsdecode(b"ck\xff.npz"))
    rec = Recorder(db, TrainConfig(hidden=4))
    rec.finish("done", path)
    assert rec.error is None
    assert stored_checkpoint(db, rec.run_id) == os.fsencode(path)  # the bytes, exactly
    with Store(db, readonly=True) as s:
        run = s.run(rec.run_id)
        listed = s.runs()[0]
    assert run["status"] == "done" and listed["status"] == "done"
    shown = run["checkpoint"]
    assert shown.endswith("ck\ufffd.npz") and "r\ufffdsultats" in shown
    shown.encode("utf-8")  # printable: no surrogate left
    with Store(db) as s:  # the dashboard's `w`: set_checkpoint on a run already recorded
        s.set_checkpoint(rec.run_id, path + "2")
    assert stored_checkpoint(db, rec.run_id) == os.fsencode(path + "2")


def test_a_history_write_that_cannot_be_encoded_never_raises(tmp_path):
    rec = Recorder(tmp_path / "runs.sqlite", TrainConfig(hidden=4))
    # A value sqlite3 cannot bind at all must end recording with a reason, not the run.
    rec.store._write("SELECT 1")  # sanity: the store works
    with pytest.raises(Exception) as e:
        rec.store._write("SELECT ?", (2**70,))
    assert type(e.value).__name__ == "StoreError"


# --- item 6: a file nobody named is never replaced ---------------------------------------------


def test_write_new_never_replaces_and_adds_a_suffix(tmp_path):
    target = tmp_path / "mnist-tui-20261130-142000.npz"
    target.write_bytes(b"the other dashboard's weights")
    first = files.write_new(target, b"mine")
    second = files.write_new(target, b"mine too")
    assert target.read_bytes() == b"the other dashboard's weights"
    assert first.name == "mnist-tui-20261130-142000-2.npz" and first.read_bytes() == b"mine"
    assert second.name == "mnist-tui-20261130-142000-3.npz" and second.read_bytes() == b"mine too"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [target.name, first.name, second.name])  # no temporary left


def test_write_new_races_from_threads_keep_every_file(tmp_path):
    target = tmp_path / "same-second.npz"
    written, start = [], threading.Barrier(8)

    def save(i):
        start.wait()
        written.append(files.write_new(target, f"run {i}".encode()))

    threads = [threading.Thread(target=save, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert len({p.name for p in written}) == 8
    assert sorted(p.read_bytes() for p in written) == sorted(f"run {i}".encode() for i in range(8))
    assert len(list(tmp_path.iterdir())) == 8


def test_checkpoint_save_new_two_in_one_second(tmp_path):
    model, config = Perceptron(4), TrainConfig(hidden=4)
    a = checkpoint.save(tmp_path / "x.npz", model, config, {}, exclusive=True)
    model.W1[:] = 1
    b = checkpoint.save(tmp_path / "x.npz", model, config, {}, exclusive=True)
    assert a != b and a.name == "x.npz" and b.name == "x-2.npz"
    assert np.all(checkpoint.load(b)[0].W1 == 1) and not np.all(checkpoint.load(a)[0].W1 == 1)


def test_write_new_without_hard_links_reserves_the_name(tmp_path, monkeypatch):
    """A file system without hard links (FAT, some network mounts): O_EXCL, then rename."""
    import errno

    def no_links(*a, **k):
        raise OSError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(os, "link", no_links)
    (tmp_path / "a.npz").write_bytes(b"theirs")
    written = files.write_new(tmp_path / "a.npz", b"mine")
    assert written.name == "a-2.npz" and written.read_bytes() == b"mine"
    assert (tmp_path / "a.npz").read_bytes() == b"theirs"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-2.npz", "a.npz"]


def test_write_new_treats_a_link_as_a_name_taken(tmp_path):
    (tmp_path / "real.npz").write_bytes(b"theirs")
    (tmp_path / "x.npz").symlink_to(tmp_path / "real.npz")
    (tmp_path / "dangling.npz").symlink_to(tmp_path / "nowhere")
    assert files.write_new(tmp_path / "x.npz", b"mine").name == "x-2.npz"
    assert files.write_new(tmp_path / "dangling.npz", b"mine").name == "dangling-2.npz"
    assert (tmp_path / "real.npz").read_bytes() == b"theirs"
    assert not (tmp_path / "nowhere").exists()
