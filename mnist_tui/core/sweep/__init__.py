"""Hyperparameter sweeps with Optuna: its TPE sampler proposes, its MedianPruner stops hopeless
trials, its storage holds the study. Nothing here searches by hand.

A sweep is `workers` processes, each running `study.optimize` on one shared storage (SQLite by
default, or a database server such as PostgreSQL: several machines then join one study by name).
Each trial trains the seed's network for `epochs` epochs on the training set minus a validation
split, with a seed of its own (the sweep's seed + the trial's number), reports validation
accuracy every epoch (`trial.report`, so the pruner can stop it), and never looks at the test
set to choose: test accuracy is only recorded beside it. Every trial is a run in the run
history, tagged with its study; its seed, host and process are trial attributes.

Every process that samples seeds its sampler from the sweep's seed, its host, its pid and its
worker index, so two machines never draw the same trials. The study keeps its fixed settings
(dataset, epochs, validation split, search space) as study attributes from its creation: a
machine joining with other settings is refused, naming the difference, and one that does not
say takes the study's (`given`).

A sweep stopped (the stop event, SIGTERM, SIGINT, or its parent gone: every worker watches a
pipe that only the parent holds open) records each running trial as stopped (a failed trial
with the attribute `stopped`, and a stopped run) and queues it again. A killed sweep resumes
too: the storage keeps a heartbeat per running trial, so when the same study is started again,
trials whose process is gone are marked failed and retried once, a trial that died before its
first heartbeat included (`Storage`), and the study runs until it holds `trials` finished ones.

Passwords in storage URLs are never shown (`shown`); the URL may come from $MNIST_TUI_STORAGE,
so that it stays out of the command line (`ps`).

The parts, each a module of this package: `plan` (the space, the settings, the seeds, the
checks), `storage` (URLs, Optuna's storage with heartbeats, opening the study), `workers` (the
objective, the worker processes, `run`) and `results` (rows, importances, the summary). Every
name is here too: `from mnist_tui.core import sweep as sw; sw.run(sw.Sweep())`.
"""

from __future__ import annotations

from .plan import (
    DEFAULT_EPOCHS,
    DEFAULT_TRIALS,
    DEFAULT_VAL,
    DEFAULT_WORKERS,
    FLAGS,
    SPACE_FIELDS,
    USES_MOMENTUM,
    Space,
    Sweep,
    SweepError,
    adopt,
    check,
    parse_choices,
    parse_range,
    sampler_seed,
    trial_seed,
)
from .results import TrialRow, importances, params_words, rows, summary
from .storage import (
    GRACE,
    HEARTBEAT,
    STORAGE_ENV,
    default_storage,
    join,
    open_study,
    shown,
    storage_for,
    storage_url,
)
from .workers import (
    COUNTED,
    STOP,
    STOP_GRACE,
    EitherEvent,
    end_workers,
    objective,
    run,
    worker,
)

__all__ = [
    "COUNTED", "DEFAULT_EPOCHS", "DEFAULT_TRIALS", "DEFAULT_VAL", "DEFAULT_WORKERS", "FLAGS",
    "GRACE", "HEARTBEAT", "SPACE_FIELDS", "STOP", "STOP_GRACE", "STORAGE_ENV", "USES_MOMENTUM",
    "EitherEvent", "Space", "Sweep", "SweepError", "TrialRow", "adopt", "check",
    "default_storage", "end_workers", "importances", "join", "objective", "open_study",
    "params_words", "parse_choices", "parse_range", "rows", "run", "sampler_seed", "shown",
    "storage_for", "storage_url", "summary", "trial_seed", "worker",
]
