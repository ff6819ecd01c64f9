"""The augmentation loader process (core/loader.py): the same batches as the training thread
makes, and nothing left behind when the run ends, stops early, or its trainer is killed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from helpers import readline_within

from mnist_tui.core import loader, train
from mnist_tui.core.config import TrainConfig
from mnist_tui.core.events import EpochEnd, Finished
from mnist_tui.core.model import Perceptron


def _run(tiny, kind, use_loader, **changes):
    config = TrainConfig(**{"hidden": 16, "epochs": 2, "batch_size": 48, "lr": 0.05,
                            "augment": kind, "seed": 3, **changes})
    model = Perceptron(config.hidden, seed=config.seed)
    events = list(train.train(config, tiny, model=model, loader=use_loader))
    return model, events


@pytest.mark.parametrize("kind", ["affine", "elastic"])
def test_the_loader_gives_the_training_thread_s_results_bit_for_bit(tiny, kind):
    # 600 samples in batches of 48: a short last batch, and a validation split of its own stream
    plain, plain_events = _run(tiny, kind, use_loader=False, val_split=50)
    loaded, loaded_events = _run(tiny, kind, use_loader=True, val_split=50)
    for name, p in plain.params().items():
        assert np.array_equal(p, loaded.params()[name]), name
    ends = [(e.train_loss, e.test_acc, e.val_acc) for e in plain_events if isinstance(e, EpochEnd)]
    assert ends == [(e.train_loss, e.test_acc, e.val_acc) for e in loaded_events
                    if isinstance(e, EpochEnd)]
    assert isinstance(loaded_events[-1], Finished)


def test_batches_match_slot_by_slot_across_epochs(tiny):
    perm_a, perm_b = np.random.default_rng(0).permutation(600), np.random.default_rng(1).permutation(600)
    ref = loader.InProcessBatches(tiny.train_images, "affine", 7, 64, np.float32)
    with loader.LoaderBatches(tiny.train_images, "affine", 7, 64, np.float32) as fast:
        for perm in (perm_a, perm_b):
            ref.epoch(perm)
            fast.epoch(perm)
            for b in range(10):  # 9 full batches and one of 24
                want = ref.get(b).copy()
                got = fast.get(b)
                assert got.shape == want.shape and np.array_equal(got, want), b
                fast.release()


def _stat(pid: int) -> list[str] | None:
    """/proc/PID/stat's fields after the command name (state, ppid, ...), or None if gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rpartition(")")[2].split()
    except (FileNotFoundError, ProcessLookupError):
        return None


def _children(pid: int | None = None) -> set[int]:
    pid = os.getpid() if pid is None else pid
    found = set()
    for name in os.listdir("/proc"):
        if name.isdigit() and (st := _stat(int(name))) and int(st[1]) == pid and st[0] != "Z":
            found.add(int(name))
    return found


def _gone(pid: int) -> bool:
    st = _stat(pid)
    return st is None or st[0] in ("Z", "X")


def test_the_loader_ends_with_the_run_and_when_the_run_is_abandoned(tiny):
    before = _children()
    _run(tiny, "affine", use_loader=True, epochs=1)
    assert _children() == before  # ended and reaped
    config = TrainConfig(hidden=16, epochs=3, batch_size=48, augment="elastic")
    run = train.train(config, tiny, loader=True)
    next(run)  # the first batch's progress: the loader is up
    extra = _children() - before
    assert len(extra) == 1
    run.close()  # the consumer walks away mid-epoch (a stop, a sweep pruning the trial)
    assert _children() == before


def _mapping_of(pid: int, address: int) -> str:
    """The line of /proc/PID/maps whose range holds `address`."""
    for line in _maps(pid).splitlines():
        start, end = (int(x, 16) for x in line.split()[0].split("-"))
        if start <= address < end:
            return line
    raise AssertionError(f"{address:#x} is not mapped in {pid}")


def test_the_batch_buffers_have_no_name_in_dev_shm(tiny):
    """Anonymous shared memory: no /dev/shm entry exists that a kill could leave behind."""
    with loader.LoaderBatches(tiny.train_images, "affine", 0, 64, np.float32) as batches:
        assert len(batches.mapping) == loader.SLOTS * 64 * 784 * 4
        address = batches.slots.ctypes.data
        lines = [_mapping_of(pid, address) for pid in (os.getpid(), batches.pid)]
    for line in lines:  # shared and anonymous: Linux shows it as /dev/zero
        assert "/dev/shm" not in line and line.split()[1][3] == "s", line


