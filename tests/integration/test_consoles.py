"""The CLI on consoles that are not UTF-8, with indexes as typed, and its shared conventions
(issue 21: item 3, item 10, "CLI conventions"). Every command runs in a subprocess, as a user
runs it, on a history filled by a few tiny runs; only the checks of indexes as typed call the
CLI's main in this process."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import tiny_dataset, write_dataset

ROOT = Path(__file__).resolve().parents[2]


def mnist_tui(*args, env=None, cwd=None, timeout=180, **kw):
    return subprocess.run([sys.executable, "-m", "mnist_tui", *map(str, args)], env=env, cwd=cwd,
                          capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL, **kw)


@pytest.fixture(scope="module")
def filled(tmp_path_factory):
    """A folder with the tiny dataset, three runs in its history, and their checkpoints."""
    home = tmp_path_factory.mktemp("filled")
    tiny = write_dataset(home / "tiny", tiny_dataset())
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "MNIST_TUI_DATA")}
    env.update(XDG_DATA_HOME=str(home / "share"), XDG_CACHE_HOME=str(home / "cache"),
               MNIST_TUI_OFFLINE="1", COLUMNS="100")
    for seed in (1, 2, 3):
        r = mnist_tui("train", "--data-dir", tiny, "--hidden", "8", "--epochs", "2", "--seed",
                      seed, "--save", home / f"ck{seed}.npz", env=env, cwd=home)
        assert r.returncode == 0, r.stderr
    return home, tiny, env


def commands(tiny) -> list[list[str]]:
    """Every command, with arguments that make it do its work on the filled history."""
    d = ["--data-dir", str(tiny)]
    return [
        ["train", *d, "--hidden", "8", "--epochs", "1"],
        ["train", *d, "--hidden", "8", "--epochs", "1", "--format", "json"],
        ["runs", "list"], ["runs", "list", "--format", "json"],
        ["runs", "show", "1"], ["runs", "compare", "1", "2"], ["runs", "export", "1"],
        ["race", "lr", "0.1,0.05", *d, "--hidden", "8", "--epochs", "1"],
        ["sweep", "--trials", "1", "--epochs", "1", "--workers", "1", "--val-split", "100",
         "--hidden", "8", *d],
        ["suspects", "--min-runs", "2"],
        ["units", "ck1.npz", *d], ["units", "ck1.npz", "--unit", "2", *d],
        ["explain", "ck1.npz", "--sample", "3", *d],
        ["explain", "ck1.npz", "--sample", "3", "--nudge", "5", *d],
        ["bench", *d, "--seeds", "1", "--epochs", "1", "--rounds", "1", "--samples", "600"],
        ["--version"],
    ]


HELPS = [[], ["train"], ["runs"], ["runs", "list"], ["runs", "show"], ["runs", "export"],
         ["runs", "compare"], ["race"], ["sweep"], ["suspects"], ["units"], ["explain"],
         ["serve"], ["download"], ["bench"]]


@pytest.mark.slow
@pytest.mark.parametrize("encoding", ["ascii", "latin-1"])
def test_every_command_and_its_help_on_a_console_that_is_not_utf8(filled, encoding):
    home, tiny, env = filled
    env = {**env, "PYTHONIOENCODING": encoding}
    runs = [(cmd, mnist_tui(*cmd, env=env, cwd=home)) for cmd in commands(tiny)]
    runs += [([*cmd, "--help"], mnist_tui(*cmd, "--help", env=env, cwd=home)) for cmd in HELPS]
    failed = []
    for cmd, r in runs:
        ok = r.returncode == 0 and b"Traceback" not in r.stderr + r.stdout
        try:
            r.stdout.decode(encoding), r.stderr.decode(encoding)
        except UnicodeDecodeError:
            ok = False
        if not ok:
            failed.append((" ".join(cmd), r.returncode, r.stderr.decode(errors="replace")[-300:]))
    assert not failed, "\n".join(map(str, failed))
    out = {" ".join(cmd): r.stdout.decode(encoding) for cmd, r in runs}
    assert "->" in out["runs compare 1 2"]  # the arrow, spelled in ASCII
    if encoding == "ascii":
        explained = out[f"explain ck1.npz --sample 3 --data-dir {tiny}"]
        assert "#" in explained or ":" in explained  # shade blocks as ' .:#'


@pytest.mark.slow
def test_a_utf8_console_keeps_the_real_characters(filled):
    home, _, env = filled
    r = mnist_tui("runs", "compare", "1", "2", env={**env, "PYTHONIOENCODING": "utf-8"}, cwd=home)
    assert r.returncode == 0 and "→" in r.stdout.decode()


# --- item 10: every index is ASCII digits only --------------------------------------------------


def in_process(cmd, home, env, monkeypatch, capsys) -> tuple[int, str]:
    """The CLI's main in this process, as the command would run in `home` with `env`: (exit
    code, stderr). For checks of the arguments alone (a subprocess each was 63 of them, 15 s of
    the suite's CPU); what a console does to the output is checked in subprocesses above."""
    from mnist_tui.cli import main

    for key in ("XDG_DATA_HOME", "XDG_CACHE_HOME", "MNIST_TUI_OFFLINE", "COLUMNS"):
        monkeypatch.setenv(key, env[key])
    monkeypatch.chdir(home)
    capsys.readouterr()
    try:
        code = main([str(a) for a in cmd])
    except SystemExit as e:  # argparse's usage errors
        code = e.code
    return code, capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.parametrize("bad", ["1_0", "\u0663", "+5", " 5", "5 ", "-0", "0x1", "1e1", "\uff15"])
def test_every_index_the_cli_takes_is_ascii_digits_only(filled, bad, monkeypatch, capsys):
    home, tiny, env = filled
    d = ["--data-dir", str(tiny)]
    db = home / "share" / "mnist-tui" / "runs.sqlite"
    before = db.read_bytes()
    cases = [
        ["suspects", "--min-runs", "2", "--mark", f"{bad}=label"],
        ["explain", "ck1.npz", "--sample", bad, *d],
        ["explain", "ck1.npz", "--sample", "3", "--nudge", bad, *d],
        ["units", "ck1.npz", "--unit", bad, *d],
        ["runs", "show", bad], ["runs", "export", bad], ["runs", "compare", "1", bad],
    ]
    for cmd in cases:
        code, err = in_process(cmd, home, env, monkeypatch, capsys)
        assert code == 2, (cmd, code, err)
        assert err.count("\n") == 1 and "Traceback" not in err, (cmd, err)
    assert db.read_bytes() == before  # no mark stored (1_0 stored sample 10 before)


@pytest.mark.slow
def test_a_plain_index_still_works(filled):
    home, _, env = filled
    db = home / "share" / "mnist-tui" / "runs.sqlite"
    shutil.copy(db, home / "before.sqlite")
    try:
        with sqlite3.connect(db) as c:
            c.execute("DELETE FROM marks")
        r = mnist_tui("suspects", "--min-runs", "2", "--mark", "10=label", env=env, cwd=home)
        assert r.returncode == 0, r.stderr
        with sqlite3.connect(db) as c:
            assert c.execute("SELECT sample FROM marks").fetchall() == [(10,)]
    finally:
        shutil.copy(home / "before.sqlite", db)


# --- CLI conventions: --format on every command that lists or reports; progress on stderr ----


@pytest.mark.slow
def test_runs_list_has_a_format(filled):
    home, _, env = filled
    rows = json.loads(mnist_tui("runs", "list", "--format", "json", env=env, cwd=home).stdout)
    assert [r["id"] for r in rows][-3:] == [3, 2, 1] and "status" in rows[0]
    table = list(csv.DictReader(io.StringIO(
        mnist_tui("runs", "list", "--format", "csv", env=env, cwd=home).stdout.decode())))
    assert [int(r["id"]) for r in table] == [r["id"] for r in rows]


@pytest.mark.slow
@pytest.mark.parametrize("cmd", [["train", "--hidden", "8", "--epochs", "2"],
                                 ["race", "lr", "0.1,0.05", "--hidden", "8", "--epochs", "1"]])
def test_train_and_race_take_format_json_and_keep_json_as_an_alias(filled, cmd):
    home, tiny, env = filled
    outs = []
    for flag in (["--format", "json"], ["--json"]):
        r = mnist_tui(*cmd, "--data-dir", tiny, *flag, env=env, cwd=home)
        assert r.returncode == 0, r.stderr
        lines = [json.loads(line) for line in r.stdout.decode().splitlines()]
        outs.append([e.get("event") for e in lines])
    assert outs[0] == outs[1] and outs[0]


@pytest.mark.slow
def test_train_csv_is_one_row_per_epoch(filled):
    home, tiny, env = filled
    r = mnist_tui("train", "--hidden", "8", "--epochs", "2", "--data-dir", tiny, "--format", "csv",
                  env=env, cwd=home)
    rows = list(csv.DictReader(io.StringIO(r.stdout.decode())))
    assert r.returncode == 0 and [int(float(row["epoch"])) for row in rows] == [1, 2]


@pytest.mark.slow
def test_progress_never_goes_to_stdout_and_not_to_a_log(filled):
    """stdout and stderr are files here (not terminals): no bar, no carriage return anywhere,
    and the sweep's lines never run into each other."""
    home, tiny, env = filled
    d = ["--data-dir", str(tiny)]
    for cmd in (["train", *d, "--hidden", "8", "--epochs", "2"],
                ["race", "lr", "0.1,0.05", *d, "--hidden", "8", "--epochs", "1"],
                ["sweep", "--trials", "2", "--epochs", "1", "--workers", "2", "--val-split", "100",
                 "--hidden", "8", *d],
                ["bench", *d, "--seeds", "1", "--epochs", "1", "--rounds", "1", "--samples", "600"]):
        r = mnist_tui(*cmd, env=env, cwd=home)
        assert r.returncode == 0, (cmd, r.stderr)
        for stream in (r.stdout, r.stderr):
            assert b"\r" not in stream and b"\x1b[" not in stream, (cmd, stream[-300:])
        if cmd[0] == "sweep":
            for line in r.stdout.decode().splitlines():
                assert line.count("trial") <= 1 and "running" not in line, line


@pytest.mark.slow
def test_progress_in_a_terminal_goes_to_stderr_with_an_eta(filled):
    """In a pty (stderr a terminal, stdout a file): the bar is drawn on stderr by rich.progress,
    with the time remaining, and stdout gets only the epoch lines."""
    import pty
    import select
    import time

    home, tiny, env = filled
    out_path = home / "train-out.txt"
    pid, fd = pty.fork()
    if pid == 0:  # the child: stdin and stderr the pty, stdout a file
        out = os.open(out_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(out, 1)
        os.chdir(home)
        os.execvpe(sys.executable, [sys.executable, "-m", "mnist_tui", "train", "--data-dir",
                                    str(tiny), "--hidden", "8", "--epochs", "3"],
                   {**env, "TERM": "xterm-256color", "COLUMNS": "100"})
    seen, deadline = b"", time.monotonic() + 120
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.5)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    assert os.waitstatus_to_exitcode(status) == 0, seen[-500:]
    stdout = out_path.read_bytes()
    assert b"\r" not in stdout and b"\x1b" not in stdout and stdout.count(b"epoch ") == 3
    text = seen.decode(errors="replace")
    assert "epoch" in text and ("-:--:--" in text or "0:00:0" in text)  # rich's ETA column


def run_in_pty(argv, env, cwd, stdout_path, timeout=120) -> tuple[int, str]:
    """Run argv with stdin and stderr a pseudo-terminal and stdout a file: (exit code, what the
    terminal showed)."""
    import pty
    import select
    import time

    pid, fd = pty.fork()
    if pid == 0:
        if stdout_path is not None:  # else stdout is the terminal too
            out = os.open(stdout_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            os.dup2(out, 1)
        os.chdir(cwd)
        os.execvpe(argv[0], argv, {**env, "TERM": "xterm-256color", "COLUMNS": "100"})
    seen, deadline = b"", time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.5)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    return os.waitstatus_to_exitcode(status), seen.decode(errors="replace")


@pytest.mark.slow
def test_download_shows_its_progress_on_the_terminal_in_the_same_style(fashion_mirror, tmp_path):
    code, shown = run_in_pty([sys.executable, "-m", "mnist_tui", "download", "--dataset",
                              "fashion", "--dir", str(tmp_path / "f")], dict(os.environ),
                             tmp_path, tmp_path / "out.txt")
    assert code == 0, shown
    assert "downloading" in shown and "ETA" in shown and "MB" in shown
    out = (tmp_path / "out.txt").read_text()
    assert out.startswith("downloaded and verified") and "\r" not in out and "\x1b" not in out


@pytest.mark.slow
def test_the_sweeps_lines_never_run_into_its_progress_in_a_terminal(filled):
    """stdout and stderr one terminal, as people run it: each trial line is printed above the
    bar (before: '… 2 running' then 'trial   0  complete' on the same line)."""
    home, tiny, env = filled
    code, shown = run_in_pty([sys.executable, "-m", "mnist_tui", "sweep", "--study", "pty",
                              "--trials", "3", "--workers", "2", "--epochs", "2", "--val-split",
                              "100", "--hidden", "8", "--data-dir", str(tiny)], env, home, None)
    assert code == 0, shown
    assert shown.count("complete") + shown.count("pruned") >= 3 and "ETA" in shown
    assert "runningtrial" not in shown.replace(" ", "") and "running\r\ntrial" not in shown
