"""What a sweep is: its search space (`Space`), its fixed settings (`Sweep`), the flags'
parsing, each trial's and each sampler's seed, the check that it fits this machine, and joining
a study made with other settings (`adopt`). Nothing here opens a storage or starts a process."""

from __future__ import annotations

import hashlib
import math
import os
import socket
from dataclasses import dataclass, field

from ..config import SPECS, USES_MOMENTUM, TrainConfig, check_field, parse_field

DEFAULT_TRIALS, DEFAULT_WORKERS, DEFAULT_EPOCHS, DEFAULT_VAL = 30, 2, 4, 10_000
# The study's fixed settings, with the sweep flag that sets each (the messages name it).
FLAGS = {"dataset": "--dataset", "epochs": "--epochs", "val_split": "--val-split",
         "lr": "--lr", "hidden": "--hidden", "batch_size": "--batch-size",
         "momentum": "--momentum", "weight_decay": "--weight-decay", "optimizer": "--optimizer"}
SPACE_FIELDS = ("lr", "hidden", "batch_size", "momentum", "weight_decay", "optimizer")


class SweepError(Exception):
    """A sweep cannot start: a bad search space or storage; the message is one line."""


@dataclass(frozen=True)
class Space:
    """The search space. Ranges are (low, high); lists are the choices (categorical)."""

    lr: tuple[float, float] = (1e-3, 0.5)  # log-uniform
    hidden: tuple[int, ...] = (64, 128, 256)
    batch_size: tuple[int, ...] = (32, 64, 128)
    momentum: tuple[float, float] = (0.0, 0.95)  # uniform
    weight_decay: tuple[float, float] = (0.0, 1e-3)  # uniform
    optimizer: tuple[str, ...] = ("momentum", "adam")

    def __post_init__(self) -> None:
        for name in ("lr", "momentum", "weight_decay"):
            lo, hi = getattr(self, name)
            if lo > hi:
                raise SweepError(f"{name}: the low end {lo:g} is above the high end {hi:g}")
            for v in (lo, hi):
                try:
                    check_field(name, v)
                except ValueError as e:
                    raise SweepError(f"{name} range: {e}") from None
        for name in ("hidden", "batch_size", "optimizer"):
            values = getattr(self, name)
            if not values:
                raise SweepError(f"{name}: the list of choices is empty")
            for v in values:
                try:
                    check_field(name, v)
                except ValueError as e:
                    raise SweepError(f"{name} choice: {e}") from None

    def suggest(self, trial) -> dict:
        """This trial's values, drawn by Optuna's sampler. Momentum is drawn only for the
        optimizers that use it (define-by-run), so Adam's trials say nothing about it."""
        params = {
            "optimizer": trial.suggest_categorical("optimizer", list(self.optimizer)),
            "lr": trial.suggest_float("lr", *self.lr, log=True),
            "hidden": trial.suggest_categorical("hidden", list(self.hidden)),
            "batch_size": trial.suggest_categorical("batch_size", list(self.batch_size)),
            "weight_decay": trial.suggest_float("weight_decay", *self.weight_decay),
        }
        if params["optimizer"] in USES_MOMENTUM:
            params["momentum"] = trial.suggest_float("momentum", *self.momentum)
        return params

    def settings(self) -> dict:
        """The space as JSON values (ranges and choices as lists), as the study stores it."""
        return {name: list(getattr(self, name)) for name in SPACE_FIELDS}


def parse_range(name: str, text: str) -> tuple[float, float]:
    """'LOW:HIGH' (or one value, for a fixed one) as a float range."""
    parts = [p.strip() for p in text.split(":")]
    if len(parts) > 2 or not all(parts):
        raise SweepError(f"{name}: give a range as LOW:HIGH (got {text!r})")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        raise SweepError(f"{name}: {text!r} is not a number range") from None
    if not all(math.isfinite(v) for v in values):
        raise SweepError(f"{name}: the range must be finite (got {text!r})")
    return (values[0], values[-1])


def parse_choices(name: str, text: str) -> tuple:
    """'A,B,C' as a tuple of the field's type."""
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if not parts:
        raise SweepError(f"{name}: the list of choices is empty")
    kind = SPECS[name].kind
    try:  # each value as the form and the flags take it: '٣' or '1_0' are no hidden sizes
        return tuple(parse_field(name, p) if kind is int else kind(p) for p in parts)
    except ValueError:
        raise SweepError(f"{name}: {text!r} is not a list of {kind.__name__} values") from None


