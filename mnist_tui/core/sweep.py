"""Hyperparameter sweeps with Optuna: its TPE sampler proposes, its MedianPruner stops hopeless
trials, its storage holds the study. Nothing here searches by hand.

A sweep is `workers` processes, each running `study.optimize` on one shared storage (SQLite by
default, or any URL Optuna accepts: several machines then join one study by name). Each trial
trains the seed's network for `epochs` epochs on the training set minus a validation split,
reports validation accuracy every epoch (`trial.report`, so the pruner can stop it), and never
looks at the test set to choose: test accuracy is only recorded beside it. Every trial is a run
in the run history, tagged with its study.

A killed sweep resumes: its storage keeps a heartbeat per running trial, so when the same study
is started again, trials whose process is gone are marked failed and retried once
(`RetryFailedTrialCallback`), and the study runs until it holds `trials` finished ones.
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .config import SPECS, TrainConfig, check_field
from .events import Diverged, EpochEnd, Finished

DEFAULT_TRIALS, DEFAULT_WORKERS, DEFAULT_EPOCHS, DEFAULT_VAL = 30, 2, 4, 10_000
HEARTBEAT, GRACE = 2, 8  # seconds: a running trial silent this long belongs to a dead worker


class _Counted(tuple):
    """The trial states that count toward `trials` (see `worker`), resolved lazily: importing
    Optuna takes 0.4 s, and only a sweep needs it."""

    def __contains__(self, state) -> bool:
        return state.name in ("COMPLETE", "PRUNED", "RUNNING", "WAITING")

    def __iter__(self):
        import optuna

        S = optuna.trial.TrialState
        return iter((S.COMPLETE, S.PRUNED, S.RUNNING, S.WAITING))


COUNTED = _Counted()


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
        """This trial's values, drawn by Optuna's sampler."""
        return {
            "lr": trial.suggest_float("lr", *self.lr, log=True),
            "hidden": trial.suggest_categorical("hidden", list(self.hidden)),
            "batch_size": trial.suggest_categorical("batch_size", list(self.batch_size)),
            "momentum": trial.suggest_float("momentum", *self.momentum),
            "weight_decay": trial.suggest_float("weight_decay", *self.weight_decay),
            "optimizer": trial.suggest_categorical("optimizer", list(self.optimizer)),
        }


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
    try:
        return tuple(kind(p) for p in parts)
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

    def __post_init__(self) -> None:
        if self.trials < 1 or self.workers < 1 or self.epochs < 1:
            raise SweepError("trials, workers and epochs must each be at least 1")
        if self.val_split < 1:
            raise SweepError("a sweep needs a validation split (it never chooses by test)")

    def config(self, params: dict) -> TrainConfig:
        return TrainConfig(epochs=self.epochs, val_split=self.val_split, seed=self.seed,
                           dataset=self.dataset, schedule="cosine", **params)


def default_storage(db_path: str | os.PathLike | None = None) -> str:
    from .store import default_path

    history = Path(db_path) if db_path else default_path()
    return f"sqlite:///{history.with_name('sweeps.sqlite').resolve()}"


def storage_for(url: str):
    """Optuna's RDB storage for `url`, with heartbeats so a dead worker's trial is retried."""
    import warnings

    import optuna

    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    _check_sqlite_folder(url)
    for attempt in range(5):
        try:
            return optuna.storages.RDBStorage(
                url, heartbeat_interval=HEARTBEAT, grace_period=GRACE,
                heartbeat_stale_trial_callback=optuna.storages.RetryHeartbeatStaleTrialCallback(
                    max_retry=1),
                engine_kwargs={"connect_args": {"timeout": 30}} if url.startswith("sqlite") else None)
        except Exception as e:  # SQLAlchemy's errors: a URL that cannot be reached or parsed
            reason = str(e).splitlines()[0] if str(e) else type(e).__name__
            # Two sweeps creating one new storage at once: the second trips on the first's
            # tables ("UNIQUE constraint", "already exists"); a moment later they are there.
            if attempt < 4 and ("UNIQUE" in reason or "already exists" in reason
                                or "locked" in reason):
                time.sleep(0.5 + attempt)
                continue
            raise SweepError(f"cannot open the study storage {url}: {reason}") from None


def _check_sqlite_folder(url: str) -> None:
    """A SQLite storage whose folder is missing is named as such (SQLite says only "unable to
    open database file"). A folder named by the user is not made: a typo would make one."""
    from sqlalchemy.engine import make_url

    try:
        parsed = make_url(url)
    except Exception:  # a URL SQLAlchemy cannot parse is reported by the open below
        return
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        folder = Path(parsed.database).parent
        if not folder.is_dir():
            raise SweepError(f"cannot open the study storage {url}: the folder {folder} does "
                             "not exist")


def _make_default_folder(db_path: str | os.PathLike | None) -> None:
    """The default storage lives beside the run history: make their folder (a fresh account's
    first sweep), with the user's umask, or say why it cannot be made."""
    from .store import StoreError, default_path, make_folder

    try:
        make_folder(Path(db_path) if db_path else default_path())
    except StoreError as e:
        raise SweepError(f"cannot open the study storage: {e}") from None


def open_study(sweep: Sweep, worker_index: int = 0):
    """Create the study, or load it to resume or to join it from another worker. Each worker
    seeds its sampler differently, or two would propose the same first trials."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    if not sweep.storage:
        _make_default_folder(sweep.db_path)
    storage = storage_for(sweep.storage or default_storage(sweep.db_path))
    try:
        return optuna.create_study(
            study_name=sweep.study, storage=storage, direction="maximize", load_if_exists=True,
            sampler=optuna.samplers.TPESampler(seed=sweep.seed * 1000 + worker_index),
            pruner=optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=1))
    except Exception as e:
        raise SweepError(f"cannot open study {sweep.study!r}: {str(e).splitlines()[0]}") from None


def objective(sweep: Sweep, dataset, trial) -> float:
    """Train one trial; report validation accuracy each epoch; record it as a run."""
    import optuna

    from . import train
    from .local_run import LocalRun
    from .model import Perceptron
    from .store import Recorder

    config = sweep.config(sweep.space.suggest(trial))
    recorder = Recorder(sweep.db_path, config, study=sweep.study, trial=trial.number,
                        labels=dataset.test_labels)
    trial.set_user_attr("run_id", recorder.run_id)
    model = Perceptron(config.hidden, seed=config.seed)  # as train() makes it: served below
    served = LocalRun(config, recorder.run_id, model, label=f"{sweep.study} #{trial.number}")
    best, status = 0.0, "done"
    try:
        for ev in train.train(config, dataset, model=model, threads=1, stop=served.stop_event,
                              pause=served.pause_event, live=served.live,
                              snapshot=served.snapshot):
            served.take(ev)  # `mnist-tui attach` watches a trial too
            if isinstance(ev, EpochEnd):
                recorder.epoch(ev)
                best = max(best, ev.val_acc)
                trial.set_user_attr("test_acc", ev.test_acc)
                trial.set_user_attr("epochs", ev.epoch)
                trial.report(ev.val_acc, ev.epoch)
                if trial.should_prune():
                    status = "pruned"
                    raise optuna.TrialPruned(f"pruned at epoch {ev.epoch}")
            elif isinstance(ev, Finished) and ev.stopped:  # by `runs stop` or a viewer
                status = "stopped"
            elif isinstance(ev, Diverged):
                status = "diverged"
                trial.set_user_attr("diverged", True)
                return 0.0  # a run that blows up is a bad point, not a failed trial
    except BaseException:
        if status == "done":
            status = "stopped"
        raise
    finally:
        served.close()
        recorder.finish(status)
    return best


def worker(sweep: Sweep, index: int = 0, shared=None) -> None:
    """One worker process: join the study and run trials until it holds `trials` of them.

    Running and waiting (to be retried) trials count too, so workers stop as the last ones
    start rather than each starting one more; failed trials do not count, so they are replaced.
    """
    import optuna

    from . import data

    if shared is not None:  # the parent's dataset, in shared memory (see engine.py)
        from .engine import attach

        dataset = attach(shared)
    else:
        dataset = data.load(sweep.data_dir, dataset=sweep.dataset)
    study = open_study(sweep, index)
    done = optuna.study.MaxTrialsCallback(sweep.trials, states=COUNTED)
    running = (optuna.trial.TrialState.RUNNING, optuna.trial.TrialState.WAITING)
    while True:
        # A trial still "running" may belong to a worker that was killed: once its heartbeat
        # is GRACE seconds old, Optuna fails it and queues a retry, which this worker takes.
        optuna.storages.fail_stale_trials(study)
        counted = study.get_trials(deepcopy=False, states=COUNTED)
        waiting = any(t.state == optuna.trial.TrialState.WAITING for t in counted)
        if len(counted) < sweep.trials or waiting:
            study.optimize(lambda t: objective(sweep, dataset, t), callbacks=[done],
                           catch=(FloatingPointError,), gc_after_trial=False)
            continue
        if not any(t.state in running for t in counted):
            return  # every counted trial has finished: the study is done
        time.sleep(HEARTBEAT)


@dataclass
class TrialRow:
    number: int
    state: str  # running | complete | pruned | fail
    params: dict
    val_acc: float | None
    test_acc: float | None
    epochs: int
    run_id: int | None


def rows(study) -> list[TrialRow]:
    """The trials as the CLI and the Sweep tab show them."""
    out = []
    for t in study.get_trials(deepcopy=False):
        values = list(t.intermediate_values.values())
        state = "diverged" if t.user_attrs.get("diverged") else t.state.name.lower()
        out.append(TrialRow(
            t.number, state, dict(t.params),
            max(values) if values else None, t.user_attrs.get("test_acc"),
            int(t.user_attrs.get("epochs", 0)), t.user_attrs.get("run_id")))
    return out


def params_words(params: dict) -> str:
    """A trial's values in short words, the same in the CLI and the Sweep tab:
    'lr=0.0058 n=256 b=64 m=0.824 wd=3.85e-05 adam'."""
    short = {"lr": "lr", "hidden": "n", "batch_size": "b", "momentum": "m", "weight_decay": "wd"}
    words = []
    for k, v in params.items():
        name = short.get(k, k)
        words.append(str(v) if k == "optimizer" else
                     f"{name}={v:.3g}" if isinstance(v, float) else f"{name}={v}")
    return " ".join(words)


def importances(study) -> dict[str, float]:
    """Optuna's parameter importances (fANOVA), once there are enough finished trials."""
    import optuna

    if len([t for t in study.get_trials(deepcopy=False)
            if t.state == optuna.trial.TrialState.COMPLETE]) < 4:
        return {}
    try:
        return optuna.importance.get_param_importances(study)
    except (RuntimeError, ValueError):
        return {}


def run(sweep: Sweep, on_update: Callable[[list[TrialRow]], None] | None = None,
        poll: float = 1.0, stop: threading.Event | None = None, shared=None) -> object:
    """Start the workers (processes), report the trials as they change, return the study.

    The workers are processes of the engine's kind (forkserver: nothing of this process is
    copied), each with one BLAS thread, reading `shared` (the engine's shared dataset) if given.
    Setting `stop` or Ctrl-C ends them; their running trials are retried on resume.
    """
    from .engine import CONTEXT

    study = open_study(sweep)  # errors (storage, study) show here, before any process starts
    stop = stop or threading.Event()
    procs = [CONTEXT.Process(target=worker, args=(sweep, i, shared), name=f"mnist-tui-sweep-{i}",
                             daemon=True) for i in range(sweep.workers)]
    for p in procs:
        p.start()
    seen = None
    try:
        while any(p.is_alive() for p in procs) and not stop.wait(poll):
            current = rows(study)
            key = [(r.number, r.state, r.epochs) for r in current]
            if on_update and key != seen:
                seen = key
                on_update(current)
    finally:
        for p in procs:
            if p.is_alive():
                p.terminate()
        for p in procs:
            p.join(10)
    if on_update:
        on_update(rows(study))
    return study


def summary(study, started: float | None = None) -> dict:
    """The best trial by validation accuracy, with its test accuracy beside it."""
    import optuna

    done = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    pruned = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.PRUNED,))
    out = {"study": study.study_name, "complete": len(done), "pruned": len(pruned),
           "diverged": sum(bool(t.user_attrs.get("diverged")) for t in done)}
    if done:
        best = study.best_trial
        out.update(best_trial=best.number, best_val_acc=best.value,
                   best_test_acc=best.user_attrs.get("test_acc"), best_params=best.params,
                   best_run_id=best.user_attrs.get("run_id"))
    if started is not None:
        out["seconds"] = time.time() - started
    return out

