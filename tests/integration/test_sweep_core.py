"""The sweep's core on SQLite (no server needed): seeds, the conditional space, pruning at the
last epoch, dead trials with no heartbeat, the study's settings, storages refused, drivers,
memory and cores; and the Sweep tab's Stop."""

from __future__ import annotations

import sqlite3
import sys
import time

import pytest

from mnist_tui.core import resources
from mnist_tui.core import sweep as sw
from mnist_tui.core.config import TrainConfig


def _study(**kwargs):
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna.create_study(direction="maximize", **kwargs)


def test_momentum_is_drawn_only_for_the_optimizers_that_use_it():
    study = _study()
    space = sw.Space(optimizer=("momentum", "adam", "sgd", "nesterov"))
    seen = {}
    for _ in range(40):
        trial = study.ask()
        params = space.suggest(trial)
        seen.setdefault(params["optimizer"], set()).add("momentum" in params)
        study.tell(trial, params["lr"])
    assert seen == {"momentum": {True}, "nesterov": {True}, "adam": {False}, "sgd": {False}}
    # So an Adam trial says nothing of momentum: not in its words, not in the importances
    # Optuna computes (each parameter over the trials that drew it).
    adam = next(t for t in study.trials if t.params["optimizer"] == "adam")
    assert " m=" not in sw.params_words(adam.params) and "momentum" not in adam.distributions


def test_a_trial_pruned_at_its_last_epoch_ran_in_full_and_completes(tiny, tmp_path):
    """Before, a trial the pruner picked at its last epoch was marked pruned (and its run too)."""
    import optuna

    study = _study()
    plan = sw.Sweep(epochs=2, val_split=100, space=sw.Space(hidden=(8,), batch_size=(64,)),
                    db_path=str(tmp_path / "h.sqlite"))
    asked = []

    def prune_always(trial):
        trial.should_prune = lambda: True
        asked.append(trial)
        return sw.objective(plan, tiny, trial)

    study.optimize(prune_always, n_trials=1)
    assert study.trials[0].state == optuna.trial.TrialState.PRUNED  # at epoch 1 of 2: pruned
    assert study.trials[0].user_attrs["epochs"] == 1
    plan1 = sw.Sweep(epochs=1, val_split=100, space=plan.space, db_path=plan.db_path)
    study.optimize(lambda t: (setattr(t, "should_prune", lambda: True),
                              sw.objective(plan1, tiny, t))[1], n_trials=1)
    assert study.trials[1].state == optuna.trial.TrialState.COMPLETE
    con = sqlite3.connect(tmp_path / "h.sqlite")
    statuses = [s for (s,) in con.execute("SELECT status FROM runs ORDER BY id")]
    con.close()
    assert statuses == ["pruned", "done"]


def test_each_process_and_worker_samples_with_its_own_seed_and_each_trial_trains_with_its_own():
    plan = sw.Sweep(seed=7)
    seeds = {sw.sampler_seed(plan, i) for i in range(8)}
    assert len(seeds) == 8
    import subprocess

    code = ("from mnist_tui.core import sweep as sw; "
            "print(sw.sampler_seed(sw.Sweep(seed=7), 0))")
    other = {int(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                check=True).stdout) for _ in range(2)}
    assert len(other) == 2 and not other & seeds  # another process (pid): other seeds
    assert [sw.trial_seed(plan, n) for n in range(3)] == [7, 8, 9]
    assert sw.Sweep(seed=2**32 - 1).config({}, sw.trial_seed(sw.Sweep(seed=2**32 - 1), 1)).seed == 0


def test_a_running_trial_that_never_beat_its_heart_is_failed_and_retried(tmp_path, monkeypatch):
    """A worker killed between `study.ask()` and its first heartbeat: Optuna alone never fails
    such a trial, and a resumed sweep waited for it for ever."""
    import optuna

    monkeypatch.setattr(sw.storage, "GRACE", 1)  # the module that reads it
    plan = sw.Sweep(storage=f"sqlite:///{tmp_path / 's.db'}", db_path=str(tmp_path / "h.sqlite"))
    study, _ = sw.open_study(plan)
    orphan = study.ask()  # RUNNING, no heartbeat: its process "died" here
    optuna.storages.fail_stale_trials(study)
    assert study.trials[orphan.number].state.name == "RUNNING"  # not yet: within the grace
    deadline = time.monotonic() + 20
    while study.trials[orphan.number].state.name == "RUNNING":
        assert time.monotonic() < deadline, "the silent trial was never failed"
        time.sleep(0.3)
        optuna.storages.fail_stale_trials(study)
    trials = study.trials
    assert trials[orphan.number].state.name == "FAIL"
    assert [t.state.name for t in trials[orphan.number + 1:]] == ["WAITING"]  # its retry


