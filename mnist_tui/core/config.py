"""What defines a run: TrainConfig, the field specs shared by the CLI and the form, parsing.

This module owns every choice list (schedules, augmentations), so that checkpoint, store and the
form depend on it and never on the training loop.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import numpy as np

SCHEDULES = ("constant", "cosine", "step")
AUGMENTS = ("none", "affine", "elastic")
OPTIMIZERS = ("sgd", "momentum", "nesterov", "adam", "adamw")  # the rules are in optim.py
DATASETS = ("mnist", "fashion")
# The learning rate each rule starts from when none is given: Adam's steps are about lr in size
# whatever the gradient's scale, so it wants a far smaller lr than SGD (PyTorch's default, 1e-3).
USES_MOMENTUM = ("momentum", "nesterov")  # the optimizers whose rule reads μ (see optim.py)
DEFAULT_LR = {"sgd": 0.1, "momentum": 0.1, "nesterov": 0.1, "adam": 0.001, "adamw": 0.001}
# Named starting points for a run (`--recipe NAME`; a flag given beside it wins). "fast": the
# quickest to 98% test accuracy found by `mnist-tui sweep` on a validation split (never on test):
# studies fast3 and fast4, n 128-256, batch 64-128, momentum or nesterov; see the README.
RECIPES = {
    "fast": {"hidden": 256, "batch_size": 128, "lr": 0.2, "momentum": 0.9, "weight_decay": 1e-4,
             "optimizer": "nesterov", "epochs": 5},
}
# The fields a run takes while it trains (train.Live, RunHandle.set_live, the form); the others
# apply at the next start.
LIVE_FIELDS = ("lr", "momentum")


@dataclass(frozen=True)
class TrainConfig:
    """Everything that defines a run. The defaults reach about 98% test accuracy in seconds."""

    hidden: int = 128  # n, the number of ReLU hidden units
    epochs: int = 10  # passes over the training set
    lr: float = 0.1  # base learning rate; the schedule scales it per batch
    batch_size: int = 64  # m, samples per SGD step
    momentum: float = 0.9  # heavy-ball momentum; 0 gives plain SGD as in the seed
    weight_decay: float = 0.0  # L2 penalty on W1 and W2 (not the biases)
    schedule: str = "cosine"  # constant | cosine (to 0 by the last batch) | step (x0.1 at 50%, 75%)
    seed: int = 0  # seeds the initial weights and the shuffling: same seed, same metrics
    augment: str = "none"  # none | affine (rotate, scale, shift) | elastic (affine + Simard warp)
    optimizer: str = "momentum"  # sgd | momentum | nesterov | adam | adamw (see optim.py)
    beta1: float = 0.9  # Adam's decay of the mean gradient
    beta2: float = 0.999  # Adam's decay of the mean squared gradient
    dataset: str = "mnist"  # mnist | fashion (Fashion-MNIST, downloaded on first use)
    val_split: int = 0  # training samples held out (chosen by the seed) and evaluated each epoch

    def __post_init__(self):
        for f in fields(self):
            check_field(f.name, getattr(self, f.name))


@dataclass(frozen=True)
class FieldSpec:
    """How a config field is typed, bounded and explained (shared by the CLI and the form)."""

    kind: type
    lo: float | None = None
    hi: float | None = None
    lo_open: bool = False  # True: lo itself is not allowed
    hi_open: bool = False
    help: str = ""
    choices: tuple[str, ...] = ()


SPECS: dict[str, FieldSpec] = {
    "hidden": FieldSpec(int, 1, 4096, help="hidden units n"),
    "epochs": FieldSpec(int, 1, 1000, help="epochs"),
    "lr": FieldSpec(float, 0, 10, lo_open=True, help="learning rate"),
    "batch_size": FieldSpec(int, 1, 60000, help="batch size"),
    "momentum": FieldSpec(float, 0, 1, hi_open=True, help="momentum"),
    "weight_decay": FieldSpec(float, 0, 1, help="weight decay"),
    "schedule": FieldSpec(str, choices=SCHEDULES, help="LR schedule"),
    "seed": FieldSpec(int, 0, 2**32 - 1, help="seed"),
    "augment": FieldSpec(str, choices=AUGMENTS, help="augmentation"),
    "optimizer": FieldSpec(str, choices=OPTIMIZERS, help="optimizer"),
    "beta1": FieldSpec(float, 0, 1, hi_open=True, help="Adam beta1"),
    "beta2": FieldSpec(float, 0, 1, hi_open=True, help="Adam beta2"),
    "dataset": FieldSpec(str, choices=DATASETS, help="dataset"),
    "val_split": FieldSpec(int, 0, 50000, help="validation samples"),
}


def range_text(spec: FieldSpec) -> str:
    """The allowed range in words, e.g. 'in (0, 10]' or 'an integer from 1 to 4096'."""
    if spec.choices:
        return "one of " + ", ".join(spec.choices)
    if spec.kind is int:
        return f"an integer from {spec.lo} to {spec.hi}" if spec.hi else f"an integer >= {spec.lo}"
    if spec.hi is None:
        return f"a number {'>' if spec.lo_open else '>='} {spec.lo:g}"
    return (
        f"a number in {'(' if spec.lo_open else '['}{spec.lo:g}, {spec.hi:g}"
        f"{')' if spec.hi_open else ']'}"
    )


def check_field(name: str, value) -> None:
    """Raise ValueError with a readable message if value is not allowed for field name."""
    spec = SPECS[name]
    if spec.choices:
        if value not in spec.choices:
            raise ValueError(f"{spec.help} must be {range_text(spec)} (got {value!r})")
        return
    if spec.kind is int and (isinstance(value, bool) or not isinstance(value, (int, np.integer))):
        raise ValueError(f"{spec.help} must be {range_text(spec)} (got {value!r})")
    if not isinstance(value, (int, float, np.integer, np.floating)) or not math.isfinite(value):
        raise ValueError(f"{spec.help} must be {range_text(spec)} (got {value!r})")
    low_bad = spec.lo is not None and (value <= spec.lo if spec.lo_open else value < spec.lo)
    high_bad = spec.hi is not None and (value >= spec.hi if spec.hi_open else value > spec.hi)
    if low_bad or high_bad:
        got = value if spec.kind is int else f"{value:g}"  # an int as typed, never "1e+23"
        raise ValueError(f"{spec.help} must be {range_text(spec)} (got {got})")


def parse_field(name: str, text: str):
    """Parse user text for a config field; raise ValueError with a one-line reason."""
    spec = SPECS[name]
    text = text.strip()
    if not text:
        raise ValueError(f"{spec.help} is empty: enter {range_text(spec)}")
    if len(text) > 40:
        raise ValueError(f"{spec.help} is too long ({len(text)} characters)")
    if not text.isascii():
        raise ValueError(f"{spec.help} must use the ASCII digits 0-9")
    if spec.choices:
        value = text
    elif spec.kind is int:
        if not text.isdigit():  # int() also takes '1_0' (10) and '+5'
            raise ValueError(f"{spec.help} must be {range_text(spec)}, in the digits 0-9 "
                             f"(got {text!r})")
        value = int(text)
    else:
        try:
            value = float(text)
        except ValueError:
            raise ValueError(f"{spec.help} must be {range_text(spec)} (got {text!r})") from None
    check_field(name, value)
    return value




def from_dict(raw: object) -> TrainConfig:
    """A TrainConfig from a mapping (a checkpoint's or a stored run's JSON); unknown keys are
    ignored, missing ones take their defaults. Raises ValueError with a one-line reason."""
    if not isinstance(raw, dict):
        raise ValueError(f"the config must be a JSON object, not {type(raw).__name__}")
    known = {f.name for f in fields(TrainConfig)}
    try:
        return TrainConfig(**{k: v for k, v in raw.items() if k in known})
    except TypeError as e:
        raise ValueError(str(e)) from None


def with_optimizer(config: TrainConfig, optimizer: str, lr_given: bool | None = None) -> TrainConfig:
    """`config` with another optimizer, whose lr follows that optimizer's default (DEFAULT_LR)
    unless the lr was chosen: `lr_given` True, or (None: not known) an lr other than the old
    optimizer's default. A race of optimizers gives Adam 0.001, not momentum's 0.1."""
    from dataclasses import replace

    if lr_given is None:
        lr_given = config.lr != DEFAULT_LR[config.optimizer]
    return replace(config, optimizer=optimizer,
                   lr=config.lr if lr_given else DEFAULT_LR[optimizer])
