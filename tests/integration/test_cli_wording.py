"""Issue 20 §8: what the CLI says (run ids, plurals, exit codes, one name per field)."""

from __future__ import annotations

import json

import pytest

from mnist_tui.cli import main
from mnist_tui.core.store import Store

ONE = ["--hidden", "8", "--epochs", "1", "--batch-size", "32"]


def test_train_json_done_has_the_run_id(tiny_dir, tmp_path, capsys):
    db = tmp_path / "h.sqlite"
    assert main(["train", *ONE, "--data-dir", str(tiny_dir), "--json", "--db", str(db)]) == 0
    done = [json.loads(line) for line in capsys.readouterr().out.splitlines()][-1]
    assert done["event"] == "done"
    with Store(db, readonly=True) as s:
        assert done["run_id"] == s.runs()[0]["id"]


def test_one_epoch_is_singular_in_train_and_runs_show(tiny_dir, tmp_path, capsys):
    db = tmp_path / "h.sqlite"
    assert main(["train", *ONE, "--data-dir", str(tiny_dir), "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert "after 1 epoch," in out and "1 epochs" not in out, out
    assert main(["runs", "show", "1", "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert "1 epochs" not in out and "over 1 epoch" in out, out


def test_one_epoch_is_singular_in_sweep(tiny_dir, tmp_path, capsys):
    db = tmp_path / "h.sqlite"
    code = main(["sweep", "--trials", "1", "--workers", "1", "--epochs", "1", "--val-split", "100",
                 "--hidden", "8", "--batch-size", "64", "--data-dir", str(tiny_dir), "--db", str(db)])
    out = capsys.readouterr().out
    assert code == 0 and "1 epochs" not in out and "1 epoch each" in out, out


def test_bench_target_not_reached_exits_non_zero(tiny_dir, capsys):
    code = main(["bench", "--target", "0.999", "--seeds", "1", "--epochs", "1", "--hidden", "8",
                 "--data-dir", str(tiny_dir)])
    out = capsys.readouterr().out
    assert "no seed reached" in out and code != 0


def test_race_help_and_errors_name_fields_by_their_flags(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "1000")  # argparse wraps at hyphens otherwise
    with pytest.raises(SystemExit):
        main(["race", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    field = help_text.split(" field ", 1)[1].split(" values ", 1)[0]  # the FIELD argument's help
    assert "batch-size" in field and "weight-decay" in field and "val-split" in field, field
    assert "batch," not in field and " decay," not in field and "val_split" not in field, field
    assert main(["race", "colour", "1,2"]) == 2
    err = capsys.readouterr().err
    assert "batch-size" in err and "batch_size" not in err and "val_split" not in err, err


def test_suspects_mark_says_marked_not_the_list(tmp_path, capsys):
    from helpers import add_fake_run

    db = tmp_path / "h.sqlite"
    for seed in range(3):
        add_fake_run(db, seed, [0, 7, 2, 3, 4, 5], [0.99, 0.95, 0.99, 0.99, 0.99, 0.99])
    assert main(["suspects", "--db", str(db), "--mark", "1=label"]) == 0
    out = capsys.readouterr().out
    assert "marked" in out.lower() and "#1" in out and "agree" not in out, out


def test_units_says_percentage_points(tiny_dir, tmp_path, capsys):
    ck = tmp_path / "ck.npz"
    assert main(["train", *ONE, "--data-dir", str(tiny_dir), "--save", str(ck)]) == 0
    capsys.readouterr()
    assert main(["units", str(ck), "--data-dir", str(tiny_dir)]) == 0
    out = capsys.readouterr().out
    header, first = out.split("unit ", 1)[1].splitlines()[:2]
    change = first[first.index(first.split()[2]) + len(first.split()[2]):]  # after "votes for"
    assert "pp" in change and "%" not in change, out


def test_data_dir_and_db_help_show_paths_the_same_way(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "1000")
    with pytest.raises(SystemExit):
        main(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "$XDG_CACHE_HOME/mnist-tui" in text and "$XDG_DATA_HOME/mnist-tui/runs.sqlite" in text
    assert "~/.cache/mnist-tui" in text and "~/.local/share/mnist-tui/runs.sqlite" in text


def test_runs_list_shows_the_seed_round_floats_and_no_time_without_an_epoch(tmp_path, capsys):
    from helpers import fake_epoch

    from mnist_tui.core.config import TrainConfig
    from mnist_tui.core.events import LiveChanged

    db = tmp_path / "h.sqlite"
    with Store(db) as s:
        a = s.start_run(TrainConfig(lr=0.0646642271741456, seed=7))
        s.add_epoch(a, fake_epoch([0, 1, 2, 3, 4, 5], [0.9] * 6, 1))
        s.add_live_change(a, LiveChanged(1, 3, "lr", 0.05))
        s.finish_run(a, "diverged")
        b = s.start_run(TrainConfig(seed=3))
        s.finish_run(b, "stopped")
    assert main(["runs", "list", "--db", str(db)]) == 0
    out = capsys.readouterr().out
    lines = {int(line.split()[0]): line for line in out.splitlines()[1:]}
    assert "seed" in out.splitlines()[0] and " 7 " in lines[a] and " 3 " in lines[b], out
    assert "lr=0.0647→0.05" in lines[a] and "0.0646642" not in out, out
    assert "0.0s" not in lines[b] and "--s" not in lines[b], out
