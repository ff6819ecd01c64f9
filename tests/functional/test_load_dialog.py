"""Loading: the dialog's checkpoints newest first, a failed path kept, switching dataset after a checkpoint."""

from __future__ import annotations

from helpers import burst, wait_for

from mnist_tui.core.config import TrainConfig
from mnist_tui.core.store import Store
from mnist_tui.ui.app import make_app
from mnist_tui.ui.widgets.runs_view import RunsView

QUICK = TrainConfig(hidden=16, epochs=2, batch_size=32, lr=0.05)


def toasts(app) -> list[str]:
    return [str(n.message) for n in app._notifications]


async def finish_run(app, pilot) -> None:
    await pilot.press("s")
    await wait_for(pilot, lambda: app.main.state in ("done", "stopped", "diverged", "error"))


def runs_db(tmp_path):
    """Runs as a sweep, a live change and a stop leave them: raw floats, a seed, diverged."""
    from helpers import fake_epoch

    from mnist_tui.core.events import LiveChanged

    db = tmp_path / "h.sqlite"
    s = Store(db)
    a = s.start_run(TrainConfig(lr=0.0646642271741456, momentum=0.6577064848858, seed=7,
                                hidden=16, epochs=2))
    s.add_epoch(a, fake_epoch(1, 0.9) if False else _epoch(1, 168.9))
    s.finish_run(a, "diverged")
    b = s.start_run(TrainConfig(seed=3, lr=0.1))  # stopped before its first epoch
    s.finish_run(b, "stopped")
    c = s.start_run(TrainConfig(seed=3, lr=0.1, epochs=2))
    s.add_live_change(c, LiveChanged(1, 5, "lr", 0.05))
    s.add_epoch(c, _epoch(1, 2.0))
    s.finish_run(c, "done")
    s.close()
    return db, (a, b, c)


def _epoch(epoch, seconds):
    from helpers import fake_epoch

    ev = fake_epoch([0, 1, 2, 3, 4, 5], [0.9] * 6, epoch)
    from dataclasses import replace

    return replace(ev, elapsed=seconds, seconds=seconds)


async def test_switching_to_fashion_after_an_mnist_checkpoint_says_so_and_drops_mnist_overlays(
        tiny, tmp_path):
    from dataclasses import replace

    from mnist_tui.core import checkpoint
    from mnist_tui.core.model import Perceptron

    ck = tmp_path / "m.npz"
    checkpoint.save(ck, Perceptron(16, seed=0), TrainConfig(hidden=16), {})
    db, (a, b, c) = runs_db(tmp_path)
    app = make_app(tiny, config=QUICK, db_path=db)
    async with app.run_test(size=(100, 30)) as pilot:
        app.main._load_path(str(ck))
        await wait_for(pilot, lambda: app.main.loaded is not None, timeout=60)
        await pilot.press("8")
        await burst(app, pilot, ["space"])  # an MNIST run drawn over the charts
        await wait_for(pilot, lambda: app.query_one("TrainPane").overlays, timeout=60)
        fashion = replace(tiny, name="fashion")
        app.main.form.set_config(replace(QUICK, dataset="fashion"))
        app.main._use_dataset(fashion)
        await pilot.pause(0.3)
        assert any("fresh" in t and "checkpoint" in t for t in toasts(app)), toasts(app)
        assert app.query_one("TrainPane").overlays == {}
        assert not [n for n in app.query_one("#acc-chart").series if n.startswith("#")]
        assert app.query_one(RunsView).overlay == set()


async def test_the_load_dialog_lists_checkpoints_newest_first_and_keeps_a_failed_path(tiny, tmp_path):
    import os

    from textual.widgets import OptionList

    from mnist_tui.core import checkpoint
    from mnist_tui.core.model import Perceptron

    old, new = tmp_path / "old.npz", tmp_path / "saves" / "new.npz"
    new.parent.mkdir()
    for path in (old, new):
        checkpoint.save(path, Perceptron(16, seed=0), TrainConfig(hidden=16), {})
    os.utime(old, (1e9, 1e9))
    db = tmp_path / "h.sqlite"
    with Store(db) as s:
        rid = s.start_run(TrainConfig(hidden=16))
        s.finish_run(rid, "done", str(old))  # the history knows this one
    app = make_app(tiny, config=QUICK, db_path=db, save_dir=new.parent)
    async with app.run_test(size=(100, 30)) as pilot:
        await burst(app, pilot, ["l"])
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "LoadDialog")
        options = app.screen.query_one(OptionList)
        listed = [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]
        assert len(listed) == 2 and "new.npz" in listed[0] and "old.npz" in listed[1], listed
        await burst(app, pilot, list("nowhere.npz") + ["enter"])
        await wait_for(pilot, lambda: app.screen is app.main)
        await wait_for(pilot, lambda: "not loaded" in app.main.status.note)
        await burst(app, pilot, ["l"])
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "LoadDialog")
        assert app.screen.query_one("#load-path").value == "nowhere.npz"
        assert "nowhere.npz" in str(app.screen.query_one("#load-error").render())
        await pilot.press("tab")  # (Tab then keys in one burst: issue 20 §2, another task)
        await burst(app, pilot, ["enter"])  # the list's first, newest, checkpoint
        await wait_for(pilot, lambda: app.main.loaded is not None)
        assert app.main.load_path == str(new)
