"""The write rules of core/files.py, tried on fakes made in the test's own directory: a
character device node, a FIFO, a socket, a directory, symlinks (one to /proc/self/fd/1)."""

from __future__ import annotations

import os
import socket
import stat

import pytest

from mnist_tui.core.files import FileError, write_atomic


def _chr_device(path):
    try:
        os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(1, 3))  # like /dev/null, but ours
    except PermissionError:
        pytest.skip("making a device node needs root (CI runs as root)")
    return path


def _special(tmp_path, kind):
    p = tmp_path / f"target-{kind}"
    if kind == "device":
        _chr_device(p)
    elif kind == "fifo":
        os.mkfifo(p)
    elif kind == "socket":
        s = socket.socket(socket.AF_UNIX)
        s.bind(str(p))
        s.close()
    else:
        p.mkdir()
    return p


@pytest.mark.parametrize("kind", ["device", "fifo", "socket", "directory"])
@pytest.mark.parametrize("via_link", [False, True])
def test_a_target_that_is_not_a_regular_file_is_refused_and_left_alone(tmp_path, kind, via_link):
    target = _special(tmp_path, kind)
    before = os.lstat(target)
    path = target
    if via_link:
        path = tmp_path / "link"
        path.symlink_to(target)
    with pytest.raises(FileError) as e:
        write_atomic(path, "x")
    assert "refused" in str(e.value) or "directory" in str(e.value)
    assert "\n" not in str(e.value)
    after = os.lstat(target)
    assert (after.st_mode, after.st_ino) == (before.st_mode, before.st_ino)
    if via_link:
        assert path.is_symlink()
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]


def test_a_symlink_to_a_file_is_written_through_and_stays_a_link(tmp_path):
    real = tmp_path / "real.csv"
    real.write_text("old")
    os.chmod(real, 0o640)
    link = tmp_path / "link.csv"
    link.symlink_to(real)
    write_atomic(link, "new")
    assert link.is_symlink() and real.read_text() == "new"
    assert stat.S_IMODE(real.stat().st_mode) == 0o640  # an existing file keeps its mode


def test_a_new_file_gets_the_umask_mode(tmp_path):
    old = os.umask(0o027)
    try:
        write_atomic(tmp_path / "new.csv", "x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "new.csv").stat().st_mode) == 0o640


def test_dash_is_stdout(capfdbinary, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_atomic("-", "hello\n")
    assert capfdbinary.readouterr().out == b"hello\n" and not (tmp_path / "-").exists()


def test_cli_save_and_export_onto_a_fake_device_or_through_a_link(tiny_dir, tmp_path, capsys):
    from mnist_tui.cli import main

    db = str(tmp_path / "h.sqlite")
    quick = ["--hidden", "4", "--epochs", "1", "--data-dir", str(tiny_dir), "--db", db]
    dev = _chr_device(tmp_path / "dev.npz")
    assert main(["train", *quick, "--save", str(dev)]) == 1
    assert "character device" in capsys.readouterr().err
    assert stat.S_ISCHR(os.lstat(dev).st_mode)
    real = tmp_path / "real.npz"
    link = tmp_path / "link.npz"
    link.symlink_to(real)
    assert main(["train", *quick, "--save", str(link)]) == 0
    assert link.is_symlink() and real.stat().st_size > 0
    assert main(["runs", "export", "2", "--output", str(dev), "--db", db]) == 1
    assert stat.S_ISCHR(os.lstat(dev).st_mode)
