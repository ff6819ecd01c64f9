"""Saliency, nudges, one unit at a time, calibration and time to target, on real MNIST."""

from __future__ import annotations

import numpy as np
import pytest

from mnist_tui.core import calibration, data, insight
from mnist_tui.core.config import TrainConfig
from mnist_tui.core.events import EpochEnd
from mnist_tui.core.model import Perceptron, flops_per_sample, softmax
from mnist_tui.core.train import split_indices, train


@pytest.fixture(scope="module")
def mnist():
    return data.load_dir(data.PACKAGE_DATA_DIR)


@pytest.fixture(scope="module")
def trained(mnist):
    """A 32-unit network after 2 epochs on real MNIST, with a 5,000-sample validation split."""
    config = TrainConfig(hidden=32, epochs=2, val_split=5000, seed=0)
    model = Perceptron(32, seed=0)
    ends = [e for e in train(config, mnist, model) if isinstance(e, EpochEnd)]
    return config, model, ends


@pytest.mark.real_data
def test_saliency_is_the_finite_difference_gradient_of_log_p(mnist, trained):
    _, model32, _ = trained
    model = Perceptron.from_params(*(p.astype(np.float64) for p in model32.params().values()))
    x = mnist.test_images[7].astype(np.float64) / 255
    pred, S, grad = insight.saliency(model, x)
    assert pred == int(S.argmax()) and S.shape == (10,) and grad.shape == (784,)

    def log_p(v):
        return float(np.log(softmax(model.forward_cache(v[None])[2])[0, pred]))

    rng = np.random.default_rng(0)
    h = 1e-6
    pixels = np.concatenate([np.argsort(-np.abs(grad))[:10], rng.choice(784, 10, replace=False)])
    for i in pixels:
        e = np.zeros(784)
        e[i] = h
        fd = (log_p(x + e) - log_p(x - e)) / (2 * h)
        assert fd == pytest.approx(grad[i], rel=1e-5, abs=1e-8), i
    # and for a class the model does not pick, through input_gradient
    other = (pred + 1) % 10
    _, g_other = insight.input_gradient(model, x, other)
    i = int(np.argmax(np.abs(g_other)))
    e = np.zeros(784)
    e[i] = h

    def log_q(v):
        return float(np.log(softmax(model.forward_cache(v[None])[2])[0, other]))

    assert (log_q(x + e) - log_q(x - e)) / (2 * h) == pytest.approx(g_other[i], rel=1e-5)


@pytest.mark.real_data
def test_a_nudge_flips_a_real_test_digit_with_a_small_change(mnist, trained):
    _, model, _ = trained
    proba = model.forward(mnist.test_images[:200].astype(np.float32) / 255)
    i = int(np.flatnonzero(proba.argmax(1) == 4)[0])  # a 4 the model calls 4
    x = mnist.test_images[i].astype(np.float64) / 255
    n = insight.nudge(model, x, 9)
    assert n.flipped_at == len(n.images) - 1 > 0  # stops at the first frame answering 9
    assert n.proba[0].argmax() == 4 and n.proba[-1].argmax() == 9
    assert all(n.proba[k].argmax() != 9 for k in range(len(n.proba) - 1))
    assert 0 <= n.images.min() and n.images.max() <= 1
    steps = np.linalg.norm(np.diff(n.images, axis=0), axis=1)
    assert (steps <= insight.NUDGE_STEP + 1e-9).all()
    assert n.change < np.linalg.norm(x)  # smaller than erasing the digit


@pytest.mark.real_data
def test_a_unit_its_top_digits_and_ablation(mnist, trained):
    _, model, _ = trained
    A1, Z2 = insight.hidden_activations(model, mnist.test_images)
    ref = model.forward_cache(mnist.test_images[:50].astype(np.float32) / 255)
    np.testing.assert_allclose(A1[:50], ref[1], rtol=1e-4, atol=1e-5)
    u = insight.unit(model, A1, 3)
    assert u.top.tolist() == np.argsort(-A1[:, 3], kind="stable")[:9].tolist()
    assert (A1[u.top, 3] >= np.sort(A1[:, 3])[-9]).all()
    np.testing.assert_array_equal(u.outgoing, model.W2[3])
    before, after = insight.ablate(model, A1, Z2, mnist.test_labels, [3])
    # the same as a network whose unit 3 is cut out
    cut = Perceptron.from_params(model.W1, model.b1, model.W2.copy(), model.b2)
    cut.W2[3] = 0
    pred = cut.predict(mnist.test_images.astype(np.float32) / 255)
    for c in range(10):
        mask = mnist.test_labels == c
        assert after[c] == pytest.approx(np.mean(pred[mask] == c), abs=1e-3)
    assert not np.allclose(before, after)
    W1 = model.W1.copy()
    insight.ablate(model, A1, Z2, mnist.test_labels, [3])
    np.testing.assert_array_equal(W1, model.W1)  # the model itself is untouched


