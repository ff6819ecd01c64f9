"""The engine: runs in child processes, events back, commands in, faults reported, no orphans."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import numpy as np
import pytest
from helpers import crashing_entry, marked_processes, raising_entry, readline_within

from mnist_tui.core.config import TrainConfig
from mnist_tui.core.engine import Engine, Started, exit_reason
from mnist_tui.core.events import BatchProgress, EpochEnd, Failed, Finished, LiveChanged, Weights
from mnist_tui.core.model import Perceptron
from mnist_tui.core.train import train

QUICK = TrainConfig(hidden=16, epochs=3, batch_size=32, lr=0.05)
LONG = TrainConfig(hidden=16, epochs=1000, batch_size=8)


@pytest.fixture
def engine(tiny):
    with Engine(tiny) as e:
        yield e


def collect(handle, timeout: float = 60):
    return list(handle.events(timeout=timeout))


def test_a_run_in_a_child_gives_bit_identical_metrics_to_the_in_process_loop(engine, tiny):
    events = collect(engine.start(QUICK))
    assert isinstance(events[0], Started) and events[0].pid != os.getpid()
    child = [e for e in events if isinstance(e, EpochEnd)]
    local = [e for e in train(QUICK, tiny) if isinstance(e, EpochEnd)]
    assert len(child) == len(local) == 3
    for a, b in zip(child, local, strict=True):
        assert (a.train_loss, a.train_acc, a.test_loss, a.test_acc, a.lr) == (
            b.train_loss, b.train_acc, b.test_loss, b.test_acc, b.lr)
        assert np.array_equal(a.test_proba, b.test_proba) and np.array_equal(a.confusion, b.confusion)
    assert isinstance(events[-1], Finished) and not events[-1].stopped


def test_weights_arrive_at_each_epoch_end_and_at_the_end(engine, tiny):
    events = collect(engine.start(QUICK))
    weights = [e for e in events if isinstance(e, Weights)]
    assert [w.epoch for w in weights][:3] == [1, 2, 3]
    model = Perceptron(QUICK.hidden, seed=QUICK.seed)  # the same run, in this process
    for _ in train(QUICK, tiny, model=model):
        pass
    assert np.array_equal(weights[-1].W1, model.W1) and np.array_equal(weights[-1].b2, model.b2)


def test_a_slow_reader_never_holds_the_child_up_and_loses_no_batch_loss(engine, tiny):
    got = []

    def slow(event):
        got.append(event)
        time.sleep(0.03)

    config = TrainConfig(hidden=16, epochs=20, batch_size=16)
    handle = engine.start(config, on_event=slow, progress_interval=0)
    assert handle.ended.wait(120)
    progress = [e for e in got if isinstance(e, BatchProgress)]
    n_batches = -(-tiny.n_train // 16)
    assert sum(len(p.losses) for p in progress) == 20 * n_batches  # every batch's loss
    assert len(progress) < 20 * n_batches  # ... in fewer, merged reports


def test_pause_resume_live_change_weights_on_request_and_stop(engine):
    got = []
    handle = engine.start(LONG, on_event=got.append, progress_interval=0.02)
    deadline = time.monotonic() + 30
    while not any(isinstance(e, BatchProgress) for e in got):
        assert time.monotonic() < deadline
        time.sleep(0.01)
    handle.pause()
    time.sleep(0.3)
    n = len(got)
    time.sleep(0.5)
    assert len(got) == n  # paused: nothing moves
    handle.request_weights()
    while not isinstance(got[-1], Weights):
        assert time.monotonic() < deadline
        time.sleep(0.01)
    handle.set_live("lr", 0.0125)
    handle.resume()
    while not any(isinstance(e, LiveChanged) for e in got):
        assert time.monotonic() < deadline
        time.sleep(0.01)
    change = next(e for e in got if isinstance(e, LiveChanged))
    assert (change.name, change.value) == ("lr", 0.0125)
    later = [e for e in got[got.index(change):] if isinstance(e, BatchProgress)]
    while not later:
        assert time.monotonic() < deadline
        time.sleep(0.01)
        later = [e for e in got[got.index(change):] if isinstance(e, BatchProgress)]
    assert later[0].lr <= 0.0125
    handle.stop()
    assert handle.ended.wait(5)
    assert isinstance(got[-1], Finished) and got[-1].stopped
    assert handle.join(2) and handle.process.exitcode == 0


def test_a_child_killed_by_sigkill_is_reported_with_the_signal(engine):
    got = []
    handle = engine.start(LONG, on_event=got.append)
    deadline = time.monotonic() + 30
    while not any(isinstance(e, BatchProgress) for e in got):
        assert time.monotonic() < deadline
        time.sleep(0.01)
    os.kill(handle.pid, signal.SIGKILL)
    assert handle.ended.wait(5)
    assert isinstance(got[-1], Failed)
    assert "killed by SIGKILL (signal 9)" in got[-1].message
    events = collect(engine.start(QUICK))  # the engine still works
    assert isinstance(events[-1], Finished)


def test_a_child_that_raises_or_exits_is_reported(engine):
    engine.entry = raising_entry
    events = collect(engine.start(QUICK))
    assert isinstance(events[-1], Failed) and events[-1].message == "RuntimeError: simulated fault"
    engine.entry = crashing_entry
    events = collect(engine.start(QUICK))
    assert isinstance(events[-1], Failed) and "exited with code 3" in events[-1].message


def test_exit_reasons_in_words():
    assert exit_reason(-9) == "killed by SIGKILL (signal 9)"
    assert exit_reason(-15) == "killed by SIGTERM (signal 15)"
    assert exit_reason(2) == "exited with code 2"


def test_several_runs_at_once_and_close_ends_them_all_within_a_second(tiny):
    engine = Engine(tiny)
    handles = [engine.start(TrainConfig(hidden=8, epochs=1000, batch_size=8, seed=s))
               for s in range(3)]
    firsts = []
    for h in handles:
        for e in h.events(timeout=30):
            if isinstance(e, BatchProgress):
                firsts.append(e)
                break
    assert len(firsts) == 3 and len({h.pid for h in handles}) == 3
    t0 = time.monotonic()
    engine.close()
    assert time.monotonic() - t0 < 1.0
    assert all(not h.alive for h in handles)
    with pytest.raises(RuntimeError):
        engine.start(QUICK)


ORPHAN_SCRIPT = textwrap.dedent("""
    import sys, time
    sys.path.insert(0, {tests!r})
    from helpers import tiny_dataset
    from mnist_tui.core.config import TrainConfig
    from mnist_tui.core.engine import Engine

    if __name__ == "__main__":
        engine = Engine(tiny_dataset())
        handle = engine.start(TrainConfig(hidden=8, epochs=1000, batch_size=8))
        for event in handle.events(timeout=30):
            if type(event).__name__ == "BatchProgress":
                handle.pause()  # a paused run sends nothing: only the closed command pipe tells
                print(handle.pid, flush=True)
                break
        time.sleep(60)
