"""Builders shared by the tests: tiny seeded datasets and IDX files written from arrays."""

from __future__ import annotations

import gzip
import select
import time
from pathlib import Path

import numpy as np

from mnist_tui.core.data import FILES, IMAGE_MAGIC, LABEL_MAGIC, Dataset


def idx_images(images: np.ndarray, rows: int = 28, cols: int = 28, magic: int = IMAGE_MAGIC) -> bytes:
    header = b"".join(int(v).to_bytes(4, "big") for v in (magic, len(images), rows, cols))
    return header + np.asarray(images, dtype=np.uint8).tobytes()


def idx_labels(labels: np.ndarray, magic: int = LABEL_MAGIC) -> bytes:
    return magic.to_bytes(4, "big") + len(labels).to_bytes(4, "big") + np.asarray(labels, np.uint8).tobytes()


def tiny_dataset(n_train: int = 600, n_test: int = 200, seed: int = 0) -> Dataset:
    """Ten noisy prototype 'digits': learnable in a few epochs, so tests can check progress."""
    rng = np.random.default_rng(seed)
    protos = (rng.random((10, 784)) < 0.2) * 255.0

    def make(n):
        y = np.arange(n) % 10
        rng.shuffle(y)
        x = protos[y] * (rng.random((n, 784)) < 0.8) + rng.random((n, 784)) * 60
        return np.clip(x, 0, 255).astype(np.uint8), y.astype(np.uint8)

    tx, ty = make(n_train)
    vx, vy = make(n_test)
    return Dataset(tx, ty, vx, vy, source="tiny")


def write_dataset(directory: Path, ds: Dataset) -> Path:
    """Write ds as the four gzip IDX files that the loader expects."""
    directory.mkdir(parents=True, exist_ok=True)
    blobs = [
        idx_images(ds.train_images), idx_labels(ds.train_labels),
        idx_images(ds.test_images), idx_labels(ds.test_labels),
    ]
    for name, blob in zip(FILES, blobs, strict=True):
        (directory / name).write_bytes(gzip.compress(blob, compresslevel=1))
    return directory


async def wait_for(pilot, condition, timeout: float = 20.0) -> None:
    """Poll a condition while letting the app run (a worker may not exist yet after a key)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        await pilot.pause(0.02)


async def start_and_wait_for_an_epoch(app, pilot) -> None:
    """Press s, then wait until the run has finished its first epoch."""
    await pilot.press("s")
    await wait_for(pilot, lambda: app.main.history["epoch"])


async def burst(app, pilot, keys: list[str] | str) -> None:
    """Send keys the way a laggy SSH link delivers them: all queued at once, no idle between.

    Pilot's `press` waits for the app to go idle after every key, which hides ordering bugs.
    """
    from textual import events
    from textual.app import _character_to_key

    for key in keys:
        char = {"backspace": "\x7f", "enter": "\r", "tab": "\t"}.get(key, key if len(key) == 1 else None)
        if len(key) == 1 and not key.isalnum():
            key = _character_to_key(key)
        event = events.Key(key, char)
        event.set_sender(app)
        app._driver.send_message(event)
    await pilot.pause(0.2)


def raising_entry(spec, config, weights, progress_interval, events, commands) -> None:
    """A run process that fails as a trainer with a bug would: it reports the exception."""
    from mnist_tui.core.engine import _Outbox
    from mnist_tui.core.events import Failed

    outbox = _Outbox(events)
    try:
        raise RuntimeError("simulated fault")
    except RuntimeError as e:
        outbox.put(Failed(f"{type(e).__name__}: {e}", "traceback"))
    outbox.close()


def crashing_entry(spec, config, weights, progress_interval, events, commands) -> None:
    """A run process that dies without a word, as on a segfault in native code."""
    import os

    os._exit(3)


def marked_processes(marker: str) -> list[int]:
    """Live processes whose environment holds MNIST_TUI_TEST_MARK=marker (zombies excluded)."""
    import os

    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as f:
                env = f.read()
            with open(f"/proc/{entry}/stat") as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if f"MNIST_TUI_TEST_MARK={marker}".encode() in env.split(b"\0") and state != "Z":
            found.append(int(entry))
    return found


# --- a fake run history: 6 test samples, labels 0..5 (tests of suspect labels) ---

FAKE_LABELS = np.array([0, 1, 2, 3, 4, 5], dtype=np.uint8)


def fake_epoch(pred, conf, epoch=1):
    from mnist_tui.core.events import EpochEnd

    proba = np.full((len(pred), 10), 0.0, np.float32)
    for i, (c, p) in enumerate(zip(pred, conf, strict=True)):
        proba[i] = (1 - p) / 9
        proba[i, c] = p
    return EpochEnd(epoch, epoch, 0.1, 0.9, 0.1, float(np.mean(np.array(pred) == FAKE_LABELS)), 0.1, 1.0,
                    1.0, np.zeros((10, 10), int), proba, ())


def add_fake_run(db, seed, pred, conf, status="done", dataset="mnist"):
    from mnist_tui.core.config import TrainConfig
    from mnist_tui.core.store import Store

    s = Store(db)
    rid = s.start_run(TrainConfig(seed=seed, dataset=dataset))
    s.set_labels(rid, FAKE_LABELS)
    s.add_predictions(rid, fake_epoch([9] * 6, [0.99] * 6), 1)  # an earlier epoch: ignored
    s.add_predictions(rid, fake_epoch(pred, conf, 2), 2)
    s.finish_run(rid, status)
    s.close()
    return rid


def readline_within(stream, seconds: float = 30):
    """The next line from a child's pipe, or a failure after `seconds`: a child that hangs
    fails the test with a reason, well before the global timeout (300 s)."""
    ready, _, _ = select.select([stream], [], [], seconds)
    assert ready, f"no line from the child within {seconds} s"
    return stream.readline()


# Every module of mnist_tui/core, and each module of its packages as "package.module": the
# import-hygiene tests (unit: the list is whole; integration: none imports Textual or Rich) read
# this one list.
CORE_MODULES = ("augment", "calibration", "checkpoint", "compare", "config", "data", "draw",
                "engine", "events", "files", "forgetting", "history", "host", "host_folder",
                "host_viewer", "idx", "insight", "loader", "local_run", "machine", "metrics",
                "model", "optim", "outbox", "race", "recording", "remote", "render", "resources", "session",
                "shared", "store", "store.connection", "store.queries", "store.rows",
                "store.schema", "store.writes", "suspects", "sweep", "sweep.plan",
                "sweep.results", "sweep.storage", "sweep.workers", "train")


def until(condition, what: str, seconds: float = 60.0, poll=None):
    """Poll `condition` (from a plain thread or test, not an event loop) until it is truthy;
    its value. Fails naming `what` after `seconds`; `poll` runs between tries (default: a
    50 ms sleep), e.g. to drain a pty."""
    import time

    end = time.monotonic() + seconds
    while True:
        value = condition()
        if value:
            return value
        assert time.monotonic() < end, f"timed out waiting for {what}"
        (poll or (lambda: time.sleep(0.05)))()


def db_rows(db, sql: str) -> list:
    """The rows of `sql` in history `db`, read by a connection of the test's own (closed after);
    [] while the file or its tables do not exist yet or it is locked."""
    import sqlite3

    try:
        con = sqlite3.connect(db)
    except sqlite3.Error:
        return []
    try:
        return con.execute(sql).fetchall()
    except sqlite3.Error:
        return []
    finally:
        con.close()