def test_the_study_keeps_its_settings_and_a_joiner_with_others_is_refused(tmp_path):
    storage = f"sqlite:///{tmp_path / 's.db'}"
    plan = sw.Sweep(storage=storage, epochs=2, val_split=100,
                    space=sw.Space(hidden=(16, 32), lr=(0.01, 0.1)))
    study, same = sw.open_study(plan)
    assert same == plan
    attrs = study.user_attrs
    assert attrs["epochs"] == 2 and attrs["val_split"] == 100 and attrs["dataset"] == "mnist"
    assert attrs["hidden"] == [16, 32] and attrs["lr"] == [0.01, 0.1]
    for change, words in (({"epochs": 3}, "--epochs 2, not 3"),
                          ({"space": sw.Space(hidden=(16, 48), lr=(0.01, 0.1))},
                           "--hidden 16,32, not 16,48"),
                          ({"space": sw.Space(hidden=(16, 32), lr=(0.01, 0.2))},
                           "--lr 0.01:0.1, not 0.01:0.2")):
        from dataclasses import replace

        with pytest.raises(sw.SweepError) as e:
            sw.open_study(replace(plan, **change))
        assert words in str(e.value) and "--study" in str(e.value) and "\n" not in str(e.value)
    # Not given: taken from the study.
    joiner = sw.Sweep(storage=storage, given=frozenset({"dataset"}))
    _, took = sw.open_study(joiner)
    assert took.epochs == 2 and took.val_split == 100 and took.space == plan.space
    assert len(study.trials) == 0  # nothing written by the refusals


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///:memory:",
                                 "sqlite:///file::memory:?cache=shared", "not a url"])
def test_a_storage_no_worker_can_share_is_refused_in_one_line(url):
    with pytest.raises(sw.SweepError) as e:
        sw.storage_for(url)
    assert "\n" not in str(e.value)


def test_a_missing_driver_is_one_line_naming_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "psycopg", None)  # not installed
    with pytest.raises(sw.SweepError) as e:
        sw.storage_for("postgresql://u:hunter2@127.0.0.1:1/db")
    text = str(e.value)
    assert "mnist-tui[postgres]" in text and "psycopg" in text and "\n" not in text
    assert "hunter2" not in text and "u:***@" in text


def test_a_server_that_cannot_be_reached_is_named_without_its_password():
    pytest.importorskip("psycopg")
    with pytest.raises(sw.SweepError) as e:
        sw.storage_for("postgresql://u:hunter2@127.0.0.1:1/db?connect_timeout=2")
    assert "hunter2" not in str(e.value) and "127.0.0.1" in str(e.value)
    assert sw.shown("mysql://root:pw@h/db") == "mysql://root:***@h/db"


def test_the_storage_comes_from_the_environment_so_it_stays_out_of_ps(monkeypatch):
    monkeypatch.setenv(sw.STORAGE_ENV, "postgresql://u:pw@h/db")
    assert sw.storage_url(sw.Sweep()) == "postgresql://u:pw@h/db"
    assert sw.storage_url(sw.Sweep(storage="sqlite:///x.db")) == "sqlite:///x.db"
    monkeypatch.delenv(sw.STORAGE_ENV)
    assert sw.storage_url(sw.Sweep()).endswith("sweeps.sqlite")


def test_memory_is_checked_for_the_largest_hidden_and_every_worker(monkeypatch):
    """Before, the sweep's check used hidden 128 whatever --hidden said, and one worker."""
    monkeypatch.setattr(resources, "usable_cores", lambda: 64)
    space = sw.Space(hidden=(16, 4096), batch_size=(64, 50000))
    largest = TrainConfig(hidden=4096, batch_size=50000, val_split=10000)
    one = resources.data_bytes(60000, 10000) + resources.run_bytes(largest, 50000, 10000)
    monkeypatch.setattr(resources, "available_memory_bytes", lambda: int(one / 0.8) + 2**20)
    assert sw.check(sw.Sweep(space=space, workers=1), 60000, 10000) is None
    reason = sw.check(sw.Sweep(space=space, workers=6), 60000, 10000)
    assert reason and "6 workers at hidden 4096, batch 50000" in reason and "GiB" in reason


def test_more_workers_than_cores_and_a_split_over_the_limit_are_refused(monkeypatch):
    monkeypatch.setattr(resources, "usable_cores", lambda: 2)
    assert "--workers 64" in sw.check(sw.Sweep(workers=64), 60000, 10000)
    assert sw.check(sw.Sweep(workers=2), 60000, 10000) is None
    assert "--val-split 6000 leaves no training" in sw.check(
        sw.Sweep(val_split=6000, workers=1), 6000, 1000)
    with pytest.raises(sw.SweepError) as e:  # over the field's limit, whatever the data
        sw.Sweep(val_split=60000)
    assert "--val-split" in str(e.value) and "50000" in str(e.value)


