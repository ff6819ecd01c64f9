"""The bench package with processes: the augmentation loader compared with the training thread."""

from __future__ import annotations

from mnist_tui import bench
from mnist_tui.bench import speed


def test_augment_compares_the_loader_with_the_training_thread(tiny_dir, capsys, monkeypatch):
    monkeypatch.setattr(speed, "AUGMENT_SHAPE", (8, 64))
    assert bench.main(bench.BenchParams(augment_cost=True, rounds=1, samples=300,
                                        data_dir=str(tiny_dir))) == 0
    out = capsys.readouterr().out
    for kind in ("none", "affine (loader)", "affine (in-process)", "elastic (loader)"):
        assert kind in out
