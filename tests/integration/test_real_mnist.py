"""Training on the real MNIST files: the accuracy reached, and suspects across real runs."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mnist_tui.cli import main
from mnist_tui.core import data
from mnist_tui.core import train as train_module
from mnist_tui.core.checkpoint import load
from mnist_tui.core.config import TrainConfig
from mnist_tui.core.events import EpochEnd


@pytest.mark.slow
@pytest.mark.real_data
def test_real_runs_flag_only_what_each_of_them_gets_sure_and_wrong(tmp_path, capsys):
    """Three short real MNIST runs (different seeds); every suspect reported is checked against
    the runs' own saved weights."""
    db = tmp_path / "h.sqlite"
    models = []
    for seed in (1, 2, 3):
        ck = tmp_path / f"s{seed}.npz"
        assert main(["train", "--hidden", "64", "--epochs", "4", "--seed", str(seed), "--db",
                     str(db), "--save", str(ck)]) == 0
        models.append(load(ck)[0])
    capsys.readouterr()
    assert main(["suspects", "--db", str(db), "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert len(doc["runs"]) == 3
    from mnist_tui.core import data

    ds = data.load_dir(data.PACKAGE_DATA_DIR)
    X = ds.test_images.astype(np.float32) / 255
    probas = [m.forward(X) for m in models]
    flagged = {s["index"] for s in doc["suspects"]}
    for s in doc["suspects"]:
        assert s["label"] == ds.test_labels[s["index"]] and s["agree"] == 3
        for p in probas:
            assert p[s["index"]].argmax() == s["runs_say"] != s["label"]
            assert p[s["index"]].max() >= 0.9 - 1e-4
    # and nothing is missed: every sample all three get sure and wrong alike is flagged
    sure_wrong = [(p.argmax(1) != ds.test_labels) & (p.max(1) >= 0.9 + 1e-4) for p in probas]
    same = (probas[0].argmax(1) == probas[1].argmax(1)) & (probas[1].argmax(1) == probas[2].argmax(1))
    expected = set(np.flatnonzero(sure_wrong[0] & sure_wrong[1] & sure_wrong[2] & same).tolist())
    assert expected <= flagged and len(flagged) > 0


def run(config, ds, **kw):
    return list(train_module.train(config, ds, **kw))


def epochs(events):
    return [e for e in events if isinstance(e, EpochEnd)]


@pytest.mark.slow
@pytest.mark.real_data
def test_real_mnist_reaches_97_percent_in_a_few_epochs():
    ds = data.load_dir(data.PACKAGE_DATA_DIR)
    events = run(TrainConfig(hidden=128, epochs=3), ds)
    last = epochs(events)[-1]
    print(f"real MNIST, 3 epochs: test accuracy {last.test_acc:.4f} in {events[-1].seconds:.2f}s")
    assert last.test_acc > 0.97