def test_a_race_counts_every_racer_at_once(monkeypatch):
    """Before, each racer was checked alone: four of 4.9 GiB passed a 17 GiB limit."""
    from mnist_tui.core.race import check, parse_race

    _, racers = parse_race("lr 0.1,0.2,0.3,0.4", TrainConfig(hidden=4096, batch_size=50000))
    one = resources.estimate_memory_bytes(racers[0], 60000, 10000)
    monkeypatch.setattr(resources, "available_memory_bytes", lambda: int(2 * one / 0.8))
    assert resources.check_run(racers[0], 60000, 10000) is None  # each alone fits
    reason = check(racers, 60000, 10000)
    assert reason and "these 4 runs at once" in reason


async def test_stopping_a_sweep_in_its_tab_records_its_trials_as_stopped(tiny, tmp_path):
    """Before, Stop left the trials `running` in the table for ever, `lost` in the history and
    RUNNING in Optuna's storage, and the message said "done"."""
    from helpers import wait_for
    from textual.widgets import Button, Input

    from mnist_tui.ui.app import make_app
    from mnist_tui.ui.panes.sweep import SweepPane

    db = tmp_path / "h.sqlite"
    app = make_app(tiny, db_path=db)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("9")
        pane = app.query_one(SweepPane)
        for key, value in (("hidden", "8,16"), ("batch", "16,32"), ("val", "100"),
                           ("trials", "4"), ("workers", "1"), ("epochs", "500"), ("study", "t"),
                           ("lr", "0.01:0.05")):  # a narrow lr: no trial diverges before Stop
            app.query_one(f"#sw-{key}", Input).value = value
        app.query_one("#sweep-start", Button).press()
        await wait_for(pilot, lambda: any(r.state == "running" and r.epochs >= 1
                                          for r in pane.rows), timeout=120)
        app.query_one("#sweep-stop", Button).press()
        await wait_for(pilot, lambda: pane.stop_event is None, timeout=60)
        states = [r.state for r in pane.rows]
        message = str(app.query_one("#sw-message").render())
        assert "running" not in states and states.count("stopped") == 1, (states, message)
        table = app.query_one("#sw-table")
        assert "stopped" in [str(table.get_row_at(i)[1]) for i in range(table.row_count)]
        message = str(app.query_one("#sw-message").render())
        assert "stopped" in message and "done" not in message
    con = sqlite3.connect(db)
    statuses = [s for (s,) in con.execute("SELECT status FROM runs WHERE study = 't'")]
    con.close()
    assert statuses == ["stopped"]
    import optuna

    study = optuna.load_study(study_name="t", storage=sw.default_storage(db))
    assert [t.state.name for t in study.trials] == ["FAIL", "WAITING"]  # stopped, queued again


