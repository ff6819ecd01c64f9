"""The trainer: config validation, schedules, determinism, stop, pause, divergence, learning."""

from __future__ import annotations

import math
import threading
import time

import numpy as np
import pytest

from mnist_tui.core import config, events, optim, resources
from mnist_tui.core import train as train_module
from mnist_tui.core.config import TrainConfig
from mnist_tui.core.events import BatchProgress, Diverged, EpochEnd, Finished, LiveChanged
from mnist_tui.core.train import Live, train

FAST = dict(hidden=16, epochs=3, batch_size=32, lr=0.05)


def run(config, ds, **kw):
    return list(train_module.train(config, ds, **kw))


def epochs(events):
    return [e for e in events if isinstance(e, EpochEnd)]


@pytest.mark.parametrize(
    "field, text",
    [
        ("hidden", "0"), ("hidden", "4097"), ("hidden", "1.5"), ("hidden", ""), ("hidden", "abc"),
        ("epochs", "0"), ("epochs", "1001"), ("lr", "0"), ("lr", "-1"), ("lr", "10.5"),
        ("lr", "nan"), ("lr", "inf"), ("batch_size", "0"), ("batch_size", "60001"),
        ("momentum", "1"), ("momentum", "-0.1"), ("weight_decay", "-1e-4"), ("weight_decay", "inf"),
        ("seed", "-1"), ("schedule", "linear"), ("hidden", "١٢٨"), ("hidden", "9" * 10000),
    ],
)
def test_parse_field_refuses_bad_values(field, text):
    with pytest.raises(ValueError) as e:
        config.parse_field(field, text)
    assert config.SPECS[field].help in str(e.value)
    assert len(str(e.value)) < 120  # one readable line, even for a 10,000-character paste


@pytest.mark.parametrize(
    "field, text, value",
    [("hidden", " 128 ", 128), ("lr", "1e-3", 0.001), ("lr", "10", 10.0), ("momentum", "0", 0.0),
     ("schedule", "step", "step"), ("seed", "0", 0), ("weight_decay", "0", 0.0)],
)
def test_parse_field_accepts_good_values(field, text, value):
    assert config.parse_field(field, text) == value


def test_config_validates_on_construction():
    with pytest.raises(ValueError, match="learning rate"):
        TrainConfig(lr=float("nan"))
    with pytest.raises(ValueError, match="hidden"):
        TrainConfig(hidden=True)


def test_lr_schedules():
    c = TrainConfig(lr=1.0, schedule="cosine")
    assert train_module.lr_at(c, 0.0) == 1.0 and train_module.lr_at(c, 0.5) == pytest.approx(0.5)
    s = TrainConfig(lr=1.0, schedule="step")
    assert [train_module.lr_at(s, p) for p in (0.1, 0.5, 0.8)] == pytest.approx([1, 0.1, 0.01])
    assert train_module.lr_at(TrainConfig(lr=0.3, schedule="constant"), 0.9) == 0.3


def test_training_learns_and_reports_everything(tiny):
    events = run(TrainConfig(**FAST), tiny, progress_interval=0)
    ends = epochs(events)
    assert [e.epoch for e in ends] == [1, 2, 3]
    assert ends[-1].test_acc > 0.9 and ends[-1].train_loss < ends[0].train_loss
    last = ends[-1]
    assert last.confusion.shape == (10, 10) and last.confusion.sum() == tiny.n_test
    assert last.test_proba.shape == (tiny.n_test, 10) and not last.test_proba.flags.writeable
    assert np.trace(last.confusion) / tiny.n_test == pytest.approx(last.test_acc)
    assert len(last.sample_indices) == 6 and last.seconds > 0 and last.lr > 0
    progress = [e for e in events if isinstance(e, BatchProgress)]
    assert progress and all(math.isfinite(p.running_loss) for p in progress)
    assert isinstance(events[-1], Finished) and not events[-1].stopped


def test_batch_progress_is_throttled_by_time(tiny):
    events = run(TrainConfig(**FAST), tiny, progress_interval=60)
    per_epoch = [e for e in events if isinstance(e, BatchProgress)]
    # within a 60 s window only the first and the last batch of each epoch report (the last
    # one carries the epoch's remaining batch losses)
    assert len(per_epoch) == 6 and [e.batch for e in per_epoch[:2]] == [1, per_epoch[0].n_batches]


def test_same_seed_same_metrics_bit_for_bit(tiny):
    def metrics(seed):
        return [(e.train_loss, e.test_loss, e.test_acc, e.test_proba.tobytes())
                for e in epochs(run(TrainConfig(**FAST, seed=seed), tiny))]

    assert metrics(7) == metrics(7)
    assert metrics(7) != metrics(8)


