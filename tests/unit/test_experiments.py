"""Issue 13's building blocks: optimizers in the trainer, Fashion-MNIST, the validation split."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from mnist_tui.cli import main
from mnist_tui.core import data, store, train
from mnist_tui.core.config import OPTIMIZERS, TrainConfig
from mnist_tui.core.events import BatchProgress, EpochEnd


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_every_optimizer_learns_the_tiny_set(tiny, optimizer):
    config = TrainConfig(hidden=16, epochs=3, batch_size=16, optimizer=optimizer, schedule="constant",
                         lr=0.001 if optimizer.startswith("adam") else 0.05, weight_decay=1e-4)
    accs = [ev.test_acc for ev in train.train(config, tiny) if isinstance(ev, EpochEnd)]
    assert accs[-1] > 0.5, accs


def test_optimizers_differ_and_sgd_is_the_seed_rule(tiny):
    finals = {}
    for name in OPTIMIZERS:
        config = TrainConfig(hidden=8, epochs=1, batch_size=32, optimizer=name, lr=0.01,
                             weight_decay=0.01)  # adamw equals adam without decay
        finals[name] = [ev.test_loss for ev in train.train(config, tiny) if isinstance(ev, EpochEnd)][0]
    assert len(set(finals.values())) == len(OPTIMIZERS)
    # sgd ignores momentum: the same run with momentum 0 and 0.9
    a = TrainConfig(hidden=8, epochs=1, batch_size=32, optimizer="sgd", momentum=0.0)
    b = TrainConfig(hidden=8, epochs=1, batch_size=32, optimizer="sgd", momentum=0.9)
    la = [ev.test_loss for ev in train.train(a, tiny) if isinstance(ev, EpochEnd)]
    lb = [ev.test_loss for ev in train.train(b, tiny) if isinstance(ev, EpochEnd)]
    assert la == lb


def test_adam_gets_its_own_default_lr_from_the_cli(tiny_dir, capsys):
    assert main(["train", "--data-dir", str(tiny_dir), "--epochs", "1", "--hidden", "4",
                 "--optimizer", "adam", "--json", "--db", str(tiny_dir / "h.sqlite")]) == 0
    assert '"lr": 0.001' in capsys.readouterr().out
    assert main(["train", "--data-dir", str(tiny_dir), "--epochs", "1", "--hidden", "4",
                 "--optimizer", "adam", "--lr", "0.02", "--json", "--db", str(tiny_dir / "h.sqlite")]) == 0
    assert '"lr": 0.02' in capsys.readouterr().out


def test_the_validation_split_is_held_out_chosen_by_the_seed_and_recorded(tiny, tmp_path):
    tr, val, _ = train.split_indices(600, 100, seed=3)
    assert len(val) == 100 and len(tr) == 500 and not set(tr) & set(val)
    assert np.array_equal(val, train.split_indices(600, 100, seed=3)[1])
    assert not np.array_equal(val, train.split_indices(600, 100, seed=4)[1])
    config = TrainConfig(hidden=8, epochs=2, batch_size=50, val_split=100)
    events = list(train.train(config, tiny))
    assert {ev.n_batches for ev in events if isinstance(ev, BatchProgress)} == {10}  # 500 / 50
    ends = [ev for ev in events if isinstance(ev, EpochEnd)]
    assert all(0 <= ev.val_acc <= 1 and ev.val_loss > 0 for ev in ends)
    rec = store.Recorder(tmp_path / "h.sqlite", config)
    for ev in ends:
        rec.epoch(ev)
    rec.finish("done")
    run = store.Store(tmp_path / "h.sqlite", readonly=True).run(1)
    assert run["epochs"]["val_acc"] == [ev.val_acc for ev in ends]
    plain = [ev for ev in train.train(TrainConfig(hidden=8, epochs=1, batch_size=50), tiny)
             if isinstance(ev, EpochEnd)]
    assert plain[0].val_acc is None


def test_a_validation_split_too_large_is_refused(tiny_dir, capsys):
    assert main(["train", "--data-dir", str(tiny_dir), "--val-split", "600",
                 "--db", str(tiny_dir / "h.sqlite")]) == 2
    assert "leaves no training samples" in capsys.readouterr().err


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


def test_class_names_reach_the_probability_bars():
    from mnist_tui.core.render import probability_lines

    proba = np.eye(10)[9]
    lines = probability_lines(proba, 9, classes=data.class_names("fashion"))
    assert lines[9].startswith("Boot") and "◀ ✓" in lines[9]
    assert probability_lines(proba, 9)[9].startswith("9 ")
