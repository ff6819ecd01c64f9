"""Sweeps across machines on a real PostgreSQL server (see pg.py): two sweep commands play two
machines joining one study. Each test has its own new database; they skip, saying why, only
where no server can run."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest
from pg import PASSWORD

pytestmark = pytest.mark.timeout(600)


@pytest.fixture
def data_dir(tmp_path):
    from helpers import tiny_dataset, write_dataset

    return write_dataset(tmp_path / "tiny", tiny_dataset())


def sweep_argv(data_dir, history, *extra, study="s"):
    return [sys.executable, "-m", "mnist_tui", "sweep", "--data-dir", str(data_dir),
            "--db", str(history), "--study", study, "--val-split", "100", "--hidden", "8,16",
            "--batch-size", "16,32", "--workers", "1", *extra]


def with_storage(url: str) -> dict:
    """The environment of a sweep whose storage (password included) stays out of `ps`."""
    return {**os.environ, "MNIST_TUI_STORAGE": url}


def load(url: str, study: str = "s"):
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna.load_study(study_name=study, storage=url)


def runs(history) -> list[tuple]:
    con = sqlite3.connect(history)
    try:
        return con.execute("SELECT study, trial, status, host, config FROM runs").fetchall()
    finally:
        con.close()


def test_two_machines_starting_at_once_on_a_new_database_never_crash_and_draw_distinct_trials(
        pg_server, data_dir, tmp_path):
    """Four times, a new database, two sweep commands started together: before, 3 in 4 crashed
    on `pg_type_typname_nsp_index` (four rounds miss that with a chance of 0.25**4, 0.4%), and
    the two drew the same trials with the same seeds."""
    for round_ in range(4):
        url = pg_server.create_database(f"twice_{round_}")
        argv = sweep_argv(data_dir, tmp_path / f"h{round_}.sqlite", "--trials", "4",
                          "--epochs", "1", "--json")
        procs = [subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                  env=with_storage(url)) for _ in range(2)]
        outs = [p.communicate(timeout=300) for p in procs]
        assert [p.returncode for p in procs] == [0, 0], (round_, [e[-1500:] for _, e in outs])
        trials = [t for t in load(url).trials if t.state.name in ("COMPLETE", "PRUNED")]
        assert len(trials) >= 4
        settings = [tuple(sorted(t.params.items())) for t in trials]
        assert len(set(settings)) == len(settings), settings  # no trial drawn twice
        seeds = [t.user_attrs["seed"] for t in trials]
        assert len(set(seeds)) == len(seeds), seeds  # each trains with its own seed
        recorded = {r[1]: json.loads(r[4])["seed"] for r in runs(tmp_path / f"h{round_}.sqlite")}
        assert all(recorded[t.number] == t.user_attrs["seed"] for t in trials)


def _running_with_heartbeat(url: str, reported: bool = False) -> list[int]:
    """The RUNNING trials with a heartbeat (and, if `reported`, a first epoch reported: all
    its values drawn, so that its retry must draw the same)."""
    import psycopg

    epoch = ("AND EXISTS (SELECT 1 FROM trial_intermediate_values v WHERE v.trial_id = "
             "t.trial_id)" if reported else "")
    with psycopg.connect(url) as con:
        try:
            return [r[0] for r in con.execute(
                "SELECT t.number FROM trials t JOIN trial_heartbeats h USING (trial_id) "
                f"WHERE t.state = 'RUNNING' {epoch}").fetchall()]
        except psycopg.errors.UndefinedTable:
            return []


def test_a_machine_killed_mid_trial_has_its_trial_failed_and_rerun_by_the_other(
        pg_url, data_dir, tmp_path):
    # A narrow lr: the retry trains with a seed of its own, and one drawn near the default
    # range's top once diverged at once, ending "complete" after no epoch of its own.
    a = subprocess.Popen(sweep_argv(data_dir, tmp_path / "a.sqlite", "--trials", "3",
                                    "--epochs", "30", "--lr", "0.01:0.05", "--json"),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         env=with_storage(pg_url), start_new_session=True)
    deadline = time.monotonic() + 120
    while not _running_with_heartbeat(pg_url, reported=True):
        assert time.monotonic() < deadline and a.poll() is None, a.communicate()[1][-1500:]
        time.sleep(0.2)
    killed = _running_with_heartbeat(pg_url, reported=True)[0]
    os.killpg(a.pid, signal.SIGKILL)  # the whole machine: the command and its workers
    a.wait(10)
    assert load(pg_url).trials[killed].state.name == "RUNNING"
    import psycopg

    with psycopg.connect(pg_url) as con:  # a minute passes: the grace period (8 s) is over
        con.execute("UPDATE trial_heartbeats SET heartbeat = heartbeat - interval '60 seconds'")
    b = subprocess.run(sweep_argv(data_dir, tmp_path / "b.sqlite", "--trials", "3", "--json"),
                       capture_output=True, text=True, env=with_storage(pg_url), timeout=500)
    assert b.returncode == 0, b.stderr[-2000:]
    trials = load(pg_url).trials
    assert trials[killed].state.name == "FAIL"  # its heartbeat went stale
    retries = [t for t in trials if t.system_attrs.get("failed_trial") == killed]
    assert len(retries) == 1 and retries[0].state.name == "COMPLETE"  # 3 trials: no pruning
    assert retries[0].params == trials[killed].params
    # B took the study's settings (its creator's --epochs 30), so it reran the same trial.
    assert retries[0].user_attrs["epochs"] == 30


def test_a_machine_joining_with_other_settings_is_refused_and_one_without_takes_the_studys(
        pg_url, data_dir, tmp_path):
    env = with_storage(pg_url)
    first = subprocess.run(sweep_argv(data_dir, tmp_path / "a.sqlite", "--trials", "1",
                                      "--epochs", "2"),
                           capture_output=True, text=True, env=env, timeout=300)
    assert first.returncode == 0, first.stderr[-2000:]
    before = len(load(pg_url).trials)
    for flags, words in (
            (["--epochs", "3"], "--epochs 2, not 3"),
            (["--hidden", "8,32"], "--hidden 8,16, not 8,32"),
            (["--val-split", "200"], "--val-split 100, not 200")):
        argv = sweep_argv(data_dir, tmp_path / "b.sqlite", "--trials", "2", *flags)
        r = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=300)
        assert r.returncode == 2 and r.stderr.count("\n") == 1, r.stderr
        assert words in r.stderr and "--study" in r.stderr and "Traceback" not in r.stderr
        assert r.stdout == ""
    assert len(load(pg_url).trials) == before  # nothing written
    assert not (tmp_path / "b.sqlite").exists() or not runs(tmp_path / "b.sqlite")
    # Without the flags, the study's settings are taken: epochs 2, hidden 8 or 16.
    argv = [a for a in sweep_argv(data_dir, tmp_path / "c.sqlite", "--trials", "2")]
    for flag in ("--hidden", "--val-split"):
        i = argv.index(flag)
        del argv[i:i + 2]
    r = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    configs = [json.loads(row[4]) for row in runs(tmp_path / "c.sqlite")]
    assert configs and all(c["epochs"] == 2 and c["val_split"] == 100 and c["hidden"] in (8, 16)
                           for c in configs)


def _cmdlines(pid: int) -> list[str]:
    import psutil

    try:
        proc = psutil.Process(pid)
        return [" ".join(p.cmdline()) for p in [proc, *proc.children(recursive=True)]]
    except psutil.NoSuchProcess:
        return []


def test_no_password_in_any_output_in_ps_or_in_the_history(pg_server, pg_url, data_dir,
                                                            tmp_path):
    history = tmp_path / "h.sqlite"
    # From the environment: the password is in no command line.
    p = subprocess.Popen(sweep_argv(data_dir, history, "--trials", "2", "--epochs", "30"),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         env=with_storage(pg_url))
    seen: list[str] = []
    deadline = time.monotonic() + 120
    while p.poll() is None and time.monotonic() < deadline:
        seen += _cmdlines(p.pid)
        time.sleep(0.2)
    out, err = p.communicate(timeout=300)
    assert p.returncode == 0, err[-2000:]
    assert len(seen) > 3 and not [c for c in seen if PASSWORD in c]
    assert "127.0.0.1" in out and "***" in out  # the banner names the storage, masked
    # On the command line (a user's choice), and in errors: printed masked.
    outputs = [out, err]
    for url in (pg_url, pg_server.url("no_such_db"), pg_url.replace(PASSWORD, "wrong")):
        for extra in ([], ["--json"]):
            r = subprocess.run(sweep_argv(data_dir, history, "--trials", "2", "--epochs", "1",
                                          "--storage", url, *extra),
                               capture_output=True, text=True, timeout=300)
            outputs += [r.stdout, r.stderr]
            assert "Traceback" not in r.stderr
    assert not [o for o in outputs if PASSWORD in o]
    assert any("no_such_db" in o and "***" in o for o in outputs)  # the error says which
    assert PASSWORD.encode() not in history.read_bytes()
    for suffix in ("-wal", "-shm"):
        if os.path.exists(f"{history}{suffix}"):
            assert PASSWORD.encode() not in open(f"{history}{suffix}", "rb").read()
    listing = subprocess.run([sys.executable, "-m", "mnist_tui", "runs", "list", "--db",
                              str(history)], capture_output=True, text=True, timeout=60)
    assert PASSWORD not in listing.stdout + listing.stderr


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP, signal.SIGKILL],
                         ids=lambda s: signal.Signals(s).name)
def test_a_signal_to_the_sweep_command_leaves_no_process_within_5_s(pg_url, data_dir, tmp_path,
                                                                    sig):
    import psutil

    history = tmp_path / "h.sqlite"
    # A narrow lr: a trial that diverges at once ends before the signal (and another starts).
    p = subprocess.Popen(sweep_argv(data_dir, history, "--trials", "4", "--workers", "2",
                                    "--epochs", "300", "--lr", "0.01:0.05"),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         env=with_storage(pg_url))
    deadline = time.monotonic() + 120
    while len(_running_with_heartbeat(pg_url)) < 2:
        assert time.monotonic() < deadline and p.poll() is None, p.communicate()[1][-1500:]
        time.sleep(0.2)
    family = psutil.Process(p.pid).children(recursive=True)
    assert len(family) >= 3  # its fork server, its two workers (and a resource tracker)
    os.kill(p.pid, sig)  # the command alone
    signalled = time.monotonic()
    out, err = p.communicate(timeout=5)  # (psutil must not reap it: Popen would read 0)
    gone, alive = psutil.wait_procs(family, timeout=max(0.0, signalled + 5 - time.monotonic()))
    assert not alive, [" ".join(a.cmdline()) for a in alive]
    assert p.returncode == (-sig if sig == signal.SIGKILL else 128 + sig), err[-1500:]
    trials = load(pg_url).trials
    assert not [t for t in trials if t.state.name == "RUNNING"]
    stopped = [t for t in trials if t.state.name == "FAIL" and t.user_attrs.get("stopped")]
    assert len(stopped) == 2  # each worker's trial, recorded as stopped …
    assert len([t for t in trials if t.state.name == "WAITING"]) == 2  # … and queued again
    assert sorted(r[2] for r in runs(history)) == ["stopped", "stopped"]
    if sig != signal.SIGKILL:
        name = signal.Signals(sig).name
        assert name in err and "resume" in err and err.count("\n") == 1, err
        assert "Traceback" not in err


def test_pgpassword_gives_the_password_to_the_driver_with_none_in_the_url(pg_server, pg_url,
                                                                          data_dir, tmp_path):
    url = pg_url.replace(f":{PASSWORD}@", "@")
    env = {**with_storage(url), "PGPASSWORD": PASSWORD}
    r = subprocess.run(sweep_argv(data_dir, tmp_path / "h.sqlite", "--trials", "1",
                                  "--epochs", "1"),
                       capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    assert len(load(pg_url).trials) == 1
    # Without it, the server refuses, and the sweep says so in one line.
    env.pop("PGPASSWORD")
    r = subprocess.run(sweep_argv(data_dir, tmp_path / "h.sqlite", "--trials", "2",
                                  "--epochs", "1"),
                       capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode != 0 and r.stderr.count("\n") == 1 and "password" in r.stderr, r.stderr
