"""Fashion-MNIST from the command line: downloaded from a local mirror, verified and named; offline, one line on how to get it."""

from __future__ import annotations

import subprocess
import sys

from mnist_tui.core import data


def test_fashion_is_downloaded_verified_and_named(fashion_mirror, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    r = subprocess.run([sys.executable, "-m", "mnist_tui", "download", "--dataset", "fashion"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    target = tmp_path / "cache" / "mnist-tui" / "fashion"
    assert "Fashion-MNIST" in r.stdout and data.has_files(target)
    ds = data.load(dataset="fashion")
    assert ds.name == "fashion" and ds.classes[9] == "Boot"
    assert list(ds.train_labels[:10]) == [9, 0, 0, 3, 0, 2, 7, 2, 5, 5]  # from the README
    assert not (tmp_path / "cache" / "mnist-tui" / "train-images-idx3-ubyte.gz").exists()


def test_fashion_offline_says_how_to_get_it(tmp_path):
    env = {"XDG_CACHE_HOME": str(tmp_path), "MNIST_TUI_OFFLINE": "1", "PATH": "/usr/bin:/bin"}
    r = subprocess.run([sys.executable, "-m", "mnist_tui", "train", "--dataset", "fashion",
                        "--db", str(tmp_path / "h.sqlite")],
                       capture_output=True, text=True, timeout=60, env=env)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert "mnist-tui download --dataset fashion" in r.stderr
