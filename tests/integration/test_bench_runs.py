"""The bench package with processes: the augmentation loader compared with the training thread."""

from __future__ import annotations

import json

from mnist_tui import bench
from mnist_tui.bench import speed


def test_augment_compares_the_loader_with_the_training_thread(tiny_dir, capsys, monkeypatch):
    monkeypatch.setattr(speed, "AUGMENT_SHAPE", (8, 64))
    assert bench.main(bench.BenchParams(augment_cost=True, rounds=1, samples=300,
                                        data_dir=str(tiny_dir))) == 0
    out = capsys.readouterr().out
    for kind in ("none", "affine (loader)", "affine (in-process)", "elastic (loader)"):
        assert kind in out


def test_augment_by_cpu_clocks_counts_the_trainer_and_the_loader(tiny_dir, capsys, monkeypatch):
    monkeypatch.setattr(speed, "AUGMENT_SHAPE", (8, 64))
    assert bench.main(bench.BenchParams(augment_cost=True, cpu=True, rounds=1, samples=300,
                                        data_dir=str(tiny_dir), json=True)) == 0
    r = json.loads(capsys.readouterr().out)
    assert set(r) == {"none", "affine (loader)", "affine (in-process)", "elastic (loader)",
                      "elastic (in-process)"}
    for key, row in r.items():
        assert row["trainer_seconds"] > 0
        if key.endswith("(loader)"):  # the loader process's CPU is counted, and bounds the epoch
            assert row["loader_seconds"] > 0
            assert row["epoch_seconds"] == max(row["trainer_seconds"], row["loader_seconds"])
        else:
            assert row["loader_seconds"] == 0
    assert r["none"]["vs_plain"] == 1.0


def test_the_history_bench_times_the_dashboards_first_frame_in_a_terminal(tmp_path, capsys):
    """`bench --history` prints the first frame of the dashboard as a user meets it: the real
    program in a pty, to the frame that shows the tab bar and the status bar, then q."""
    import os

    from mnist_tui.bench import history

    db = history.build_history(tmp_path / "runs.sqlite", runs=12, n_test=50)
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path / "xdg"), "TERM": "xterm-256color"}
    seconds = history.first_frame_seconds(db, env, limit=50)
    assert seconds is not None and 0 < seconds < 50
    history.measure_first_frame(db, rounds=1)
    out = capsys.readouterr().out
    assert "first frame of the dashboard in a terminal, an empty history: " in out
    assert "first frame of the dashboard in a terminal, runs.sqlite: " in out and "never" not in out


def test_history_flags_that_cannot_work_are_one_line_each(tmp_path, capsys):
    """A fresh user's tries (issue 23's check): --history-dir naming a file was a traceback
    (FileExistsError), --runs 10 a TimeoutError after 60 s, --runs without --history ignored."""
    from mnist_tui.cli import main

    afile = tmp_path / "a-file"
    afile.write_text("x")
    for argv, words in (
            (["--history", "--history-dir", str(afile), "--runs", "60"], "not a folder"),
            (["--history", "--history-dir", str(afile / "sub"), "--runs", "60"], "cannot make it"),
            (["--history", "--runs", "10"], "at least 50"),
            (["--runs", "10"], "go with --history"),
            (["--history-dir", str(tmp_path)], "go with --history")):
        capsys.readouterr()
        assert main(["bench", *argv]) == 2, argv
        err = capsys.readouterr().err
        assert words in err and err.count("\n") == 1 and "Traceback" not in err, (argv, err)
    assert afile.read_text() == "x"