def test_revive_reinitialises_only_that_unit():
    model = Perceptron(16, seed=0)
    params = {k: v.copy() for k, v in model.params().items()}
    params["W1"][:, 5] = 0
    params["b1"][5] = -3
    insight.revive(params, 5, np.random.default_rng(1))
    assert params["b1"][5] == 0 and params["W1"][:, 5].std() == pytest.approx(np.sqrt(2 / 784), rel=0.15)
    others = [j for j in range(16) if j != 5]
    np.testing.assert_array_equal(params["W1"][:, others], model.W1[:, others])
    np.testing.assert_array_equal(params["W2"][others], model.W2[others])


def test_reliability_and_ece_by_hand():
    # 4 samples: confidences 0.95 (right), 0.95 (wrong), 0.55 (right), 0.35 (right)
    proba = np.zeros((4, 10))
    proba[0, :2] = [0.95, 0.05]
    proba[1, :2] = [0.95, 0.05]
    proba[2, :2] = [0.45, 0.55]
    proba[3, :4] = [0.35, 0.3, 0.2, 0.15]
    labels = np.array([0, 1, 1, 0])
    r = calibration.reliability(proba, labels)
    assert r.count.tolist() == [0, 0, 0, 1, 0, 1, 0, 0, 0, 2]
    assert r.accuracy[9] == 0.5 and r.confidence[9] == pytest.approx(0.95)
    # |0.5 - 0.95| * 2/4 + |1 - 0.55| * 1/4 + |1 - 0.35| * 1/4
    assert r.ece == pytest.approx(0.45 * 0.5 + 0.45 * 0.25 + 0.65 * 0.25)


@pytest.mark.real_data
def test_a_temperature_fit_on_the_validation_split_lowers_its_ece(mnist, trained):
    config, model, ends = trained
    # the epoch's own ECE is the test set's at T = 1
    _, val_idx, _ = split_indices(mnist.n_train, config.val_split, config.seed)
    val_x, val_y = mnist.train_images[val_idx], mnist.train_labels[val_idx]
    cal = calibration.calibrate(model, val_x, val_y, mnist.test_images, mnist.test_labels)
    assert ends[-1].ece == pytest.approx(cal.before.ece, abs=1e-6)
    # An overconfident network: the same one with its logits tripled (as long training does).
    hot = Perceptron.from_params(model.W1, model.b1, model.W2 * 3, model.b2 * 3)
    cal = calibration.calibrate(hot, val_x, val_y, mnist.test_images, mnist.test_labels)
    assert cal.temperature == pytest.approx(3, rel=0.25)
    assert cal.val_ece_after < cal.val_ece_before / 2
    assert cal.after.ece < cal.before.ece  # and it carries over to the test set
    Zv = calibration.logits(hot, val_x)
    y = val_y.astype(np.int64)
    for t in (0.8, 0.95, 1.05, 1.25):  # the fitted T is the NLL minimum nearby
        assert calibration.nll_at(Zv, y, cal.temperature) <= calibration.nll_at(
            Zv, y, cal.temperature * t) + 1e-12
    # accuracy never changes
    assert np.nansum(cal.after.accuracy * cal.after.count) == pytest.approx(
        np.nansum(cal.before.accuracy * cal.before.count))


def test_time_to_target():
    assert insight.time_to_target([0.9, 0.97, 0.981, 0.99], [1, 2, 3, 4], 0.98) == (3, 6.0)
    assert insight.time_to_target([0.9, 0.97], [1, 2], 0.98) is None
    assert flops_per_sample(128) == 2 * (2 * 784 * 128 + 3 * 128 * 10)


