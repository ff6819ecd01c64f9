"""The validation split (held out, chosen by the seed, recorded) and the class names of each dataset."""

from __future__ import annotations

import numpy as np

from mnist_tui.core import data, store, train
from mnist_tui.core.config import TrainConfig
from mnist_tui.core.events import BatchProgress, EpochEnd


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


def test_class_names_reach_the_probability_bars():
    from mnist_tui.core.render import probability_lines

    proba = np.eye(10)[9]
    lines = probability_lines(proba, 9, classes=data.class_names("fashion"))
    assert lines[9].startswith("Boot") and "◀ ✓" in lines[9]
    assert probability_lines(proba, 9)[9].startswith("9 ")
