"""The race command: racers trained in child processes and recorded."""

from __future__ import annotations

import json

from mnist_tui.cli import main


def test_the_race_command_runs_the_racers_and_records_each(tiny_dir, tmp_path, capsys):
    import sqlite3


    db = tmp_path / "h.sqlite"
    assert main(["race", "optimizer", "sgd,adam", "--data-dir", str(tiny_dir), "--epochs", "2",
                 "--hidden", "8", "--batch-size", "16", "--db", str(db), "--json"]) == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert len([x for x in lines if x["event"] == "epoch"]) == 4
    done = lines[-1]
    assert done["event"] == "done" and {r["racer"] for r in done["racers"]} == {
        "sgd lr=0.1", "adam lr=0.001"}
    con = sqlite3.connect(db)
    rows = con.execute("SELECT config, status FROM runs").fetchall()
    con.close()
    configs = [json.loads(c) for c, _ in rows]
    assert sorted(c["optimizer"] for c in configs) == ["adam", "sgd"]
    # no --lr: each optimizer starts from its own default (Adam at momentum's 0.1 was a bug)
    assert sorted((c["optimizer"], c["lr"]) for c in configs) == [("adam", 0.001), ("sgd", 0.1)]
    assert {s for _, s in rows} == {"done"}
    assert main(["race", "lr", "0.1", "--data-dir", str(tiny_dir)]) == 2
