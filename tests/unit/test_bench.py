"""The bench package: typed parameters, and each mode's figures on the tiny dataset (timings
are printed, never asserted: the tests check the figures are there and consistent)."""

from __future__ import annotations

import json

import pytest

from mnist_tui import bench
from mnist_tui.bench import speed
from mnist_tui.core.config import OPTIMIZERS, TrainConfig


def test_params_are_typed_and_built_from_options_without_argparse(tiny_dir, capsys):
    p = bench.BenchParams.from_options({"hidden": 16, "grid": True, "optimizers": True,
                                        "epochs": None, "unrelated": 1})
    assert (p.hidden, p.grid, p.optimizers, p.epochs) == (16, True, True, None)
    assert p.train_config() == TrainConfig(hidden=16, batch_size=64)
    run = TrainConfig(hidden=32, lr=0.2, schedule="constant")
    assert bench.BenchParams(config=run).train_config() is run  # --target takes every training flag
    with pytest.raises(AttributeError):
        p.hidden = 3  # frozen
    assert bench.main({"json": True, "samples": 100, "epochs": 1, "hidden": 4, "batch_size": 50,
                       "rounds": 1, "data_dir": str(tiny_dir)}) == 0
    r = json.loads(capsys.readouterr().out)
    assert (r["hidden"], r["batch_size"], r["samples"]) == (4, 50, 100)


def test_the_bench_command_builds_typed_params_and_target_takes_every_training_flag():
    from mnist_tui.cli import build_parser
    from mnist_tui.cli.commands import bench as command

    args = build_parser().parse_args(["bench", "--target", "0.98", "--hidden", "256",
                                      "--batch-size", "128", "--epochs", "4", "--lr", "0.2",
                                      "--schedule", "constant", "--momentum", "0.85"])
    p = command.params(args)
    assert isinstance(p, bench.BenchParams) and p.target == 0.98
    assert p.train_config() == TrainConfig(hidden=256, batch_size=128, epochs=4, lr=0.2,
                                           schedule="constant", momentum=0.85)
    adam = command.params(build_parser().parse_args(["bench", "--target", "0.9", "--optimizer", "adam"]))
    assert adam.train_config().lr == 0.001 and adam.train_config().epochs == 10  # adam's own lr
    grid = command.params(build_parser().parse_args(["bench", "--optimizers", "--grid", "--cpu"]))
    assert (grid.optimizers, grid.grid, grid.cpu, grid.config) == (True, True, True, None)


def test_grid_times_every_optimizer_at_every_shape(tiny_dir, capsys, monkeypatch):
    monkeypatch.setattr(speed, "GRID_HIDDEN", (4, 8))
    monkeypatch.setattr(speed, "GRID_BATCH", (16, 64))
    p = bench.BenchParams(optimizers=True, grid=True, rounds=2, samples=200, data_dir=str(tiny_dir))
    assert bench.main(p) == 0
    out = capsys.readouterr().out
    assert "worst cell: x" in out and "load average" in out
    assert bench.main(p.with_(json=True)) == 0
    r = json.loads(capsys.readouterr().out)
    assert [(c["hidden"], c["batch_size"]) for c in r["cells"]] == [(4, 16), (4, 64), (8, 16), (8, 64)]
    for c in r["cells"]:
        assert set(c["optimizers"]) == set(OPTIMIZERS)
        assert c["optimizers"]["momentum"]["vs_momentum"] == 1.0
    assert r["worst_ratio"] == max(c["optimizers"][c["worst"]]["vs_momentum"] for c in r["cells"])


def test_target_reports_the_final_accuracy_of_every_seed(tiny_dir, capsys):
    config = TrainConfig(hidden=16, epochs=4, lr=0.05, schedule="constant")
    p = bench.BenchParams(target=0.5, seeds=2, config=config, data_dir=str(tiny_dir), json=True)
    assert bench.main(p) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["config"]["schedule"] == "constant" and r["config"]["lr"] == 0.05
    for row in r["runs"]:
        assert row["epochs_run"] == 4 and 0 <= row["final_acc"] <= 1
    assert r["final_acc_min"] == min(row["final_acc"] for row in r["runs"])