def test_bench_time_to_target(tiny_dir, capsys):
    import json
    import statistics

    from mnist_tui.cli import main

    assert main(["bench", "--target", "0.5", "--seeds", "3", "--hidden", "16", "--epochs", "6",
                 "--data-dir", str(tiny_dir), "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert [row["seed"] for row in r["runs"]] == [0, 1, 2]
    hit = [row for row in r["runs"] if row["reached"]]
    assert hit and r["reached"] == len(hit)
    for row in hit:
        assert row["test_acc"] >= 0.5
        # every epoch trains all 600 samples: GFLOPs = FLOPs per sample x samples x epochs
        assert row["gflops"] == pytest.approx(flops_per_sample(16) * 600 * row["epochs"] / 1e9)
    assert r["seconds_mean"] == pytest.approx(statistics.mean(row["seconds"] for row in hit))
    assert main(["bench", "--target", "1", "--seeds", "1", "--hidden", "4", "--epochs", "1",
                 "--data-dir", str(tiny_dir)]) == 1  # issue 20: a target not reached fails
    out = capsys.readouterr().out
    assert "seed 0: not reached" in out and "no seed reached 100.00%" in out
    with pytest.raises(SystemExit):
        main(["bench", "--target", "1.5"])
    assert "0 to 1" in capsys.readouterr().err


def test_the_ghost_is_the_fastest_stored_run_to_the_target_on_this_machine(tmp_path):
    import socket

    from mnist_tui.core.store import Store

    db = tmp_path / "h.sqlite"
    s = Store(db)

    def run(accs, secs, dataset="mnist", host=None):
        rid = s.start_run(TrainConfig(dataset=dataset))
        for e, (a, t) in enumerate(zip(accs, secs, strict=True), 1):
            s._write("INSERT INTO epochs (run_id, epoch, test_acc, seconds) VALUES (?, ?, ?, ?)",
                     (rid, e, a, t))
        if host:
            s._write("UPDATE runs SET host = ? WHERE id = ?", (host, rid))
        return rid

    run([0.97, 0.981], [1.0, 1.0])  # 2.0 s
    fast = run([0.96, 0.975, 0.985], [0.5, 0.5, 0.5])  # 1.5 s
    run([0.99], [0.1], host="elsewhere")  # another machine
    run([0.99], [0.1], dataset="fashion")  # another dataset
    run([0.5, 0.6], [0.1, 0.1])  # never reached
    s.close()
    with Store(db, readonly=True) as r:
        g = insight.fastest_to_target(r, "mnist")
        assert (g.run_id, g.reached_epoch, g.reached_seconds, g.target) == (fast, 3, 1.5, 0.98)
        assert g.test_acc == [0.96, 0.975, 0.985]
        assert insight.fastest_to_target(r, "mnist", host="elsewhere").reached_seconds == 0.1
        assert insight.fastest_to_target(r, "mnist", target=0.999) is None
    assert socket.gethostname()


def test_bench_optimizers_reports_each_against_momentum(tiny_dir, capsys):
    import json

    from mnist_tui.cli import main
    from mnist_tui.core.config import OPTIMIZERS

    assert main(["bench", "--optimizers", "--rounds", "2", "--hidden", "8", "--samples", "100",
                 "--data-dir", str(tiny_dir), "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert set(r) == set(OPTIMIZERS) and r["momentum"]["vs_momentum"] == 1.0
    for row in r.values():
        assert row["epoch_seconds"] > 0 and row["quartiles"][0] <= row["quartiles"][1]


def test_units_cli_lists_every_unit_and_one_in_full(tiny_dir, tmp_path, capsys):
    import json

    from mnist_tui.cli import main
    from mnist_tui.core import checkpoint
    from mnist_tui.core.data import load_dir

    ck = tmp_path / "r.npz"
    assert main(["train", "--data-dir", str(tiny_dir), "--hidden", "6", "--epochs", "2",
                 "--save", str(ck), "--db", str(tmp_path / "h.sqlite")]) == 0
    capsys.readouterr()
    model = checkpoint.load(ck)[0]
    ds = load_dir(tiny_dir)
    A1, Z2 = insight.hidden_activations(model, ds.test_images)
    assert main(["units", str(ck), "--data-dir", str(tiny_dir), "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["unit"] for r in rows] == list(range(6))
    for r in rows:
        before, after = insight.ablate(model, A1, Z2, ds.test_labels, [r["unit"]])
        assert r["ablation_mean_change"] == pytest.approx(np.nanmean(after - before), abs=1e-5)
        assert r["dead"] == (not (A1[:, r["unit"]] > 0).any())
    assert main(["units", str(ck), "--data-dir", str(tiny_dir), "--unit", "2", "--format", "json"]) == 0
    one = json.loads(capsys.readouterr().out)
    assert [t["index"] for t in one["top_digits"]] == insight.unit(model, A1, 2).top.tolist()
    assert one["outgoing"]["0"] == pytest.approx(float(model.W2[2, 0]))
    assert main(["units", str(ck), "--data-dir", str(tiny_dir), "--sort", "ablation"]) == 0
    assert "silenced one at a time" in capsys.readouterr().out
    assert main(["units", str(ck), "--data-dir", str(tiny_dir), "--unit", "6"]) == 2
    assert capsys.readouterr().err.strip() == f"mnist-tui: --unit 6: {ck} has units 0 to 5"
    assert main(["units", str(tmp_path / "missing.npz")]) == 1
    assert capsys.readouterr().err.count("\n") == 1


def test_explain_cli_gives_the_saliency_and_a_nudge(tiny_dir, tmp_path, capsys):
    import json

    from mnist_tui.cli import main
    from mnist_tui.core import checkpoint
    from mnist_tui.core.data import load_dir

    ck = tmp_path / "r.npz"
    assert main(["train", "--data-dir", str(tiny_dir), "--hidden", "16", "--epochs", "3",
                 "--save", str(ck), "--db", str(tmp_path / "h.sqlite")]) == 0
    capsys.readouterr()
    model, ds = checkpoint.load(ck)[0], load_dir(tiny_dir)
    x = ds.test_images[5].astype(np.float64) / 255
    pred, proba, grad = insight.saliency(model, x)
    target = (pred + 1) % 10
    assert main(["explain", str(ck), "--sample", "5", "--nudge", str(target), "--data-dir",
                 str(tiny_dir), "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    np.testing.assert_allclose(out["saliency"], grad, rtol=1e-6)
    assert out["predicted"] == str(pred) and out["label"] == str(ds.test_labels[5])
    n = insight.nudge(model, x, target)
    assert out["nudge"]["steps"] == len(n.images) - 1 and out["nudge"]["flipped_at_step"] == n.flipped_at
    assert main(["explain", str(ck), "--sample", "5", "--nudge", str(target), "--data-dir",
                 str(tiny_dir)]) == 0
    assert "saliency of" in capsys.readouterr().out
    for bad in (["--sample", "200"], ["--sample", "1", "--nudge", "10"]):
        assert main(["explain", str(ck), "--data-dir", str(tiny_dir), *bad]) == 2
        assert capsys.readouterr().err.count("\n") == 1


def test_train_says_its_time_to_target_and_the_fastest_before(tiny_dir, tmp_path, capsys):
    from mnist_tui.cli import main

    db = str(tmp_path / "h.sqlite")
    argv = ["train", "--data-dir", str(tiny_dir), "--hidden", "16", "--epochs", "4", "--db", db]
    assert main(argv) == 0
    first = capsys.readouterr().out.splitlines()[-1]
    assert first.startswith("time to 98%: ") and "fastest before" not in first  # not itself
    assert main(argv) == 0
    second = capsys.readouterr().out.splitlines()[-1]
    assert "the fastest before on this machine: run 1, " in second


def test_runs_show_names_a_revive(tmp_path, capsys):
    from mnist_tui.cli import main
    from mnist_tui.core.events import LiveChanged
    from mnist_tui.core.store import Store

    db = tmp_path / "h.sqlite"
    with Store(db) as s:
        rid = s.start_run(TrainConfig())
        s.add_live_change(rid, LiveChanged(3, 120, "revive", 7.0))
        s.add_live_change(rid, LiveChanged(4, 1, "lr", 0.01))
    assert main(["runs", "show", str(rid), "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert "hidden unit 7 revived (re-initialised) at epoch 3, batch 120" in out
    assert "live change: lr = 0.01 from epoch 4, batch 1" in out


@pytest.mark.real_data
def test_a_nudge_ends_just_past_the_boundary(mnist, trained):
    _, model, _ = trained
    x = mnist.test_images[0].astype(np.float64) / 255  # a 7
    n = insight.nudge(model, x, 3)
    assert n.proba[-1].argmax() == 3 and len(n.images) > 1
    before, last = n.images[-2], n.images[-1]
    # 1% less of the last step and the answer is not yet 3
    back = before + 0.99 * (last - before)
    assert model.forward(back[None].astype(np.float32))[0].argmax() != 3