""")


def test_a_paused_child_whose_parent_is_killed_ends_by_itself(tmp_path):
    marker = uuid.uuid4().hex
    script = tmp_path / "parent.py"
    script.write_text(ORPHAN_SCRIPT.format(tests=str(Path(__file__).parents[1])))
    env = {**os.environ, "MNIST_TUI_TEST_MARK": marker}
    parent = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, env=env,
                              text=True)
    try:
        child_pid = int(readline_within(parent.stdout))
        assert child_pid in marked_processes(marker)
        parent.kill()  # SIGKILL: no cleanup code runs in the parent
        parent.wait(5)
        deadline = time.monotonic() + 5
        while marked_processes(marker):
            assert time.monotonic() < deadline, f"left behind: {marked_processes(marker)}"
            time.sleep(0.05)
    finally:
        parent.kill()
        for pid in marked_processes(marker):
            os.kill(pid, signal.SIGKILL)


def test_the_shared_dataset_keeps_its_name(tiny):
    import dataclasses

    from mnist_tui.core.engine import Engine, attach

    fashion = dataclasses.replace(tiny, name="fashion")
    with Engine(fashion) as engine:
        assert engine.dataset.name == "fashion" and attach(engine.shared).name == "fashion"


def test_revive_a_unit_of_a_paused_run(engine):
    """A paused run re-initialises one hidden unit on request: a LiveChanged("revive") and the
    new weights come back while it stays paused; only that unit changed."""
    got = []
    handle = engine.start(LONG, on_event=got.append, progress_interval=0.02)
    deadline = time.monotonic() + 30
    while not any(isinstance(e, BatchProgress) for e in got):
        assert time.monotonic() < deadline
        time.sleep(0.01)
    handle.pause()
    time.sleep(0.3)
    handle.request_weights()
    while not isinstance(got[-1], Weights):
        assert time.monotonic() < deadline
        time.sleep(0.01)
    before = got[-1]
    handle.revive(3)
    while not isinstance(got[-1], Weights) or got[-1] is before:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    after = got[-1]
    change = got[-2]
    assert isinstance(change, LiveChanged) and (change.name, change.value) == ("revive", 3.0)
    others = [j for j in range(before.W1.shape[1]) if j != 3]
    np.testing.assert_array_equal(after.W1[:, others], before.W1[:, others])
    np.testing.assert_array_equal(after.W2[others], before.W2[others])
    assert not np.array_equal(after.W1[:, 3], before.W1[:, 3]) and after.b1[3] == 0
    n = len(got)
    time.sleep(0.4)
    assert len(got) == n  # still paused
    handle.stop()
    assert handle.join(10)


SHM_SCRIPT = textwrap.dedent("""
    import sys, time
    sys.path.insert(0, {tests!r})
    from multiprocessing import forkserver
    from helpers import tiny_dataset
    from mnist_tui.core.config import TrainConfig
    from mnist_tui.core.engine import Engine

    if __name__ == "__main__":
        engine = Engine(tiny_dataset())
        handle = engine.start(TrainConfig(hidden=8, epochs=1000, batch_size=8))
        for event in handle.events(timeout=30):
            if type(event).__name__ == "BatchProgress":
                break
        print(handle.pid, forkserver._forkserver._forkserver_pid, flush=True)
        time.sleep(60)
