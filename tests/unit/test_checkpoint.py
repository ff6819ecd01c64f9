"""Checkpoints: a round trip, and each kind of bad file refused with a clear reason."""

from __future__ import annotations

import numpy as np
import pytest

from mnist_tui.core import checkpoint
from mnist_tui.core.checkpoint import CheckpointError
from mnist_tui.core.config import TrainConfig
from mnist_tui.core.model import Perceptron

HIST = {"epoch": [1, 2], "train_loss": [0.5, 0.3], "train_acc": [0.8, 0.9], "test_loss": [0.4, 0.3],
        "test_acc": [0.85, 0.9], "lr": [0.1, 0.05], "seconds": [1.0, 1.1]}


@pytest.fixture
def saved(tmp_path):
    model = Perceptron(12, seed=5)
    path = checkpoint.save(tmp_path / "run.npz", model, TrainConfig(hidden=12, seed=5), HIST)
    return path, model


def test_round_trip(saved):
    path, model = saved
    loaded, config, history = checkpoint.load(path)
    assert config == TrainConfig(hidden=12, seed=5)
    for k, p in model.params().items():
        np.testing.assert_array_equal(getattr(loaded, k), p)
    assert history["test_acc"] == [0.85, 0.9]
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".")]  # no temp left behind


def _rewrite(path, **changes):
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files}
    for k, v in changes.items():
        if v is None:
            arrays.pop(k)
        else:
            arrays[k] = v
    np.savez(path, **arrays)
    return path


@pytest.mark.parametrize(
    "make, words",
    [
        (lambda p: p.write_bytes(p.read_bytes()[:200]) and p, "not a valid .npz"),
        (lambda p: _rewrite(p, W1=np.zeros((784, 5), np.float32)), "W1 has shape (784, 5), expected (784, 12)"),
        (lambda p: _rewrite(p, W2=np.zeros((12, 9), np.float32)), "W2 has shape (12, 9)"),
        (lambda p: _rewrite(p, b1=None), "missing b1"),
        (lambda p: _rewrite(p, config=None), "missing config"),
        (lambda p: _rewrite(p, b2=np.array([object()] * 10, dtype=object)), "pickled objects"),
        (lambda p: p.write_text("hello, I am not an npz") and p, "no zip header"),
        (lambda p: _rewrite(p, b2=np.full(10, np.nan, np.float32)), "NaN"),
        (lambda p: _rewrite(p, config=np.array('{"hidden": 12, "lr": -1}')), "bad config"),
    ],
)
def test_bad_checkpoints_are_refused(saved, make, words):
    path, _ = saved
    make(path)
    with pytest.raises(CheckpointError) as e:
        checkpoint.load(path)
    assert words in str(e.value) and str(path) in str(e.value)


def test_a_different_hidden_size_is_refused_when_one_is_expected(saved):
    with pytest.raises(CheckpointError, match="has 12 hidden units, expected 128"):
        checkpoint.load(saved[0], expect_hidden=128)


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(CheckpointError, match="not found"):
        checkpoint.load(tmp_path / "nope.npz")
    with pytest.raises(CheckpointError):
        checkpoint.load(tmp_path)


def test_a_checkpoint_that_cannot_be_written_is_an_error_and_leaves_nothing(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("a file, not a directory")
    with pytest.raises(checkpoint.CheckpointError, match="cannot write"):
        checkpoint.save(blocker / "run.npz", Perceptron(4), TrainConfig(hidden=4), {})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


def test_saving_over_a_checkpoint_replaces_it_whole(tmp_path):
    path = tmp_path / "run.npz"
    checkpoint.save(path, Perceptron(4, seed=1), TrainConfig(hidden=4), {})
    checkpoint.save(path, Perceptron(8, seed=2), TrainConfig(hidden=8), {})
    model, config, _ = checkpoint.load(path)
    assert config.hidden == 8 and model.W1.shape == (784, 8)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.npz"]
    np.testing.assert_array_equal(model.W1, Perceptron(8, seed=2).W1)


# --- hostile files: refused in under 1 s with under 100 MB of extra memory --------------------

PROBE = """
import json, resource, sys, time
from mnist_tui.core import checkpoint
import tracemalloc
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
tracemalloc.start()  # ru_maxrss is a high-water mark that imports may already have passed
t0 = time.perf_counter()
try:
    checkpoint.load(sys.argv[1])
    error = None
except checkpoint.CheckpointError as e:
    error = str(e)
print(json.dumps({"error": error, "seconds": time.perf_counter() - t0,
                  "grown_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before,
                  "traced_peak_kb": tracemalloc.get_traced_memory()[1] / 1024}))
"""


def test_a_fifo_is_refused_at_once_not_waited_on(tmp_path):
    import os
    import threading

    fifo = tmp_path / "f.npz"
    os.mkfifo(fifo)
    result = []
    t = threading.Thread(target=lambda: result.append(_error(fifo)), daemon=True)
    t.start()
    t.join(2.0)
    if t.is_alive():  # unblock the thread's open() before failing
        os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        pytest.fail("load() blocked on a FIFO")
    assert "not a regular file" in result[0]


def _error(path) -> str:
    try:
        checkpoint.load(path)
    except checkpoint.CheckpointError as e:
        return str(e)
    return ""
