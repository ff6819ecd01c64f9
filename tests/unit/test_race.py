"""Races: parsing what to race, and bad races refused with one line."""

from __future__ import annotations

import pytest

from mnist_tui.core.config import TrainConfig
from mnist_tui.core.race import differing_field, label, parse_race

BASE = TrainConfig(hidden=16, epochs=2, seed=7)


def test_a_field_and_its_values_give_one_config_each_with_the_same_seed():
    field, configs = parse_race("lr 0.3,0.1,0.03", BASE)
    assert field == "lr" and [c.lr for c in configs] == [0.3, 0.1, 0.03]
    assert {c.seed for c in configs} == {7} and {c.hidden for c in configs} == {16}
    assert parse_race("optimizer=sgd,adam", BASE)[1][1].optimizer == "adam"
    assert parse_race("batch 16 32", BASE)[0] == "batch_size"
    assert [label(c, "lr") for c in configs] == ["lr=0.3", "lr=0.1", "lr=0.03"]
    assert differing_field(configs) == "lr"


@pytest.mark.parametrize("text, words", [
    ("lr 0.1", "2 to 4 different values"),
    ("lr 0.1,0.1", "2 to 4 different values"),
    ("lr 1,2,3,4,5", "2 to 4 different values"),
    ("lr", "race a field over values"),
    ("colour red,blue", "cannot race 'colour'"),
    ("epochs 1,2", "keeps epochs the same"),
    ("lr 0.1,-1", "learning rate must be"),
    ("optimizer sgd,rmsprop", "optimizer must be one of"),
])
def test_a_bad_race_is_one_line(text, words):
    with pytest.raises(ValueError) as e:
        parse_race(text, BASE)
    assert words in str(e.value) and "\n" not in str(e.value)


def test_a_race_of_optimizers_gives_each_its_own_default_lr_unless_one_was_chosen():
    """`mnist-tui race optimizer sgd,momentum,adam` trained Adam at momentum's lr 0.1."""
    _, configs = parse_race("optimizer sgd,momentum,adam", TrainConfig())
    assert [(c.optimizer, c.lr) for c in configs] == [
        ("sgd", 0.1), ("momentum", 0.1), ("adam", 0.001)]
    assert [label(c, "optimizer") for c in configs] == [
        "sgd lr=0.1", "momentum lr=0.1", "adam lr=0.001"]
    _, chosen = parse_race("optimizer sgd,adam", TrainConfig(lr=0.01))  # an lr of the user's
    assert [c.lr for c in chosen] == [0.01, 0.01]
    _, given = parse_race("optimizer sgd,adam", TrainConfig(), lr_given=True)  # --lr 0.1
    assert [c.lr for c in given] == [0.1, 0.1]


def test_a_race_may_race_the_seed():
    from mnist_tui.core.config import TrainConfig
    from mnist_tui.core.race import parse_race

    field, configs = parse_race("seed 1,2", TrainConfig())
    assert field == "seed" and [c.seed for c in configs] == [1, 2]


def test_the_race_screen_redraws_when_any_racer_changes_even_if_the_sums_agree():
    """A fresh user's check: one racer's row stayed at epoch 5 of 6 while the race read OVER.
    The screen compared a sum of versions and state lengths: a racer ending ("training" to
    "done", -4) and four reports of another (+4) summed to what was drawn, so nothing was."""
    from types import SimpleNamespace

    from mnist_tui.ui.screens.race import drawn_key

    def racers(*pairs):
        return [SimpleNamespace(history=SimpleNamespace(version=v), state=s) for v, s in pairs]

    before = drawn_key(racers((10, "training"), (5, "training")))
    after = drawn_key(racers((14, "training"), (5, "done")))
    assert after != before
    assert drawn_key(racers((10, "training"), (5, "training"))) == before  # nothing moved