def test_a_sweep_whose_best_trial_diverged_at_once_prints_its_summary(tiny_dir, tmp_path):
    """Before: `TypeError: unsupported format string passed to NoneType.__format__` (a trial
    that diverges in its first epoch has no test accuracy), a traceback after the trials."""
    import subprocess

    r = subprocess.run([sys.executable, "-m", "mnist_tui", "sweep", "--data-dir", str(tiny_dir),
                        "--db", str(tmp_path / "h.sqlite"), "--storage",
                        f"sqlite:///{tmp_path / 's.db'}", "--val-split", "100", "--hidden", "8",
                        "--batch-size", "16", "--lr", "9:9", "--optimizer", "momentum",
                        "--momentum", "0.9:0.9", "--trials", "1", "--workers", "1"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr[-2000:]
    assert "diverged" in r.stdout and "test --" in r.stdout, r.stdout


@pytest.mark.parametrize("flags, words", [
    (["--storage", "sqlite://"], "in-memory database"),
    (["--storage", "sqlite:///:memory:"], "in-memory database"),
    (["--val-split", "60000"], "--val-split: validation samples must be"),
    (["--val-split", "600"], "--val-split 600 leaves no training samples"),
    (["--workers", "64"], "--workers 64 is more than the"),
    (["--hidden", "4096"], "at hidden 4096, batch 32: these 2 runs at once need"),
])
def test_what_cannot_run_is_refused_up_front_in_one_line_with_nothing_written(
        tiny_dir, tmp_path, capsys, monkeypatch, flags, words):
    """Before: in-memory storages ran (each worker its own study: tracebacks, exit 0), a split
    of 60000 raised a traceback, 64 workers ran on 2 cores, and memory was checked at hidden 128
    for one worker."""
    from mnist_tui.cli import main

    monkeypatch.setattr(resources, "available_memory_bytes", lambda: 60 * 2**20)
    monkeypatch.chdir(tmp_path)
    code = main(["sweep", "--data-dir", str(tiny_dir), "--db", str(tmp_path / "h.sqlite"),
                 "--hidden", "8,16", "--batch-size", "16,32", "--val-split", "100",
                 "--workers", "2", "--storage", f"sqlite:///{tmp_path / 's.db'}", *flags])
    out, err = capsys.readouterr()
    assert code == 2 and words in err and err.count("\n") == 1, err
    assert out == "" and sorted(p.name for p in tmp_path.iterdir()) == ["tiny"]


def test_a_changed_search_space_is_refused_naming_the_flag(tiny_dir, tmp_path, capsys):
    from mnist_tui.cli import main

    storage = f"sqlite:///{tmp_path / 's.db'}"
    sw.open_study(sw.Sweep(storage=storage, study="s", val_split=100,
                           space=sw.Space(hidden=(16, 32), batch_size=(16,))))
    code = main(["sweep", "--data-dir", str(tiny_dir), "--db", str(tmp_path / "h.sqlite"),
                 "--storage", storage, "--study", "s", "--hidden", "16,48", "--workers", "1"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1, err
    assert "--hidden 16,32, not 16,48" in err and "--study" in err
    import optuna

    assert optuna.load_study(study_name="s", storage=storage).trials == []
    assert not (tmp_path / "h.sqlite").exists()


def test_a_worker_that_fails_before_its_first_trial_is_an_error_not_done(tiny_dir, tmp_path):
    """Before: the one worker died (its data could not be read) and the sweep ended "done" with
    no trial run, and nothing said why (found in CI: the Sweep tab said "done", 0 trials)."""
    for f in tiny_dir.iterdir():  # the worker reads the data itself (no shared copy here)
        f.unlink()
    plan = sw.Sweep(trials=1, workers=1, epochs=1, val_split=100, data_dir=str(tiny_dir),
                    space=sw.Space(hidden=(8,), batch_size=(32,)),
                    db_path=str(tmp_path / "h.sqlite"),
                    storage=f"sqlite:///{tmp_path / 's.db'}")
    with pytest.raises(sw.SweepError, match=r"^the sweep stopped: worker 0: \w+"):
        sw.run(plan)


def test_the_workers_write_where_the_sweep_was_started_not_where_the_fork_server_was(
        tiny, tmp_path, monkeypatch):
    """The workers come from the fork server, started earlier with another XDG_DATA_HOME (in CI:
    by an earlier test; for a user: by the dashboard before a setting changed). Before, the
    trials went to the fork server's sweeps.sqlite and this one held none, the sweep "done"."""
    from multiprocessing import forkserver

    from mnist_tui.core.engine import Engine

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "before"))
    forkserver.ensure_running()
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "now"))
    engine = Engine(tiny)
    try:
        plan = sw.Sweep(trials=1, workers=1, epochs=1, val_split=100,
                        space=sw.Space(hidden=(8,), batch_size=(32,), lr=(0.01, 0.05)))
        study = sw.run(plan, shared=engine.shared)
    finally:
        engine.close()
    assert len(study.trials) == 1
    con = sqlite3.connect(tmp_path / "now" / "mnist-tui" / "sweeps.sqlite")
    try:
        assert con.execute("SELECT count(*) FROM trials").fetchone()[0] == 1
    finally:
        con.close()
    assert not (tmp_path / "before" / "mnist-tui" / "sweeps.sqlite").exists()


def test_a_worker_that_fails_prints_no_traceback_on_the_terminal(tiny_dir, tmp_path):
    """The workers write on the terminal of the process that started them: in the dashboard a
    failed worker's traceback was painted over the Sweep tab (a fresh user's check, 80x24).
    Its error is the sweep's one line; nothing of it is printed by the worker itself."""
    import subprocess

    for f in tiny_dir.iterdir():
        f.unlink()
    code = f"""
import sys
from mnist_tui.core import sweep as sw
plan = sw.Sweep(trials=1, workers=1, epochs=1, val_split=100, data_dir={str(tiny_dir)!r},
                space=sw.Space(hidden=(8,), batch_size=(32,)), db_path={str(tmp_path / 'h.sqlite')!r},
                storage={'sqlite:///' + str(tmp_path / 's.db')!r})
try:
    sw.run(plan)
except sw.SweepError as e:
    print(e)
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert done.stdout.startswith("the sweep stopped: worker 0: "), done
    assert "Traceback" not in done.stderr and "File \"" not in done.stderr, done.stderr
