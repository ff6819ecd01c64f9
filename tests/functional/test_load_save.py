"""The dashboard on users' machines (issue 21): a folder named in Latin-1, two saves in one
second, a checkpoint whose numbers overflow. Pilot, on the tiny dataset."""

from __future__ import annotations

import os
import sqlite3

import numpy as np
from helpers import wait_for
from textual.widgets import Input

from mnist_tui.core import checkpoint
from mnist_tui.core.config import TrainConfig
from mnist_tui.core.model import Perceptron
from mnist_tui.ui.app import make_app

QUICK = TrainConfig(hidden=8, epochs=1, batch_size=64)
LATIN1 = os.fsdecode(b"r\xe9sultats")


async def train_once(app, pilot) -> None:
    await pilot.press("s")
    await wait_for(pilot, lambda: app.main.state in ("done", "stopped", "diverged", "error"))
    assert app.main.state == "done"


async def save(app, pilot) -> None:
    await pilot.press("w")
    await wait_for(pilot, lambda: not app.is_running or any(
        n.title in ("Checkpoint", "Save failed") for n in app._notifications), timeout=10)


def checkpoints(db):
    with sqlite3.connect(db) as c:
        return dict(c.execute("SELECT id, checkpoint FROM runs ORDER BY id").fetchall())


async def test_w_in_a_latin1_folder_saves_records_and_keeps_the_app(tiny, tmp_path):
    folder = tmp_path / LATIN1
    folder.mkdir()
    db = folder / "runs.sqlite"
    app = make_app(tiny, config=QUICK, progress_interval=0, save_dir=folder, db_path=db)
    async with app.run_test(size=(80, 24)) as pilot:
        await train_once(app, pilot)
        await save(app, pilot)
        await pilot.pause(0.2)
        assert app.is_running and app.main.state == "done"
        saved = list(folder.glob("*.npz"))
        assert len(saved) == 1
        await pilot.press("8")  # the Runs tab reads the history back
        await pilot.pause(0.2)
        assert app.is_running
    assert checkpoints(db) == {1: os.fsencode(saved[0].resolve())}


async def test_two_saves_in_the_same_second_keep_both_runs_weights(tiny, tmp_path, monkeypatch):
    """Two dashboards in one folder press `w` within one second: two files, each run's
    history names its own (before: one file, both runs pointing at it)."""
    import time

    monkeypatch.setattr(time, "strftime", lambda fmt, *a: "mnist-tui-20261130-142000.npz"
                        if fmt.startswith("mnist-tui-") else time.asctime())
    db = tmp_path / "runs.sqlite"
    weights = []
    for seed in (1, 2):
        app = make_app(tiny, config=TrainConfig(hidden=8, epochs=1, seed=seed),
                       progress_interval=0, save_dir=tmp_path, db_path=db)
        async with app.run_test(size=(80, 24)) as pilot:
            await train_once(app, pilot)
            await save(app, pilot)
            await pilot.pause(0.2)
            weights.append(app.main.model.W1.copy())
    files = sorted(tmp_path.glob("*.npz"))
    assert [f.name for f in files] == ["mnist-tui-20261130-142000-2.npz",
                                       "mnist-tui-20261130-142000.npz"]
    recorded = checkpoints(db)
    assert recorded == {1: str(files[1].resolve()), 2: str(files[0].resolve())}
    for run_id, w in zip((1, 2), weights, strict=True):
        assert np.array_equal(checkpoint.load(recorded[run_id])[0].W1, w)


def huge_model(hidden=8):
    model = Perceptron(hidden, seed=1)
    model.W1[:], model.W2[:] = 1e30, 1e30
    return model


async def test_an_overflowing_model_in_draw_keeps_the_app_alive(tiny):
    """As the issue found it (the model handed in past the load check): 7, then space drew a
    NaN saliency as rgb(-1844674407370955162,…) and the app died."""
    cfg = TrainConfig(hidden=8)
    app = make_app(tiny, loaded=(huge_model(), cfg, {}), progress_interval=0)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("7")
        await pilot.pause(0.1)
        await pilot.press("space", "right", "space", "down", "space")
        await pilot.pause(0.3)
        for key in ("6", "1", "2", "3", "5"):  # weights grid, digits, mistakes, network
            await pilot.press(key)
            await pilot.pause(0.1)
        assert app.is_running
        app.save_screenshot(os.devnull)  # renders every visible widget once more


async def test_l_of_an_overflowing_checkpoint_changes_nothing(tiny, tmp_path):
    path = checkpoint.save(tmp_path / "huge.npz", huge_model(), TrainConfig(hidden=8), {})
    app = make_app(tiny, config=QUICK, progress_interval=0)
    async with app.run_test(size=(100, 30)) as pilot:
        await train_once(app, pilot)
        before, model = app.main.history.epoch_columns(), app.main.model
        await pilot.press("l")
        await pilot.pause()
        app.screen.query_one("#load-path", Input).value = str(path)
        await pilot.press("enter")
        await wait_for(pilot, lambda: "overflow" in app.main.status.build().plain, timeout=5)
        assert app.main.history.epoch_columns() == before and app.main.model is model


