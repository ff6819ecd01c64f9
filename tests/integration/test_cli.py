"""The headless CLI: output, JSON lines, checkpoints, and one-line errors with the right exit codes."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from helpers import readline_within

from mnist_tui.cli import main
from mnist_tui.core import checkpoint

QUICK = ["--hidden", "16", "--epochs", "2", "--batch-size", "32"]


def test_train_prints_a_line_per_epoch(tiny_dir, capsys):
    assert main(["train", *QUICK, "--data-dir", str(tiny_dir)]) == 0
    out = capsys.readouterr().out
    assert out.count("epoch ") == 2 and "test loss" in out and "done: test accuracy" in out


def test_train_gives_its_caller_its_signal_handlers_back(tiny_dir, tmp_path):
    """A script or test calling main() keeps its own handlers: train sets SIG_IGN around its
    save and turns SIGTERM and SIGHUP into Ctrl-C while it runs."""
    import signal

    def mine(sig, frame):
        pass

    watched = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    before = {sig: signal.signal(sig, mine) for sig in watched}
    try:
        assert main(["train", *QUICK, "--data-dir", str(tiny_dir), "--db",
                     str(tmp_path / "h.sqlite"), "--save", str(tmp_path / "ck.npz")]) == 0
        assert [signal.getsignal(sig) for sig in watched] == [mine] * 3
    finally:
        for sig, handler in before.items():
            signal.signal(sig, handler)


def test_train_json_lines_and_save(tiny_dir, tmp_path, capsys):
    save = tmp_path / "ck.npz"
    assert main(["train", *QUICK, "--data-dir", str(tiny_dir), "--json", "--save", str(save)]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [e["event"] for e in lines] == ["epoch", "epoch", "done"]
    keys = {"epoch", "train_loss", "train_acc", "test_loss", "test_acc", "lr", "seconds"}
    assert keys <= set(lines[0]) and lines[-1]["seconds"] > 0 and 0 <= lines[-1]["test_acc"] <= 1
    model, config, history = checkpoint.load(save)
    assert config.hidden == 16 and history["test_acc"] == [lines[0]["test_acc"], lines[1]["test_acc"]]
    with np.load(save, allow_pickle=False) as z:
        assert {"W1", "b1", "W2", "b2", "config"} <= set(z.files)


@pytest.mark.parametrize(
    "args, words",
    [
        (["--hidden", "0"], "--hidden"), (["--hidden", "x"], "--hidden"), (["--epochs", "-3"], "--epochs"),
        (["--batch-size", "2.5"], "--batch-size"), (["--lr", "nan"], "--lr"), (["--lr", "inf"], "--lr"),
        (["--lr", "0"], "--lr"), (["--momentum", "1"], "--momentum"), (["--weight-decay", "-1"], "--weight-decay"),
        (["--schedule", "linear"], "--schedule"), (["--seed", "-1"], "--seed"), (["--bogus"], "unrecognized"),
        (["--hidden", "99999999999999999999999"], "(got 99999999999999999999999)"),
        (["--weight-decay", "1e30"], "weight decay must be a number in [0, 1]"),
    ],
)
def test_invalid_flags_exit_2_with_one_line(args, words, capsys):
    with pytest.raises(SystemExit) as e:
        main(["train", *args])
    err = capsys.readouterr().err
    assert e.value.code == 2 and words in err and err.count("\n") == 1 and "Traceback" not in err


def test_batch_larger_than_training_set_exits_2(tiny_dir, capsys):
    assert main(["train", "--batch-size", "601", "--data-dir", str(tiny_dir)]) == 2
    assert "larger than the training set (600 samples)" in capsys.readouterr().err


def test_impossible_memory_is_refused_with_an_estimate(tiny_dir, capsys, monkeypatch):
    from mnist_tui.core import resources

    monkeypatch.setattr(resources, "available_memory_bytes", lambda: 10 * 2**20)
    assert main(["train", "--hidden", "4096", "--batch-size", "600", "--data-dir", str(tiny_dir)]) == 2
    assert "needs about" in capsys.readouterr().err


def test_data_error_exits_1(tmp_path, capsys):
    assert main(["train", "--data-dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "train-images-idx3-ubyte.gz: file not found" in err and err.count("\n") == 1


def test_divergence_exits_3_and_mentions_the_learning_rate(tiny_dir, capsys):
    code = main(["train", "--lr", "10", "--momentum", "0.99", "--hidden", "16", "--batch-size", "600",
                 "--epochs", "3", "--data-dir", str(tiny_dir)])
    assert code == 3 and "learning rate" in capsys.readouterr().err


def test_bad_checkpoint_in_app_flags_exits_1_without_opening_the_app(tmp_path, capsys):
    bad = tmp_path / "bad.npz"
    bad.write_text("nope")
    assert main(["--load", str(bad), "--data-dir", str(tmp_path)]) == 1
    assert "no zip header" in capsys.readouterr().err


@pytest.mark.parametrize("cmd", [[], ["train"], ["download"], ["bench"], ["serve"], ["runs"], ["runs", "list"],
                                 ["runs", "show"], ["runs", "export"], ["attach"], ["runs", "stop"]])
def test_help_explains_every_flag_with_its_default(cmd):
    r = subprocess.run([sys.executable, "-m", "mnist_tui", *cmd, "--help"], capture_output=True, text=True)
    assert r.returncode == 0 and "usage: mnist-tui" in r.stdout
    for line in r.stdout.split("options:")[1].split("\n  -")[1:]:
        if not line.startswith(("h, --help", "-help", "-version")):
            assert "default" in line, line


def test_version():
    r = subprocess.run([sys.executable, "-m", "mnist_tui", "--version"], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.startswith("mnist-tui 0.")


def test_runs_are_recorded_listed_shown_and_exported(tiny_dir, tmp_path, capsys):
    db = str(tmp_path / "h.sqlite")
    assert main(["train", *QUICK, "--data-dir", str(tiny_dir), "--db", db]) == 0
    assert main(["train", "--lr", "10", "--momentum", "0.99", "--hidden", "16", "--batch-size", "600",
                 "--epochs", "3", "--data-dir", str(tiny_dir), "--db", db]) == 3
    capsys.readouterr()
    assert main(["runs", "list", "--db", db]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:3] == ["id", "started", "status"]  # a header row
    assert len(lines) == 3 and "diverged" in lines[1] and "done" in lines[2]
    assert main(["runs", "show", "1", "--db", db]) == 0
    shown = capsys.readouterr().out
    assert "test accuracy: best" in shown and "confusion matrix" in shown
    # Each field by the name of its flag, as train, race and sweep say it (issue 20, item 8).
    assert "batch-size=32" in shown and "weight-decay=" in shown and "val-split=" in shown
    assert "batch_size" not in shown and "weight_decay" not in shown
    assert len([ln for ln in shown.splitlines() if ln.lstrip().startswith(("1 ", "2 "))]) >= 2
    assert main(["runs", "export", "1", "--format", "csv", "--db", db]) == 0
    csv_lines = capsys.readouterr().out.splitlines()
    assert csv_lines[0].startswith("run_id,epoch,train_loss") and len(csv_lines) == 3
    out = tmp_path / "run.json"
    assert main(["runs", "export", "1", "--format", "json", "--output", str(out), "--db", db]) == 0
    run = json.loads(out.read_text())
    assert run["config"]["hidden"] == 16 and run["epochs"]["epoch"] == [1, 2]
    assert main(["runs", "show", "99", "--db", db]) == 1
    assert "no run 99" in capsys.readouterr().err


def test_a_corrupt_history_warns_and_training_goes_on(tiny_dir, tmp_path, capsys):
    db = tmp_path / "h.sqlite"
    db.write_bytes(b"garbage" * 50)
    assert main(["train", *QUICK, "--data-dir", str(tiny_dir), "--db", str(db)]) == 0
    captured = capsys.readouterr()
    assert "done: test accuracy" in captured.out
    assert "not recording this run" in captured.err and "not a valid SQLite database" in captured.err
    assert db.read_bytes() == b"garbage" * 50
    assert main(["runs", "list", "--db", str(db)]) == 1


def test_flags_before_the_subcommand_are_kept(tiny_dir, tmp_path, capsys):
    db = str(tmp_path / "h.sqlite")
    assert main(["--epochs", "1", "--hidden", "8", "--data-dir", str(tiny_dir), "--db", db, "train"]) == 0
    out = capsys.readouterr().out
    assert "hidden=8 epochs=1" in out and out.count("\nepoch ") == 1
    assert main(["runs", "--db", db, "list"]) == 0 and "n=8" in capsys.readouterr().out
    assert main(["train", "--epochs", "1", "--data-dir", str(tiny_dir), "--db", db]) == 0
    assert "hidden=128 epochs=1" in capsys.readouterr().out  # defaults still apply after it


def test_every_write_path_problem_is_one_line_and_exit_1(tiny_dir, tmp_path, capsys):
    import os

    from mnist_tui.cli import main

    db = str(tmp_path / "h.sqlite")
    quick = ["--hidden", "4", "--epochs", "1", "--data-dir", str(tiny_dir), "--db", db]
    assert main(["train", *quick, "--save", str(tmp_path / "nope" / "x.npz")]) == 1
    assert not (tmp_path / "nope").exists()  # no directory created behind the user's back
    assert main(["train", *quick]) == 0
    for bad in (str(tmp_path / "nope" / "x.csv"), str(tmp_path), ""):
        capsys.readouterr()
        assert main(["runs", "export", "1", "--output", bad, "--db", db]) == 1
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "Traceback" not in err
    old = os.umask(0o022)
    try:
        out = tmp_path / "x.csv"
        assert main(["runs", "export", "1", "--output", str(out), "--db", db]) == 0
    finally:
        os.umask(old)
    assert (out.stat().st_mode & 0o777) == 0o644
    assert b"\r\n" not in out.read_bytes() and out.read_bytes().count(b"\n") == 2


@pytest.mark.parametrize("value", ["-5", "0", "-60000", "x"])
def test_bench_samples_is_validated(value, capsys):
    from mnist_tui.cli import main

    with pytest.raises(SystemExit) as e:
        main(["bench", "--samples", value])
    assert e.value.code == 2 and "--samples" in capsys.readouterr().err


def test_help_epilog_names_every_command(capsys):
    from mnist_tui.cli import main

    with pytest.raises(SystemExit):
        main(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    for command in ("train", "runs", "serve", "sweep", "download", "bench"):
        assert f"{command} (" in text


# --- interrupted work loses nothing ------------------------------------------------------------


def _runs(db) -> list[tuple]:
    import sqlite3

    with sqlite3.connect(db) as con:
        return con.execute("SELECT status, checkpoint FROM runs").fetchall()


@pytest.mark.parametrize("sig", ["SIGTERM", "SIGINT"])  # SIGHUP detaches: soak/test_cli_hangup.py
def test_a_signal_during_train_save_keeps_the_weights_and_records_stopped(tiny_dir, tmp_path, sig):
    import signal
    import subprocess
    import sys
    import time

    db, ck = tmp_path / "h.sqlite", tmp_path / "ck.npz"
    proc = subprocess.Popen([sys.executable, "-m", "mnist_tui", "train", "--data-dir", str(tiny_dir),
                             "--epochs", "1000", "--batch-size", "8", "--save", str(ck), "--db", str(db),
                             "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert '"event": "epoch"' in readline_within(proc.stdout, 60)  # an epoch is done
    time.sleep(0.2)
    proc.send_signal(getattr(signal, sig))
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == (130 if sig == "SIGINT" else 128 + getattr(signal, sig)), err
    assert f"interrupted ({'Ctrl-C' if sig == 'SIGINT' else sig})" in err
    assert ck.exists() and checkpoint.load(ck)[2]["epoch"]
    assert _runs(db) == [("stopped", str(ck.resolve()))]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp files


def test_a_closed_pipe_ends_the_run_as_stopped_quietly(tiny_dir, tmp_path):
    import subprocess
    import sys

    db, ck = tmp_path / "h.sqlite", tmp_path / "ck.npz"
    proc = subprocess.Popen([sys.executable, "-m", "mnist_tui", "train", "--data-dir", str(tiny_dir),
                             "--epochs", "1000", "--batch-size", "8", "--save", str(ck), "--db", str(db),
                             "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.read(10)  # as `| head -c 10` does
    proc.stdout.close()
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0 and b"Traceback" not in err, err
    assert _runs(db) == [("stopped", str(ck.resolve()))] and ck.exists()


def test_a_failed_final_save_keeps_the_weights_in_the_cache(tiny_dir, tmp_path, monkeypatch, capsys):
    from mnist_tui.core import checkpoint as ck_module

    real_save = ck_module.save

    def full_disk(path, *args, **kwargs):
        if "rescued" not in str(path):
            raise ck_module.CheckpointError(f"{path}: cannot write (No space left on device)")
        return real_save(path, *args, **kwargs)

    monkeypatch.setattr(ck_module, "save", full_disk)
    code = main(["train", "--data-dir", str(tiny_dir), "--epochs", "1", "--save",
                 str(tmp_path / "run.npz"), "--db", str(tmp_path / "h.sqlite")])
    err = capsys.readouterr().err
    assert code == 1 and "No space left" in err and "saved to" in err
    rescued = list((tmp_path / "cache" / "mnist-tui" / "rescued").glob("*.npz"))
    assert len(rescued) == 1 and real_save and checkpoint.load(rescued[0])[2]["epoch"] == [1.0]


@pytest.mark.parametrize("how", ["port in use", "70000", "-1", "bad host"])
def test_serve_with_a_bad_port_or_host_is_one_line_not_a_traceback(how):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        args = {"port in use": ["--port", str(taken.getsockname()[1])],
                "70000": ["--port", "70000"], "-1": ["--port", "-1"],
                "bad host": ["--host", "nonexistent.invalid", "--port", "8199"]}[how]
        r = subprocess.run([sys.executable, "-m", "mnist_tui", "serve", *args],
                           capture_output=True, text=True, timeout=60)
    assert r.returncode == (2 if how in ("70000", "-1") else 1)
    assert "Traceback" not in r.stderr
    last = r.stderr.strip().splitlines()[-1]
    assert last.startswith("mnist-tui") and ("cannot serve on" in last or "a port is" in last)


def _fake_dev_full(tmp_path):
    """A character device node like /dev/full (1, 7), made in the test's own directory."""
    import os
    import stat

    node = tmp_path / "full"
    try:
        os.mknod(node, stat.S_IFCHR | 0o666, os.makedev(1, 7))
    except PermissionError:
        pytest.skip("making a device node needs root (CI runs as root)")
    return node