TRAINER = """
import sys, time
from mnist_tui.core import data, train
from mnist_tui.core.config import TrainConfig
ds = data.load(sys.argv[1])
config = TrainConfig(hidden=16, epochs=1000, batch_size=32, augment="elastic")
for i, ev in enumerate(train.train(config, ds, progress_interval=0.0, loader=True)):
    if i == 3:
        print("training", flush=True)
"""


def test_kill_9_of_the_trainer_ends_the_loader_and_leaves_nothing(tiny_dir, tmp_path):
    shm_before = set(os.listdir("/dev/shm"))
    trainer = subprocess.Popen([sys.executable, "-c", TRAINER, str(tiny_dir)],
                               stdout=subprocess.PIPE, text=True)
    try:
        assert readline_within(trainer.stdout).strip() == "training"
        loaders = _children(trainer.pid)
        assert len(loaders) == 1
        (loader_pid,) = loaders
        os.kill(trainer.pid, signal.SIGKILL)
        trainer.wait(timeout=30)
        deadline = time.monotonic() + 10
        while not _gone(loader_pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _gone(loader_pid), "the loader outlived its trainer"
    finally:
        if trainer.poll() is None:
            trainer.kill()
            trainer.wait(timeout=30)
    for name in set(os.listdir("/dev/shm")) - shm_before:  # blocks other processes made meanwhile
        assert any(name in _maps(int(p)) for p in os.listdir("/proc") if p.isdigit()), \
            f"/dev/shm/{name} outlived every process"


def _maps(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/maps") as f:
            return f.read()
    except OSError:
        return ""


def test_a_loader_that_fails_says_why(tiny):
    cut = np.ascontiguousarray(tiny.train_images[:, :100])  # not 28x28 images: distort raises
    with loader.LoaderBatches(cut, "affine", 0, 64, np.float32) as batches:
        batches.epoch(np.arange(600))
        with pytest.raises(loader.LoaderError, match="Traceback"):
            batches.get(0)


def test_an_augmented_run_leaves_the_loader_a_core(tiny):
    """One BLAS thread beside the loader: two would make three busy threads on two cores."""
    from threadpoolctl import threadpool_info

    from mnist_tui.core.resources import blas_threads

    assert blas_threads(128, 800) is None and blas_threads(128, 800, "affine") == 1
    config = TrainConfig(hidden=800, epochs=1, batch_size=128, augment="affine")
    run = train.train(config, tiny, loader=True)
    next(run)
    threads = {i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"}
    run.close()
    assert threads == {1}


def test_an_augmented_run_in_the_engine_s_daemonic_child_has_its_loader_and_the_same_results(tiny):
    """multiprocessing forbids a daemonic process children; the loader is an os.fork, so the
    dashboard's runs (engine children) get one too, with the in-process results."""
    from mnist_tui.core.engine import Engine, Started

    config = TrainConfig(hidden=16, epochs=2, batch_size=48, lr=0.05, augment="affine", seed=1)
    local = [e for e in train.train(config, tiny, loader=False) if isinstance(e, EpochEnd)]
    with Engine(tiny) as engine:
        handle = engine.start(config)
        events = list(handle.events(timeout=120))
    assert isinstance(events[0], Started) and isinstance(events[-1], Finished), events[-1]
    child = [e for e in events if isinstance(e, EpochEnd)]
    assert [(e.train_loss, e.test_acc) for e in child] == [(e.train_loss, e.test_acc) for e in local]


def test_training_with_augmentation_is_deterministic_and_learns(tiny):
    cfg = TrainConfig(hidden=16, epochs=2, batch_size=32, lr=0.05, augment="affine")
    runs = [[e.test_loss for e in train.train(cfg, tiny) if isinstance(e, EpochEnd)] for _ in range(2)]
    assert runs[0] == runs[1]
    plain = [e.test_loss for e in train.train(TrainConfig(hidden=16, epochs=2, batch_size=32, lr=0.05), tiny)
             if isinstance(e, EpochEnd)]
    assert runs[0] != plain