def test_stop_event_ends_training_within_a_batch(tiny):
    stop = threading.Event()
    gen = train_module.train(TrainConfig(**FAST), tiny, stop=stop, progress_interval=0)
    first = next(gen)
    assert isinstance(first, BatchProgress)
    stop.set()
    rest = list(gen)
    assert len(rest) == 1 and isinstance(rest[0], Finished) and rest[0].stopped


def test_pause_holds_training_until_resumed_and_stop_wakes_it(tiny):
    pause, stop = threading.Event(), threading.Event()
    gen = train_module.train(TrainConfig(**FAST), tiny, stop=stop, pause=pause, progress_interval=0)
    next(gen)
    pause.set()
    got = []
    t = threading.Thread(target=lambda: got.append(next(gen)))
    t.start()
    time.sleep(0.3)
    assert not got  # paused: no batch ran
    pause.clear()
    t.join(2)
    assert got and isinstance(got[0], BatchProgress)
    pause.set()
    threading.Timer(0.1, stop.set).start()
    t0 = time.perf_counter()
    rest = list(gen)
    assert time.perf_counter() - t0 < 1.0 and isinstance(rest[-1], Finished) and rest[-1].stopped


def test_huge_learning_rate_diverges_with_advice(tiny):
    events = run(TrainConfig(hidden=16, epochs=3, lr=10, momentum=0.99, batch_size=600), tiny)
    assert isinstance(events[-1], Diverged)
    assert "lower the learning rate" in events[-1].message


def test_tiny_learning_rate_makes_no_progress_and_does_not_crash(tiny):
    events = run(TrainConfig(hidden=8, epochs=2, lr=1e-12, momentum=0), tiny)
    ends = epochs(events)
    assert len(ends) == 2 and abs(ends[0].test_loss - ends[1].test_loss) < 1e-6
    assert isinstance(events[-1], Finished)


def test_live_learning_rate_applies_from_the_next_batch(tiny):
    live = train_module.Live()
    gen = train_module.train(TrainConfig(**FAST, schedule="constant"), tiny, live=live, progress_interval=0)
    assert next(gen).lr == 0.05
    live.lr = 0.01
    changed = next(gen)
    assert isinstance(changed, events.LiveChanged) and changed.value == 0.01
    assert next(gen).lr == 0.01


def test_memory_estimate_grows_with_the_run():
    small = resources.estimate_memory_bytes(TrainConfig(hidden=32, batch_size=64), 60000, 10000)
    big = resources.estimate_memory_bytes(TrainConfig(hidden=4096, batch_size=60000), 60000, 10000)
    assert 50e6 < small < 250e6 and big > 5e9


def test_non_finite_loss_ends_in_diverged(tiny):
    from mnist_tui.core.model import Perceptron

    model = Perceptron(8)
    model.W1[:] = 1e38  # activations overflow to inf, the loss to NaN
    events = run(TrainConfig(hidden=8, epochs=1), tiny, model=model)
    assert len(events) == 1 and isinstance(events[0], Diverged)
    assert "loss nan" in events[0].message and "lower the learning rate" in events[0].message


def test_flush_interval_keeps_velocities_out_of_the_subnormal_range():
    for mu in (0.999, 0.99, 0.9, 0.5, 0.1, 0.01, 1e-4):
        k = optim.flush_every(mu)
        assert 1 <= k <= optim.FLUSH_EVERY_MAX
        # the smallest velocity kept after a flush stays a normal float32 until the next one
        assert optim.FLUSH_BELOW * mu ** k >= np.finfo(np.float32).tiny
    assert optim.flush_every(0.0) == optim.FLUSH_EVERY_MAX


def test_trainer_announces_live_changes_at_the_batch_that_uses_them(tiny):
    live = Live()
    events = []
    for ev in train(TrainConfig(hidden=4, epochs=1, batch_size=100), tiny, live=live,
                    progress_interval=0):
        events.append(ev)
        if isinstance(ev, BatchProgress) and ev.batch == 2:
            live.lr = 0.01
    changes = [e for e in events if isinstance(e, LiveChanged)]
    assert [(c.name, c.value, c.batch) for c in changes] == [("lr", 0.01, 3)]


def test_every_batch_loss_reaches_the_progress_events(tiny):
    config = TrainConfig(hidden=4, epochs=2, batch_size=64)
    losses = [loss for ev in train(config, tiny, progress_interval=10.0)
              if isinstance(ev, BatchProgress) for loss in ev.losses]
    assert len(losses) == config.epochs * int(np.ceil(tiny.n_train / config.batch_size))


def test_weight_decay_is_bounded_and_blamed(tiny, recwarn):
    with pytest.raises(ValueError, match=r"weight decay must be a number in \[0, 1\]"):
        TrainConfig(weight_decay=1e30)
    config = TrainConfig(hidden=8, epochs=2, lr=1.0, weight_decay=0.9, batch_size=16)
    out = list(train_module.train(config, tiny))
    assert isinstance(out[-1], Diverged)
    assert "lower the weight decay" in out[-1].message
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]