@dataclass(frozen=True)
class Sweep:
    """One study: what to search and how long."""

    space: Space = field(default_factory=Space)
    trials: int = DEFAULT_TRIALS
    workers: int = DEFAULT_WORKERS
    epochs: int = DEFAULT_EPOCHS
    val_split: int = DEFAULT_VAL
    study: str = "mnist-tui"
    storage: str = ""  # an Optuna storage URL; "" = sweeps.sqlite next to the run history
    seed: int = 0
    dataset: str = "mnist"
    data_dir: str | None = None
    db_path: str | None = None  # the run history
    # The settings this sweep was explicitly given (names of FLAGS); None: all of them. When it
    # joins an existing study, the study's value is taken for every setting not given.
    given: frozenset[str] | None = None

    def __post_init__(self) -> None:
        if self.trials < 1 or self.workers < 1 or self.epochs < 1:
            raise SweepError("trials, workers and epochs must each be at least 1")
        if self.val_split < 1:
            raise SweepError("a sweep needs a validation split (it never chooses by test)")
        for name in ("epochs", "val_split", "dataset"):
            try:
                check_field(name, getattr(self, name))
            except ValueError as e:
                raise SweepError(f"{FLAGS[name]}: {e}") from None

    def config(self, params: dict, seed: int | None = None) -> TrainConfig:
        """A trial's training config: its drawn `params`, trained with `seed` (the sweep's)."""
        return TrainConfig(epochs=self.epochs, val_split=self.val_split,
                           seed=self.seed if seed is None else seed,
                           dataset=self.dataset, schedule="cosine", **params)

    def largest(self) -> TrainConfig:
        """The config of the trial that needs the most memory: the largest hidden and batch."""
        return self.config({"hidden": max(self.space.hidden),
                            "batch_size": max(self.space.batch_size)})

    def settings(self) -> dict:
        """The fixed settings the study records: every trial of it runs with these."""
        return {"dataset": self.dataset, "epochs": self.epochs, "val_split": self.val_split,
                **self.space.settings()}


def trial_seed(sweep: Sweep, number: int) -> int:
    """The training seed of trial `number`: its own, so that no two trials are the same run."""
    return (sweep.seed + number) % 2**32


def sampler_seed(sweep: Sweep, worker_index: int) -> int:
    """A sampler seed of this process alone (host, pid, worker): two machines, or two commands
    on one machine, given the same --seed must not propose the same trials."""
    key = f"{sweep.seed}/{socket.gethostname()}/{os.getpid()}/{worker_index}"
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:4], "big")


def check(sweep: Sweep, n_train: int, n_test: int) -> str | None:
    """A one-line reason this sweep cannot run on this data and machine, or None: a
    validation split or batch that leaves nothing to train on, more workers than cores, or
    more memory than there is for every worker at once training the largest trial."""
    from .. import resources

    largest = sweep.largest()
    if sweep.val_split >= n_train:
        return (f"--val-split {sweep.val_split} leaves no training samples (the training set "
                f"has {n_train}; give at most {n_train - max(sweep.space.batch_size)})")
    cores = resources.usable_cores()
    if sweep.workers > cores:
        return (f"--workers {sweep.workers} is more than the {cores} cores this process may "
                f"use: give --workers {cores} or fewer")
    reason = resources.check_runs([largest] * sweep.workers, n_train, n_test)
    if reason:
        workers = f"{sweep.workers} worker{'s' * (sweep.workers > 1)}"
        return f"{workers} at hidden {largest.hidden}, batch {largest.batch_size}: {reason}"
    return None


# --- joining a study ----------------------------------------------------------------------------


def _describe(name: str, value) -> str:
    if isinstance(value, list):
        sep = ":" if name in ("lr", "momentum", "weight_decay") else ","
        return sep.join(f"{v:g}" if isinstance(v, float) else str(v) for v in value)
    return str(value)


def adopt(sweep: Sweep, stored: dict) -> Sweep:
    """`sweep` joining a study whose settings are `stored`: each setting not given is taken
    from the study; one given that differs is refused in one line naming it."""
    from dataclasses import replace

    ours = sweep.settings()
    taken = {}
    for name, value in ours.items():
        if name not in stored or stored[name] == value:
            continue
        if sweep.given is None or name in sweep.given:
            what = "search space" if name in SPACE_FIELDS else "setting"
            raise SweepError(
                f"study {sweep.study!r} was made with {FLAGS[name]} {_describe(name, stored[name])}"
                f", not {_describe(name, value)}: its {what} cannot change; leave {FLAGS[name]} "
                f"out to join it, or start a new study with --study NAME")
        taken[name] = stored[name]
    if not taken:
        return sweep
    space = {k: tuple(v) for k, v in taken.items() if k in SPACE_FIELDS}
    fixed = {k: v for k, v in taken.items() if k not in SPACE_FIELDS}
    return replace(sweep, space=replace(sweep.space, **space), **fixed)
