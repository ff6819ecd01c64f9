"""Races: 2 to 4 runs at once that differ in one field only (same seed, same data order).

`parse_race("lr 0.3,0.1,0.03", base)` gives the racers' configs; the engine runs each in its
own process with one BLAS thread, so they share the machine fairly and their speeds compare.
"""

from __future__ import annotations

from dataclasses import fields, replace

from . import resources
from .config import SPECS, TrainConfig, parse_field, with_optimizer

MIN_RACERS, MAX_RACERS = 2, 4
ALIASES = {"batch": "batch_size", "batch-size": "batch_size", "decay": "weight_decay",
           "weight-decay": "weight_decay", "n": "hidden", "val-split": "val_split",
           "val": "val_split", "opt": "optimizer"}
# A race compares learning on the same data for the same time. The seed may be raced: that
# is how a user sees the noise between runs of one config.
NOT_RACED = {"dataset", "epochs"}


def flag_name(name: str) -> str:
    """A field as its command-line flag names it, the one name users see: 'batch-size'."""
    return name.replace("_", "-")


RACED_NAMES = ", ".join(flag_name(f.name) for f in fields(TrainConfig) if f.name not in NOT_RACED)


def field_name(text: str) -> str:
    name = ALIASES.get(text.strip().lower(), text.strip().lower().replace("-", "_"))
    if name not in SPECS:
        raise ValueError(f"cannot race {text!r}: race one of {RACED_NAMES}")
    if name in NOT_RACED:
        raise ValueError(f"a race keeps {flag_name(name)} the same for every racer; race another "
                         "field")
    return name


def parse_race(text: str, base: TrainConfig, lr_given: bool | None = None
               ) -> tuple[str, list[TrainConfig]]:
    """'FIELD V1,V2[,V3[,V4]]' (or FIELD=V1,V2) → (field, one config per value).

    Racing the optimizer, each racer starts from its optimizer's default lr unless the lr was
    chosen (see config.with_optimizer; `lr_given` says so when the caller knows)."""
    head, sep, rest = text.strip().replace("=", " ", 1).partition(" ")
    if not sep or not rest.strip():
        raise ValueError("race a field over values, e.g. 'lr 0.3,0.1,0.03' or "
                         "'optimizer sgd,momentum,adam'")
    name = field_name(head)
    values = []
    for part in rest.replace(" ", ",").split(","):
        if part.strip():
            value = parse_field(name, part)
            if value not in values:
                values.append(value)
    if not MIN_RACERS <= len(values) <= MAX_RACERS:
        raise ValueError(f"a race needs {MIN_RACERS} to {MAX_RACERS} different values of "
                         f"{flag_name(name)} (got {len(values)})")
    if name == "optimizer":
        return name, [with_optimizer(base, v, lr_given) for v in values]
    return name, [replace(base, **{name: v}) for v in values]


def check(configs: list[TrainConfig], n_train: int, n_test: int) -> str | None:
    """A one-line reason these racers cannot run at once here, or None. They train together,
    so their memory is counted together (one shared copy of the data, then each racer's)."""
    return resources.check_runs(configs, n_train, n_test)


def differing_field(configs: list[TrainConfig]) -> str | None:
    """The one field the configs differ in, if exactly one (runs raced from the Runs tab)."""
    names = [f.name for f in fields(TrainConfig)
             if len({getattr(c, f.name) for c in configs}) > 1]
    return names[0] if len(names) == 1 else None


def label(config: TrainConfig, name: str | None) -> str:
    """A racer's name in the leaderboard: the raced value, e.g. 'lr=0.03'."""
    if name is None:
        return f"n={config.hidden} lr={config.lr:g} {config.optimizer}"
    value = getattr(config, name)
    if name == "optimizer":  # each optimizer may run at its own lr: say which
        return f"{value} lr={config.lr:g}"
    name = flag_name(name)
    return f"{name}={value:g}" if isinstance(value, float) else f"{name}={value}"