""")


def shm_mapped(pid: int) -> set[str]:
    """The /dev/shm files a process has mapped (shared-memory blocks with a name)."""
    try:
        with open(f"/proc/{pid}/maps") as f:
            return {line.split(None, 5)[5].strip() for line in f
                    if len(line.split(None, 5)) == 6 and "/dev/shm/" in line}
    except OSError:
        return set()


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="needs /proc (Linux)")
@pytest.mark.parametrize("victim", ["app", "fork server", "run", "app, then its terminal"])
def test_no_shared_memory_block_outlives_a_kill_9(tmp_path, victim):
    """kill -9 of the app, of the fork server or of a run, then of the app too: within 5 s no
    /dev/shm block that any of them mapped is left (a named block outlives SIGKILL of its
    creator and of its resource tracker until reboot)."""
    script = tmp_path / "app.py"
    script.write_text(SHM_SCRIPT.format(tests=str(Path(__file__).parents[1])))
    app = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True,
                           start_new_session=True)  # its own process group, as in a terminal
    try:
        run_pid, server_pid = map(int, readline_within(app.stdout).split())
        blocks = shm_mapped(app.pid) | shm_mapped(run_pid)
        with open(f"/proc/{run_pid}/maps") as f:  # the run reads the dataset from a shared block
            assert blocks or "memfd:mnist-tui-dataset" in f.read()
        if victim == "app, then its terminal":  # the window closes: SIGHUP to the whole group
            os.kill(app.pid, signal.SIGKILL)
            os.killpg(app.pid, signal.SIGHUP)
        for pid in {"app": [app.pid], "fork server": [server_pid, app.pid],
                    "run": [run_pid, app.pid]}.get(victim, []):
            os.kill(pid, signal.SIGKILL)
            time.sleep(0.2)
        app.wait(5)
        deadline = time.monotonic() + 5
        while [b for b in blocks if os.path.exists(b)]:
            assert time.monotonic() < deadline, f"left in /dev/shm: {blocks}"
            time.sleep(0.1)
    finally:
        app.kill()
        app.wait(5)