@pytest.mark.parametrize("command", [["runs", "list"], ["train", "--epochs", "2"]])
def test_output_to_a_full_device_is_one_line_and_the_run_is_closed(tiny_dir, tmp_path, command):
    import sqlite3

    full = _fake_dev_full(tmp_path)
    db = tmp_path / "h.sqlite"
    assert main(["train", "--data-dir", str(tiny_dir), "--epochs", "1", "--db", str(db)]) == 0
    argv = [sys.executable, "-m", "mnist_tui", *command, "--db", str(db)]
    if command[0] == "train":
        argv += ["--data-dir", str(tiny_dir)]
    with open(full, "w") as out:
        r = subprocess.run(argv, stdout=out, stderr=subprocess.PIPE, text=True, timeout=60)
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr
    assert "cannot write the output (No space left on device)" in r.stderr
    with sqlite3.connect(db) as con:
        assert "running" not in {s for (s,) in con.execute("SELECT status FROM runs")}


def test_adam_gets_its_own_default_lr_from_the_cli(tiny_dir, capsys):
    assert main(["train", "--data-dir", str(tiny_dir), "--epochs", "1", "--hidden", "4",
                 "--optimizer", "adam", "--json", "--db", str(tiny_dir / "h.sqlite")]) == 0
    assert '"lr": 0.001' in capsys.readouterr().out
    assert main(["train", "--data-dir", str(tiny_dir), "--epochs", "1", "--hidden", "4",
                 "--optimizer", "adam", "--lr", "0.02", "--json", "--db", str(tiny_dir / "h.sqlite")]) == 0
    assert '"lr": 0.02' in capsys.readouterr().out


def test_a_validation_split_too_large_is_refused(tiny_dir, capsys):
    assert main(["train", "--data-dir", str(tiny_dir), "--val-split", "600",
                 "--db", str(tiny_dir / "h.sqlite")]) == 2
    assert "leaves no training samples" in capsys.readouterr().err
