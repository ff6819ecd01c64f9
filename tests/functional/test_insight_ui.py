"""The insight views in the app, on real MNIST: Draw's model view, saliency and nudges; a
Mistakes sample nudged in Draw; suspects with marks; one unit at a time; calibration; a ghost."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import wait_for

from mnist_tui.core import data, insight
from mnist_tui.core.config import TrainConfig
from mnist_tui.core.store import Store
from mnist_tui.ui.app import make_app
from mnist_tui.ui.widgets.signed_image import SignedImage

REAL = TrainConfig(hidden=32, epochs=1, batch_size=64)


@pytest.fixture(scope="module")
def mnist():
    return data.load_dir(data.PACKAGE_DATA_DIR)


async def run_once(app, pilot):
    await pilot.press("s")
    await wait_for(pilot, lambda: app.main.state == "done", timeout=60)


@pytest.mark.real_data
@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_draw_shows_the_models_view_and_saliency_and_nudges(mnist, size):
    app = make_app(mnist, config=REAL, progress_interval=0)
    async with app.run_test(size=size) as pilot:
        await run_once(app, pilot)
        await pilot.press("7")
        draw = app.query_one("#draw")
        await pilot.press("n")
        assert "draw something first" in str(app.query_one("#draw-help").render())
        for key in ("space", "down", "space", "down", "space", "down", "space", "right", "space"):
            await pilot.press(key)
        x = draw.image()
        assert x.any() and x.shape == (784,)
        sal = app.query_one("#draw-saliency", SignedImage)
        pred, _, grad = insight.saliency(app.main.model, x)
        np.testing.assert_allclose(sal.values, grad.astype(np.float32), rtol=1e-5)
        assert f"why {pred}" in sal.render().plain
        if size[0] < 114:  # narrow: v swaps the model's view for the saliency
            assert not sal.display or sal.region.width == 0
            await pilot.press("v")
            await pilot.pause()
            assert sal.region.width > 0
            await pilot.press("v")
        target = (pred + 3) % 10
        await pilot.press("n", str(target))
        await wait_for(pilot, lambda: draw._timer is None and draw.last_nudge is not None)
        assert app.main.query_one("TabbedContent").active == "draw"  # the digit was not a tab key
        n = draw.last_nudge
        assert n.target == target and n.flipped_at == len(n.images) - 1
        assert "now" in str(app.query_one("#draw-help").render())
        assert app.main.model.predict(draw.image()[None].astype(np.float32)) == target
        # the digit keys switch tabs again afterwards
        await pilot.press("1")
        assert app.main.query_one("TabbedContent").active == "train"


@pytest.mark.real_data
async def test_a_mistake_opens_in_draw_and_can_be_nudged(mnist):
    app = make_app(mnist, config=REAL, progress_interval=0)
    async with app.run_test(size=(100, 30)) as pilot:
        await run_once(app, pilot)
        await pilot.press("4")
        view = app.query_one("#mistakes-view")
        i = view.current
        await pilot.press("n")
        assert app.main.query_one("TabbedContent").active == "draw"
        draw = app.query_one("#draw")
        np.testing.assert_array_equal((draw.image() * 255).round(), mnist.test_images[i])
        label = int(mnist.test_labels[i])
        await pilot.press("n", str(label))  # what would it take to make it right?
        await wait_for(pilot, lambda: draw._timer is None and draw.last_nudge is not None)
        assert draw.last_nudge.proba[-1].argmax() == label
        assert f"test #{i}" in draw.source_name


@pytest.mark.real_data
async def test_suspects_screen_lists_and_marks(tmp_path, mnist):
    from helpers import add_fake_run as add_run

    db = tmp_path / "h.sqlite"
    for seed in range(3):
        add_run(db, seed, [0, 7, 2, 3, 4, 5], [0.99, 0.95, 0.99, 0.99, 0.99, 0.99])
    app = make_app(mnist, config=REAL, db_path=str(db))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("4", "S")
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "SuspectsScreen"
                       and app.screen.found)
        table = app.screen.query_one("DataTable")
        assert table.row_count == 1 and "1 suspect label" in str(
            app.screen.query_one("#suspects-head").render())
        await pilot.press("l")
        with Store(db, readonly=True) as s:
            assert s.marks("mnist") == {1: "label looks wrong"}
        await pilot.press("m")
        with Store(db, readonly=True) as s:
            assert s.marks("mnist") == {1: "model is wrong"}
        await pilot.press("u")
        with Store(db, readonly=True) as s:
            assert s.marks("mnist") == {}
        await pilot.press("escape")
        assert app.screen is app.main


@pytest.mark.real_data
async def test_one_unit_at_a_time_ablate_and_revive(mnist):
    app = make_app(mnist, config=TrainConfig(hidden=32, epochs=50, batch_size=64),
                   progress_interval=0.05)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("s")
        await wait_for(pilot, lambda: app.main.history.weights is not None, timeout=60)
        await pilot.press("p")
        await wait_for(pilot, lambda: app.main.state == "paused")
        w = app.main.history.weights
        app.main.handle.request_weights()  # the weights where it paused, not the last epoch's
        await wait_for(pilot, lambda: app.main.history.weights is not w)
        await pilot.press("6", "down", "down", "enter")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "UnitScreen"
                       and app.screen.A1 is not None)
        screen = app.screen
        assert screen.j == 2
        model = screen.model
        A1, Z2 = insight.hidden_activations(model, mnist.test_images)
        assert "unit 2 of 32" in str(screen.query_one("#unit-head").render())
        await pilot.press("a")
        before, after = insight.ablate(model, A1, Z2, mnist.test_labels, [2])
        text = str(screen.query_one("#unit-ablation").render())
        assert f"{before[0]:6.1%}→{after[0]:6.1%}" in text
        top = insight.unit(model, A1, 2).top
        assert f"#{top[0]} " in str(screen.query_one("#unit-top9").render())
        old = model.W1[:, 2].copy()
        await pilot.press("v")
        await wait_for(pilot, lambda: not np.array_equal(screen.model.W1[:, 2], old)
                       and screen.A1 is not None)
        np.testing.assert_array_equal(screen.model.W1[:, 3], model.W1[:, 3])
        assert app.main.state == "paused"
        assert any(c.name == "revive" for c in app.main.history.live_changes)
        await pilot.press("right")
        assert screen.j == 3
        await pilot.press("escape")
        assert app.screen is app.main


@pytest.mark.real_data
async def test_calibration_tab_shows_reliability_ece_and_fits_a_temperature(mnist):
    from mnist_tui.core import calibration
    from mnist_tui.core.train import split_indices

    config = TrainConfig(hidden=32, epochs=2, batch_size=64, val_split=5000)
    app = make_app(mnist, config=config, progress_interval=0)
    async with app.run_test(size=(80, 24)) as pilot:
        await run_once(app, pilot)
        await pilot.press("0")
        assert app.main.query_one("TabbedContent").active == "calib"
        rel = app.query_one("#reliability-chart")
        r = calibration.reliability(app.main.history.last_epoch.test_proba, mnist.test_labels)
        np.testing.assert_allclose(rel.series["now"].ys, 100 * r.accuracy[r.count > 0])
        ece = app.query_one("#ece-chart")
        assert ece.series["ece"].ys == pytest.approx(
            [100 * v for v in app.main.history.extra_series()[1]["ece"]])
        assert len(ece.series["ece"].ys) == 2
        # each epoch's diagram: left goes back to epoch 1, right returns to the latest
        (e1, bins1), (e2, _) = app.main.history.reliability_series()
        assert (e1, e2) == (1, 2)
        await pilot.press("left")
        np.testing.assert_allclose(rel.series["now"].ys, 100 * bins1[1][bins1[2] > 0])
        assert "epoch 1 (←/→ of 2)" in str(app.query_one("#calib-text").render())
        await pilot.press("right")
        np.testing.assert_allclose(rel.series["now"].ys, 100 * r.accuracy[r.count > 0])
        await pilot.press("t")
        pane = app.query_one("#calib")
        await wait_for(pilot, lambda: pane.fitted is not None)
        _, val_idx, _ = split_indices(mnist.n_train, 5000, config.seed)
        want = calibration.calibrate(app.main.model, mnist.train_images[val_idx],
                                     mnist.train_labels[val_idx], mnist.test_images,
                                     mnist.test_labels)
        assert pane.fitted.temperature == pytest.approx(want.temperature)
        assert "fitted" in rel.series and f"T = {want.temperature:.3f}" in str(
            app.query_one("#calib-text").render())


@pytest.mark.real_data
async def test_calibration_without_a_split_says_what_to_do(mnist):
    app = make_app(mnist, config=REAL, progress_interval=0)
    async with app.run_test(size=(100, 30)) as pilot:
        await run_once(app, pilot)
        await pilot.press("0", "t")
        await pilot.pause()
        assert any("val split" in n.message for n in app._notifications)
        assert app.query_one("#calib").fitted is None


@pytest.mark.real_data
async def test_the_ghost_of_the_fastest_run_is_raced(tmp_path, mnist):
    db = tmp_path / "h.sqlite"
    s = Store(db)
    rid = s.start_run(TrainConfig())
    for e, (a, t) in enumerate([(0.97, 1.0), (0.982, 1.0), (0.985, 1.0)], 1):
        s._write("INSERT INTO epochs (run_id, epoch, test_acc, seconds) VALUES (?, ?, ?, ?)",
                 (rid, e, a, t))
    s.close()
    app = make_app(mnist, config=REAL, progress_interval=0, db_path=str(db))
    async with app.run_test(size=(100, 30)) as pilot:
        await run_once(app, pilot)
        acc = app.query_one("#acc-chart")
        await wait_for(pilot, lambda: "ghost" in acc.series)
        assert acc.series["ghost"].ys == pytest.approx([97.0, 98.2, 98.5])
        assert acc.series["ghost"].faint
        assert f"ghost #{rid}: 98% @ 2 in 2.0s" in str(app.query_one("#summary").render())
        await pilot.press("g")
        assert "ghost" not in acc.series and "hidden" in app.main.status.note
        await pilot.press("g")
        assert "ghost" in acc.series


@pytest.mark.real_data
async def test_revive_needs_a_paused_run_and_says_so(mnist):
    app = make_app(mnist, config=REAL, progress_interval=0)
    async with app.run_test(size=(80, 24)) as pilot:
        await run_once(app, pilot)
        await pilot.press("6", "enter")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "UnitScreen"
                       and app.screen.A1 is not None)
        W1 = app.screen.model.W1.copy()
        await pilot.press("v")
        await pilot.pause()
        assert any("paused run" in n.message for n in app._notifications)
        np.testing.assert_array_equal(app.main.model.W1, W1)
        for key in ("left", "a", "a", "right", "right", "escape"):  # any key, no crash
            await pilot.press(key)
        assert app.screen is app.main
