"""RunSession and Race: one run's lifecycle (history, record, state, live values) for every
front end, and a race of sessions."""

from __future__ import annotations

import time

from mnist_tui.core.config import TrainConfig
from mnist_tui.core.engine import Engine
from mnist_tui.core.events import EpochEnd, Finished
from mnist_tui.core.recording import status_of
from mnist_tui.core.session import Race, RunSession
from mnist_tui.core.store import Store

QUICK = TrainConfig(hidden=16, epochs=2, batch_size=32, lr=0.05)
LONG = TrainConfig(hidden=16, epochs=1000, batch_size=8)


def test_a_session_records_its_run_and_ends_in_the_status_its_last_event_names(tiny, tmp_path):
    db = tmp_path / "h.sqlite"
    seen = []
    with Engine(tiny) as engine:
        session = RunSession(engine, QUICK, db_path=db, on_event=lambda s, e: seen.append(e))
        assert session.state == "starting"
        session.start()
        assert session.wait(60)
    assert session.state == "done" == status_of(session.outcome)
    assert isinstance(seen[-1], Finished) and sum(isinstance(e, EpochEnd) for e in seen) == 2
    assert len(session.history) == 2
    with Store(db, readonly=True) as store:
        run = store.run(session.db_run_id)
    assert run["status"] == "done" and len(run["epochs"]["epoch"]) == 2


def test_a_session_pauses_takes_a_live_lr_and_stops_as_stopped(tiny, tmp_path):
    with Engine(tiny) as engine:
        session = RunSession(engine, LONG, db_path=tmp_path / "h.sqlite",
                             progress_interval=0.02).start()
        deadline = time.monotonic() + 30
        while session.history.progress is None:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        session.pause()
        assert session.state == "paused" and session.paused
        session.set_live("lr", 0.002)
        assert session.value("lr") == 0.002 and session.value("momentum") == LONG.momentum
        session.resume()
        assert session.state == "training"
        while not session.history.live_changes:  # applied at the next batch boundary
            assert time.monotonic() < deadline
            time.sleep(0.01)
        session.stop()
        assert session.wait(30)
    assert session.state == "stopped"
    assert [(c.name, c.value) for c in session.history.live_changes] == [("lr", 0.002)]


def test_a_race_runs_every_racer_with_one_thread_and_records_each(tiny, tmp_path):
    db = tmp_path / "h.sqlite"
    configs = [QUICK, TrainConfig(hidden=16, epochs=2, batch_size=32, lr=0.01)]
    with Engine(tiny) as engine:
        race = Race(engine, configs, ["lr=0.05", "lr=0.01"], db_path=db).start()
        assert race.wait(60) and race.over
    assert {s.state for s in race} == {"done"} and len({s.handle.pid for s in race}) == 2
    with Store(db, readonly=True) as store:
        assert sorted(r["status"] for r in store.runs()) == ["done", "done"]
