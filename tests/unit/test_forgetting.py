"""Forgetting statistics on a prediction matrix worked out by hand."""

from __future__ import annotations

import numpy as np

from mnist_tui.core.forgetting import analyse

# 5 samples, labels 0..4; rows are epochs 1..4; each sample's story:
#   s0 right always                     learned at 1, 0 forgettings
#   s1 wrong, right, right, right       learned at 2
#   s2 right, wrong, right, wrong       forgotten twice, wrong at the end
#   s3 wrong always                     never learned
#   s4 wrong, wrong, wrong, right       learned at 4: late (after epoch 2 of 4)
LABELS = np.array([0, 1, 2, 3, 4])
P = np.array([
    [0, 9, 2, 9, 9],
    [0, 1, 9, 9, 9],
    [0, 1, 2, 9, 9],
    [0, 1, 9, 9, 4],
], dtype=np.uint8)


def test_counts_by_hand():
    f = analyse(P, LABELS)
    assert f.learned_at.tolist() == [1, 2, 0, 0, 4]
    assert f.forgettings.tolist() == [0, 0, 2, 0, 0]
    assert f.mask("never learned").tolist() == [False, False, False, True, False]
    assert f.mask("learned late").tolist() == [False, False, False, False, True]
    assert f.mask("flip-flopping").tolist() == [False, False, True, False, False]
    assert f.mask("forgotten").tolist() == [False, False, True, False, False]
    assert f.counts() == {"never learned": 1, "learned late": 1, "flip-flopping": 1,
                          "forgotten": 1, "forgetting events": 2, "samples": 5, "epochs": 4}
    assert f.timeline(2) == "✓✗✓✗"


def test_a_run_keeps_its_predictions_and_runs_show_reports_the_counts(tiny_dir, tmp_path, capsys):
    import json

    from mnist_tui.cli import main
    from mnist_tui.core.store import Store

    db = tmp_path / "h.sqlite"
    assert main(["train", "--data-dir", str(tiny_dir), "--epochs", "3", "--hidden", "4",
                 "--lr", "0.02", "--db", str(db)]) == 0
    with Store(db, readonly=True) as s:
        P, y = s.predictions(1)
        run = s.run(1)
    assert P.shape == (3, 200) and P.dtype == np.uint8 and len(y) == 200
    assert run["forgetting"] == analyse(P, y).counts()
    capsys.readouterr()
    assert main(["runs", "show", "1", "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert f"{run['forgetting']['never learned']} never learned" in out
    assert main(["runs", "export", "1", "--format", "json", "--db", str(db)]) == 0
    assert json.loads(capsys.readouterr().out)["forgetting"]["epochs"] == 3
