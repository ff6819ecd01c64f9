"""Suspect labels: samples several different runs get confidently wrong, and wrong alike."""

from __future__ import annotations

import csv
import io
import json

import pytest
from helpers import add_fake_run as add_run  # noqa: E402

from mnist_tui.cli import main
from mnist_tui.core import suspects
from mnist_tui.core.store import Store


@pytest.fixture
def history(tmp_path):
    db = tmp_path / "h.sqlite"
    # sample 1: four runs say 7, three of them sure  -> suspect (3 agree)
    # sample 2: three runs sure, but say 7, 7, 8     -> not (only 2 agree)
    # sample 3: three runs say 5 at p 0.85           -> not sure enough (at 0.9)
    # sample 0, 4, 5: right
    runs = [
        ([0, 7, 7, 5, 4, 5], [0.99, 0.95, 0.97, 0.85, 0.99, 0.99]),
        ([0, 7, 7, 5, 4, 5], [0.99, 0.91, 0.92, 0.85, 0.99, 0.99]),
        ([0, 7, 8, 5, 4, 5], [0.99, 0.90, 0.95, 0.85, 0.99, 0.99]),
        ([0, 7, 2, 3, 4, 5], [0.99, 0.60, 0.99, 0.99, 0.99, 0.99]),
    ]
    ids = [add_run(db, seed, *r) for seed, r in enumerate(runs)]
    # not evidence: the same config again, a diverged run, a Fashion run
    add_run(db, 0, [0, 7, 7, 5, 4, 5], [0.99] * 6)
    add_run(db, 9, [0, 7, 7, 5, 4, 5], [0.99] * 6, status="diverged")
    add_run(db, 8, [0, 7, 7, 5, 4, 5], [0.99] * 6, dataset="fashion")
    return db, ids


def test_suspects_by_hand(history):
    db, ids = history
    with Store(db, readonly=True) as s:
        found, evidence = suspects.find(s)
        assert [f.index for f in found] == [1]
        f = found[0]
        assert (f.label, f.runs_say, f.agree) == (1, 7, 3)
        # runs counted: the four, plus the newest duplicate of seed 0's config (not the older)
        assert f.runs == 4 and len(evidence.run_ids) == 4 and ids[0] not in evidence.run_ids
        assert f.mean_confidence == pytest.approx((0.99 + 0.91 + 0.90) / 3, abs=1e-4)
        assert [f.index for f in suspects.find(s, min_conf=0.8)[0]] == [1, 3]
        assert [f.index for f in suspects.find(s, min_runs=2)[0]] == [1, 2]
        assert suspects.find(s, min_runs=5)[0] == []


def test_suspects_cli_formats_and_marks(history, capsys):
    db, _ = history
    assert main(["suspects", "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert "1 suspect label" in out and "3/4" in out
    assert main(["suspects", "--db", str(db), "--mark", "1=label", "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["suspects"][0]["index"] == 1 and doc["suspects"][0]["mark"] == "label looks wrong"
    assert doc["suspects"][0]["agreement"] == 0.75
    assert main(["suspects", "--db", str(db), "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert rows[0]["index"] == "1" and rows[0]["runs_say"] == "7" and rows[0]["mark"] == "label looks wrong"
    assert main(["suspects", "--db", str(db), "--mark", "1=none", "--format", "csv"]) == 0
    assert list(csv.DictReader(io.StringIO(capsys.readouterr().out)))[0]["mark"] == ""
    for bad in ("x=label", "1=maybe", "-3=label", "10000=model"):
        assert main(["suspects", "--db", str(db), f"--mark={bad}"]) == 2
        err = capsys.readouterr().err
        assert err.startswith("mnist-tui: --mark") and err.count("\n") == 1


def test_suspects_with_too_few_runs_say_what_to_do(tmp_path, capsys):
    assert main(["suspects", "--db", str(tmp_path / "none.sqlite")]) == 0
    assert "mnist-tui train --seed" in capsys.readouterr().out
    assert not (tmp_path / "none.sqlite").exists()


def test_suspects_output_to_a_file(history, tmp_path, capsys):
    db, _ = history
    out = tmp_path / "s.csv"
    assert main(["suspects", "--db", str(db), "--format", "csv", "--output", str(out),
                 "--runs", "3", "--confidence", "0.9"]) == 0
    assert capsys.readouterr().out == ""
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert [r["index"] for r in rows] == ["1"]
    assert main(["suspects", "--db", str(db), "--output", str(tmp_path / "no" / "dir.csv")]) == 1
    assert capsys.readouterr().err.count("\n") == 1


def test_stopped_short_racers_do_not_displace_the_finished_runs(tmp_path):
    """Issue 20: three finished runs agree on a suspect; then the same three configs were
    raced and stopped after 1 of their epochs (newer, and saying something else). Only runs
    that ran their planned epochs count, so the finished ones still do."""
    from helpers import FAKE_LABELS, fake_epoch

    from mnist_tui.core.config import TrainConfig

    db = tmp_path / "h.sqlite"
    done = [add_run(db, seed, [0, 7, 2, 3, 4, 5], [0.99, 0.95, 0.99, 0.99, 0.99, 0.99])
            for seed in range(3)]
    s = Store(db)
    stopped = []
    for seed in range(3):  # TrainConfig(seed=…) is the fake runs' config: identical keys
        rid = s.start_run(TrainConfig(seed=seed))
        s.set_labels(rid, FAKE_LABELS)
        ev = fake_epoch([0, 1, 2, 3, 4, 5], [0.5] * 6)
        s.add_epoch(rid, ev, 1)
        s.add_predictions(rid, ev, 1)
        s.finish_run(rid, "stopped")
        stopped.append(rid)
    found, evidence = suspects.find(s)
    s.close()
    assert sorted(evidence.run_ids) == sorted(done)
    assert [f.index for f in found] == [1] and found[0].agree == 3


def test_a_stopped_run_that_ran_its_planned_epochs_counts(tmp_path):
    from helpers import FAKE_LABELS, fake_epoch

    from mnist_tui.core.config import TrainConfig

    db = tmp_path / "h.sqlite"
    s = Store(db)
    ids = []
    for seed in range(3):
        rid = s.start_run(TrainConfig(seed=seed, epochs=1))
        s.set_labels(rid, FAKE_LABELS)
        ev = fake_epoch([0, 7, 2, 3, 4, 5], [0.99] * 6)
        s.add_epoch(rid, ev, 1)
        s.add_predictions(rid, ev, 1)
        s.finish_run(rid, "stopped" if seed else "pruned")  # stopped / pruned at its last epoch
        ids.append(rid)
    found, evidence = suspects.find(s)
    s.close()
    assert sorted(evidence.run_ids) == ids and [f.index for f in found] == [1]