def test_profile_splits_the_step_and_its_replica_matches_the_model(tiny_dir, capsys, monkeypatch):
    from mnist_tui.bench import profile

    monkeypatch.setattr(profile, "PROFILE_SHAPES", ((8, 32),))
    monkeypatch.setattr(profile, "UPDATE_HIDDEN", (8,))
    assert bench.main(bench.BenchParams(profile=True, samples=300, rounds=1,
                                        data_dir=str(tiny_dir), json=True)) == 0
    (row,) = json.loads(capsys.readouterr().out)["shapes"]
    assert set(row["parts_us"]) == set(profile.PARTS)
    assert all(v >= 0 for v in row["parts_us"].values())
    assert row["parts_us"]["matmul"] > 0 and row["step_us"] > 0


def test_profile_times_every_update_rule_alone():
    from mnist_tui.bench import profile
    from mnist_tui.core.optim import OPTIMIZERS

    rows = profile.update_costs(hidden_sizes=(8, 16), steps=2, repeats=1)
    assert [r["hidden"] for r in rows] == [8, 16]
    assert rows[0]["params"] == 784 * 8 + 8 + 8 * 10 + 10
    for r in rows:
        assert set(r["update_us"]) == set(OPTIMIZERS) and all(v > 0 for v in r["update_us"].values())
        assert r["vs_momentum"]["momentum"] == 1.0
    lines = profile.update_table(rows)
    assert len(lines) == 4 and "adamw" in lines[1]


def test_vs_torch_says_how_to_get_torch_when_it_is_missing(tiny_dir, capsys, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_torch(name, *args, **kwargs):
        if name == "torch" or name.startswith("torch."):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_torch)
    assert bench.main(bench.BenchParams(vs_torch=True, samples=100, data_dir=str(tiny_dir))) == 0
    assert "pip install torch==2.13.0" in capsys.readouterr().out


def test_target_on_the_cpu_clock_counts_training_only(tiny_dir, capsys):
    config = TrainConfig(hidden=16, epochs=3, lr=0.05)
    p = bench.BenchParams(target=0.5, seeds=1, config=config, data_dir=str(tiny_dir), json=True)
    assert bench.main(p.with_(cpu=True)) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["clock"].startswith("thread CPU time")
    (row,) = r["runs"]
    assert row["reached"] and 0 < row["seconds"] <= row["total_seconds"]


def test_the_fast_recipe_fills_the_fields_not_given():
    from mnist_tui.cli import build_parser
    from mnist_tui.cli.commands import bench as command
    from mnist_tui.cli.options import config_from_args
    from mnist_tui.core.config import RECIPES

    parse = build_parser().parse_args
    fast = config_from_args(parse(["train", "--recipe", "fast"]))
    assert {k: getattr(fast, k) for k in RECIPES["fast"]} == RECIPES["fast"]
    mine = config_from_args(parse(["train", "--recipe", "fast", "--epochs", "3", "--lr", "0.05"]))
    assert (mine.epochs, mine.lr, mine.hidden) == (3, 0.05, 256)
    assert config_from_args(parse(["train"])) == TrainConfig()
    target = command.params(parse(["bench", "--target", "0.98", "--recipe", "fast"]))
    assert target.train_config() == fast


def test_a_report_is_drawn_by_the_first_draw_at_or_after_it():
    """bench --attach's chart delay: a draw shows every report up to its own (epoch, batch)."""
    from mnist_tui.bench.attach import _drawn_delays

    taken = {(1, 10): 0.0, (1, 20): 1.0, (1, 30): 2.0, (2, 5): 3.0}
    drawn = {(1, 20): 1.5, (2, 5): 3.25}
    assert _drawn_delays(taken, drawn) == [1.5, 0.5, 1.25, 0.25]
    assert _drawn_delays(taken, {}) == []  # nothing drawn: no delay, not a zero
