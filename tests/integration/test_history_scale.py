"""The store at 10,000 runs: pages, counts, indexes, and scans that read only what they need."""

from __future__ import annotations

import sqlite3

import pytest

from mnist_tui.core import insight, suspects
from mnist_tui.core.store import Store


@pytest.mark.slow
def test_the_big_history_is_what_the_bench_says(big_history):
    with Store(big_history, readonly=True) as db:
        assert db.count_runs() == 10_000
        run = db.run(10_000)
        assert run["epochs"]["epoch"] == list(range(1, 21))
        stored = db.predictions(10_000)
        assert stored is not None and stored[0].shape == (20, 50)


@pytest.mark.slow
def test_pages_are_the_newest_first_slices_of_every_run(big_history):
    with Store(big_history, readonly=True) as db:
        first = db.runs(limit=100)
        last = db.runs(limit=100, offset=9_950)  # past the end: what is there
        middle = db.runs(limit=3, offset=5_000)
    assert [r["id"] for r in first] == list(range(10_000, 9_900, -1))
    assert [r["id"] for r in last] == list(range(50, 0, -1))
    assert [r["id"] for r in middle] == [5_000, 4_999, 4_998]
    assert all(r["epochs"] == 20 and r["confusion"] is not None for r in first)


@pytest.mark.slow
def test_a_page_reads_the_same_rows_as_the_whole_list(tmp_path):
    from helpers import fake_epoch

    from mnist_tui.core.config import TrainConfig

    with Store(tmp_path / "h.sqlite") as db:
        for seed in range(7):
            rid = db.start_run(TrainConfig(seed=seed))
            db.add_epoch(rid, fake_epoch([0, 1, 2, 3, 4, 5], [0.9] * 6), 1)
            db.finish_run(rid, "done")
        every = db.runs()
        assert db.runs(limit=3, offset=2) == every[2:5]
        assert [r["confusion"] for r in db.runs(confusion=False)] == [None] * 7
        assert db.count_runs() == 7


@pytest.mark.slow
def test_the_indexes_the_queries_need_exist(tmp_path):
    Store(tmp_path / "h.sqlite").close()
    con = sqlite3.connect(tmp_path / "h.sqlite")
    names = {n for (n,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    plan = " ".join(str(r) for r in con.execute(
        "EXPLAIN QUERY PLAN SELECT id, pid FROM runs WHERE status = 'running' AND host = 'h'"))
    con.close()
    assert {"runs_status_host", "live_changes_run"} <= names
    assert "runs_status_host" in plan


@pytest.mark.slow
def test_suspects_reads_the_predictions_of_each_config_once(big_history, monkeypatch):
    """10,000 runs of 125 configs: only the newest usable run of each config is read."""
    reads = []
    original = Store.final_predictions

    def counting(self, run_id):
        reads.append(run_id)
        return original(self, run_id)

    monkeypatch.setattr(Store, "final_predictions", counting)
    with Store(big_history, readonly=True) as db:
        _, evidence = suspects.find(db)
    assert len(evidence.run_ids) == 100  # 25 of the 125 configs are copies of a diverged run
    assert len(reads) == 100  # the diverged newest of a config is not read; older copies neither


@pytest.mark.slow
def test_the_ghost_reads_epochs_only_of_runs_that_reached_the_target(big_history, monkeypatch):
    reads = []
    original = Store.epoch_series
    monkeypatch.setattr(Store, "epoch_series",
                        lambda self, i: reads.append(i) or original(self, i))
    import socket

    with Store(big_history, readonly=True) as db:
        ghost = insight.fastest_to_target(db, "mnist", target=0.99, host=socket.gethostname())
        reached = sum(1 for r in db.runs(confusion=False) if (r["best_test_acc"] or 0) >= 0.99)
    assert ghost is not None and len(reads) == reached and 0 < reached < 10_000


@pytest.mark.slow
def test_runs_list_pages_with_limit_and_offset(big_history, capsys):
    from mnist_tui.cli import main

    assert main(["runs", "list", "--db", str(big_history), "--limit", "3"]) == 0
    out, err = capsys.readouterr()
    assert [line.split()[0] for line in out.splitlines()[1:]] == ["10000", "9999", "9998"]
    assert "--offset 3" in err and "of 10000" in err  # the way on, on stderr: stdout stays rows
    assert main(["runs", "list", "--db", str(big_history), "--limit", "5", "--offset", "9998"]) == 0
    out, err = capsys.readouterr()
    assert [line.split()[0] for line in out.splitlines()[1:]] == ["2", "1"] and err == ""
    assert main(["runs", "list", "--db", str(big_history), "--offset", "10000"]) == 0
    assert "no runs past the 10000 newest" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exit_:
        main(["runs", "list", "--db", str(big_history), "--limit", "0"])
    assert exit_.value.code == 2 and capsys.readouterr().err.count("\n") == 1


@pytest.mark.slow
def test_runs_list_without_a_limit_still_lists_every_run(big_history, capsys):
    from mnist_tui.cli import main

    assert main(["runs", "list", "--db", str(big_history)]) == 0
    out, err = capsys.readouterr()
    ids = [int(line.split()[0]) for line in out.splitlines()[1:]]
    assert ids == list(range(10_000, 0, -1)) and err == ""
