"""Comparing runs: differing config only, best value and its epoch, confusion changes."""

from __future__ import annotations

import json

import numpy as np

from mnist_tui.cli import main
from mnist_tui.core.compare import change_words, compare
from mnist_tui.core.config import TrainConfig
from mnist_tui.core.events import EpochEnd
from mnist_tui.core.store import Recorder


def _run(run_id, config, accs, confusion):
    return {"id": run_id, "status": "done", "config": config, "seconds": 1.0,
            "epochs": {"epoch": list(range(1, len(accs) + 1)), "test_acc": accs,
                       "val_acc": [None] * len(accs)},
            "confusion": confusion}


def test_only_differing_fields_the_best_epoch_and_the_cells_that_changed():
    a_cm, b_cm = np.eye(10, dtype=int) * 100, np.eye(10, dtype=int) * 100
    a_cm[4, 9], b_cm[4, 9] = 40, 9  # b makes 31 fewer 4→9 mistakes
    a_cm[7, 1], b_cm[7, 1] = 2, 5  # and 3 more 7→1
    a = _run(3, {"hidden": 128, "lr": 0.1, "seed": 0}, [0.90, 0.95, 0.93], a_cm.tolist())
    b = _run(7, {"hidden": 256, "lr": 0.1, "seed": 0}, [0.91, 0.92, 0.97], b_cm.tolist())
    r = compare([a, b])
    assert r["differing_config"] == {"hidden": [128, 256]}
    assert (r["summary"][0]["best_test_acc"], r["summary"][0]["best_epoch"]) == (0.95, 2)
    assert r["summary"][0]["last_test_acc"] == 0.93  # the best is not the last
    changes = r["confusion"][0]["changes"]
    assert changes[0] == {"true": 4, "pred": 9, "a": 40, "b": 9, "change": -31}
    assert changes[1]["change"] == 3 and len(changes) == 2
    assert change_words(changes[0], 3, 7) == "#7 makes 31 fewer 4→9 mistakes than #3 (9 vs 40)"
    assert "T-shirt→Boot" not in change_words(changes[0], 3, 7, "fashion")
    assert "Coat→Boot" in change_words(changes[0], 3, 7, "fashion")


def _record(db, config, accs):
    rec = Recorder(db, config)
    for i, acc in enumerate(accs, start=1):
        cm = np.eye(10, dtype=np.int64) * 10
        cm[4, 9] = 10 - i
        rec.epoch(EpochEnd(epoch=i, epochs=len(accs), train_loss=0.5, train_acc=acc, test_loss=0.4,
                           test_acc=acc, lr=0.1, seconds=1.0, elapsed=float(i), confusion=cm,
                           test_proba=np.zeros((1, 10)), sample_indices=(0,)))
    rec.finish("done")


def test_runs_compare_in_text_csv_and_json(tmp_path, capsys):
    db = tmp_path / "h.sqlite"
    _record(db, TrainConfig(hidden=8), [0.5, 0.7])
    _record(db, TrainConfig(hidden=8, optimizer="adam", lr=0.001), [0.6, 0.8, 0.75])
    capsys.readouterr()
    assert main(["runs", "compare", "1", "2", "--db", str(db)]) == 0
    text = capsys.readouterr().out
    differ = text.split("\n\n")[1]
    assert "optimizer" in differ and "lr" in differ and "hidden" not in differ
    assert "80.00%" in text
    assert main(["runs", "compare", "1", "2", "--db", str(db), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["summary"][1]["best_epoch"] == 2
    assert main(["runs", "compare", "1", "2", "--db", str(db), "--format", "csv"]) == 0
    csv = capsys.readouterr().out.splitlines()
    assert csv[0] == "epoch,test_acc_1,val_acc_1,test_acc_2,val_acc_2" and len(csv) == 4
    assert main(["runs", "compare", "1", "--db", str(db)]) == 2
    assert main(["runs", "compare", "1", "9", "--db", str(db)]) == 1
    assert "no run 9" in capsys.readouterr().err
