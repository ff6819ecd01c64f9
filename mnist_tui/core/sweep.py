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
"""

from __future__ import annotations

import hashlib
import math
import os
import re
import signal
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .config import SPECS, TrainConfig, check_field, parse_field
from .events import Diverged, EpochEnd, Finished

DEFAULT_TRIALS, DEFAULT_WORKERS, DEFAULT_EPOCHS, DEFAULT_VAL = 30, 2, 4, 10_000
HEARTBEAT, GRACE = 2, 8  # seconds: a running trial silent this long belongs to a dead worker
STOP_GRACE = 10.0  # seconds a stopped worker gets to record its trial before SIGKILL
STORAGE_ENV = "MNIST_TUI_STORAGE"  # the storage URL, kept out of the command line
USES_MOMENTUM = ("momentum", "nesterov")  # the optimizers whose rule reads μ (see optim.py)
# The study's fixed settings, with the sweep flag that sets each (the messages name it).
FLAGS = {"dataset": "--dataset", "epochs": "--epochs", "val_split": "--val-split",
         "lr": "--lr", "hidden": "--hidden", "batch_size": "--batch-size",
         "momentum": "--momentum", "weight_decay": "--weight-decay", "optimizer": "--optimizer"}
SPACE_FIELDS = ("lr", "hidden", "batch_size", "momentum", "weight_decay", "optimizer")


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
    from . import resources

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


# --- the storage --------------------------------------------------------------------------------


def default_storage(db_path: str | os.PathLike | None = None) -> str:
    from .store import default_path

    history = Path(db_path) if db_path else default_path()
    return f"sqlite:///{history.with_name('sweeps.sqlite').resolve()}"


def storage_url(sweep: Sweep) -> str:
    """The sweep's storage: --storage, else $MNIST_TUI_STORAGE, else sweeps.sqlite."""
    return sweep.storage or os.environ.get(STORAGE_ENV, "") or default_storage(sweep.db_path)


def shown(url: str) -> str:
    """`url` with its password masked (SQLAlchemy's rendering), fit to print."""
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not a URL SQLAlchemy parses: mask whatever sits between : and @
        return re.sub(r"(://[^/:@]*:)[^@/]*@", r"\1***@", url)


def _scrub(text: str, url: str) -> str:
    """An error's text with the URL's password (and the URL itself) masked."""
    try:
        from sqlalchemy.engine import make_url

        password = make_url(url).password
    except Exception:
        password = None
    text = text.replace(url, shown(url))
    if password:
        text = text.replace(str(password), "***")
    return text


def _check_url(url: str) -> None:
    """Refuse, in one line, a storage no worker can share: in memory, or not a URL."""
    try:
        from sqlalchemy.engine import make_url

        parsed = make_url(url)
    except Exception:
        raise SweepError(f"--storage {shown(url)!r} is not a database URL (e.g. "
                         "sqlite:///sweeps.db or postgresql://user@host/db)") from None
    if parsed.get_backend_name() == "sqlite" and (
            not parsed.database or parsed.database == ":memory:" or "mode=memory" in url
            or parsed.database.startswith("file::memory:")):
        raise SweepError(f"--storage {shown(url)}: an in-memory database is private to each "
                         "process, so the workers could not share the study; give a file "
                         "(sqlite:///sweeps.db) or a server")


_STORAGE_CLASS = None


def _storage_class():
    """Optuna's RDBStorage, which also fails a RUNNING trial that never beat its heart: one
    whose process died between `study.ask()` and its first heartbeat. Optuna leaves such a
    trial running for ever, and a resumed sweep would wait for it. Silence is timed by this
    process's own clock from when it first saw the trial, so machines' clocks need not agree."""
    global _STORAGE_CLASS
    if _STORAGE_CLASS is not None:
        return _STORAGE_CLASS
    import optuna
    import sqlalchemy

    silent_sql = sqlalchemy.text(
        "SELECT t.trial_id FROM trials t LEFT JOIN trial_heartbeats h ON h.trial_id = t.trial_id "
        "WHERE t.study_id = :study AND t.state = 'RUNNING' AND h.trial_id IS NULL")

    class Storage(optuna.storages.RDBStorage):
        def _get_stale_trial_ids(self, study_id: int) -> list[int]:
            stale = super()._get_stale_trial_ids(study_id)
            with self.engine.connect() as con:
                silent = {r[0] for r in con.execute(silent_sql, {"study": study_id})}
            seen = self.__dict__.setdefault("_silent_since", {})
            now = time.monotonic()
            for trial_id in list(seen):
                if trial_id not in silent:
                    del seen[trial_id]
            for trial_id in silent:
                seen.setdefault(trial_id, now)
            return stale + [t for t in silent if now - seen[t] > GRACE and t not in stale]

    _STORAGE_CLASS = Storage
    return Storage


def storage_for(url: str):
    """Optuna's RDB storage for `url`, with heartbeats so a dead worker's trial is retried.

    Two sweeps creating the tables of a new database at once: the second trips on the first's
    (an IntegrityError or ProgrammingError on PostgreSQL; on SQLite an OperationalError, as a
    lock is) and tries again a moment later, when they are there. Matched by type, not words.
    """
    import warnings

    import optuna
    import sqlalchemy.exc as sa

    _check_url(url)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    sqlite = url.startswith("sqlite")
    _check_sqlite_folder(url)
    retry = (sa.IntegrityError, sa.ProgrammingError) + ((sa.OperationalError,) if sqlite else ())
    for attempt in range(6):
        try:
            return _storage_class()(
                url, heartbeat_interval=HEARTBEAT, grace_period=GRACE,
                heartbeat_stale_trial_callback=optuna.storages.RetryHeartbeatStaleTrialCallback(
                    max_retry=1),
                engine_kwargs={"connect_args": {"timeout": 30}} if sqlite else None)
        except ImportError as e:  # no driver for this kind of database
            scheme = url.split(":", 1)[0]
            extra = (" (pip install 'mnist-tui[postgres]')" if scheme.startswith("postgres")
                     else "")
            missing = getattr(e.__cause__, "name", None) or "its driver"
            raise SweepError(f"--storage {shown(url)}: no database driver for {scheme}: "
                             f"{missing} is not installed{extra}") from None
        except retry as e:
            if attempt < 5:
                time.sleep(0.2 + 0.3 * attempt)
                continue
            raise SweepError(f"cannot open the study storage {shown(url)}: "
                             f"{_first_line(e, url)}") from None
        except Exception as e:  # SQLAlchemy's other errors: a server that cannot be reached
            raise SweepError(f"cannot open the study storage {shown(url)}: "
                             f"{_first_line(e, url)}") from None


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
            raise SweepError(f"cannot open the study storage {shown(url)}: the folder {folder} does "
                             "not exist")


def _make_default_folder(db_path: str | os.PathLike | None) -> None:
    """The default storage lives beside the run history: make their folder (a fresh account's
    first sweep), with the user's umask, or say why it cannot be made."""
    from .store import StoreError, default_path, make_folder

    try:
        make_folder(Path(db_path) if db_path else default_path())
    except StoreError as e:
        raise SweepError(f"cannot open the study storage: {e}") from None


def _first_line(e: BaseException, url: str) -> str:
    text = str(getattr(e, "orig", None) or e) or type(e).__name__
    return _scrub(text.strip().splitlines()[0], url)


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


def join(sweep: Sweep) -> Sweep:
    """`sweep` with the settings of its study, if the study exists already (see `adopt`);
    refused (SweepError) if it asks for others. Creates no study: a SQLite file that is not
    there yet is left uncreated, so a sweep refused later has written nothing."""
    url = storage_url(sweep)
    _check_url(url)
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and not Path(parsed.database).exists():
        return sweep
    storage = storage_for(url)
    try:
        study_id = storage.get_study_id_from_name(sweep.study)
    except KeyError:
        return sweep
    except Exception as e:
        raise SweepError(f"cannot open study {sweep.study!r}: {_first_line(e, url)}") from None
    stored = storage.get_study_user_attrs(study_id)
    return adopt(sweep, stored) if "optimizer" in stored else sweep


def open_study(sweep: Sweep, worker_index: int = 0, wait: float = 10.0):
    """Create the study (recording its settings), or load it to resume or to join it from
    another worker or machine. Returns (study, the sweep with the study's settings)."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    if not sweep.storage and not os.environ.get(STORAGE_ENV):
        _make_default_folder(sweep.db_path)
    url = storage_url(sweep)
    storage = storage_for(url)
    sampler = optuna.samplers.TPESampler(seed=sampler_seed(sweep, worker_index))
    pruner = optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=1)
    try:
        try:
            study = optuna.create_study(study_name=sweep.study, storage=storage, sampler=sampler,
                                        pruner=pruner, direction="maximize")
            created = True
        except optuna.exceptions.DuplicatedStudyError:
            study = optuna.load_study(study_name=sweep.study, storage=storage, sampler=sampler,
                                      pruner=pruner)
            created = False
        stored = study.user_attrs
        deadline = time.monotonic() + wait
        # Its creator writes the settings just after creating it, "optimizer" last, so its
        # presence means all are there.
        while not created and "optimizer" not in stored and time.monotonic() < deadline:
            time.sleep(0.2)
            stored = study.user_attrs
        if "optimizer" in stored:
            return study, adopt(sweep, stored)
        # New, or made before studies kept their settings (or by hand): keep ours.
        for name, value in sweep.settings().items():
            study.set_user_attr(name, value)
        return study, sweep
    except SweepError:
        raise
    except Exception as e:
        raise SweepError(f"cannot open study {sweep.study!r}: {_first_line(e, url)}") from None


def objective(sweep: Sweep, dataset, trial) -> float:
    """Train one trial with its own seed; report validation accuracy each epoch; record it as
    a run. Stopped (`STOP`, set by SIGTERM or SIGINT in a worker), it is recorded as stopped,
    here and in the study, queued again for the resume, and ends with KeyboardInterrupt."""
    import optuna

    from . import train
    from .local_run import LocalRun
    from .model import Perceptron
    from .store import Recorder

    params = sweep.space.suggest(trial)
    seed = trial_seed(sweep, trial.number)
    config = sweep.config(params, seed)
    for name, value in (("seed", seed), ("host", socket.gethostname()), ("pid", os.getpid())):
        trial.set_user_attr(name, value)
    recorder = Recorder(sweep.db_path, config, study=sweep.study, trial=trial.number,
                        labels=dataset.test_labels)
    trial.set_user_attr("run_id", recorder.run_id)
    model = Perceptron(config.hidden, seed=config.seed)  # as train() makes it: served below
    served = LocalRun(config, recorder.run_id, model, label=f"{sweep.study} #{trial.number}",
                      db_path=sweep.db_path)
    best, status = 0.0, "done"
    try:
        for ev in train.train(config, dataset, model=model, threads=1,
                              stop=EitherEvent(STOP, served.stop_event),
                              pause=served.pause_event, live=served.live,
                              snapshot=served.snapshot):
            served.take(ev)  # `mnist-tui attach` watches a trial too
            if isinstance(ev, EpochEnd):
                recorder.epoch(ev)
                best = max(best, ev.val_acc)
                trial.set_user_attr("test_acc", ev.test_acc)
                trial.set_user_attr("epochs", ev.epoch)
                trial.report(ev.val_acc, ev.epoch)
                # A trial at its last epoch has run in full: it completes, whatever its rank.
                if ev.epoch < sweep.epochs and trial.should_prune():
                    status = "pruned"
                    raise optuna.TrialPruned(f"pruned at epoch {ev.epoch}")
            elif isinstance(ev, Diverged):
                status = "diverged"
                trial.set_user_attr("diverged", True)
                return 0.0  # a run that blows up is a bad point, not a failed trial
            elif isinstance(ev, Finished) and ev.stopped and not STOP.is_set():
                status = "stopped"  # this trial alone, by `runs stop` or a viewer: the worker goes on
            elif isinstance(ev, Finished) and ev.stopped:
                status = "stopped"
                trial.set_user_attr("stopped", True)
                trial.study.enqueue_trial(trial.params, user_attrs={"retry_of": trial.number})
                raise KeyboardInterrupt  # Optuna records the trial as failed, and re-raises
    except BaseException:
        if status == "done":
            status = "stopped"
        raise
    finally:
        served.close()
        recorder.finish(status)
    return best


class EitherEvent:
    """Set when either event is: the worker's STOP, or one trial's stop from a viewer."""

    def __init__(self, *events: threading.Event) -> None:
        self.events = events

    def is_set(self) -> bool:
        return any(e.is_set() for e in self.events)

    def wait(self, timeout: float | None = None) -> bool:
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self.is_set():
            left = 0.02 if deadline is None else min(0.02, deadline - time.monotonic())
            if left <= 0:
                return False
            self.events[0].wait(left)
        return True


# Set in a worker by SIGTERM, SIGINT or its parent's end: the trial stops at its next batch
# (train() checks it), is recorded, and the worker ends. An event, not an exception raised from
# the signal handler: that could land inside a storage call and leave the trial half-written.
STOP = threading.Event()


def _stop(sig=None, frame=None) -> None:
    STOP.set()


def _watch_parent(alive) -> None:
    """Stop this worker once the pipe from the sweep's parent closes: the parent has gone,
    `kill -9` included, and nobody else will stop us."""
    def wait() -> None:
        try:
            alive.recv()
        except (EOFError, OSError):
            pass
        STOP.set()

    threading.Thread(target=wait, name="parent-watch", daemon=True).start()


def _stop_study(study, trial) -> None:
    """An Optuna callback: no new trial once the worker is asked to stop."""
    if STOP.is_set():
        study.stop()


def worker(sweep: Sweep, index: int = 0, shared=None, alive=None, errors=None,
           environ: dict | None = None) -> None:
    """One worker process: join the study and run trials until it holds `trials` of them.

    Running and waiting (to be retried) trials count too, so workers stop as the last ones
    start rather than each starting one more; failed trials do not count, so they are replaced.
    SIGTERM, SIGINT, or `alive` (the parent's pipe) closing stop it, its trial recorded.
    An error that ends it is sent, as one line of UTF-8, on `errors` (a pipe's write end), so
    that the sweep says why rather than ending "done" with nothing run.
    `environ` is the parent's environment when it started us: a worker comes from the fork
    server, whose environment is the one it started with, not the parent's now (its
    XDG_DATA_HOME and XDG_RUNTIME_DIR decide where trials and their runs are written).
    """
    if environ is not None:
        os.environ.clear()
        os.environ.update(environ)
    try:
        _work(sweep, index, shared, alive)
    except Exception as e:
        if errors is None:
            raise
        line = f"worker {index}: {type(e).__name__}: {e}".splitlines()[0]
        try:
            errors.send_bytes(_scrub(line, storage_url(sweep)).encode("utf-8", "replace")[:4000])
        except OSError:
            pass
        raise


def _work(sweep: Sweep, index: int, shared, alive) -> None:
    import optuna

    from . import data

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    if alive is not None:
        _watch_parent(alive)
    try:
        if shared is not None:  # the parent's dataset, in shared memory (see engine.py)
            from .engine import attach

            dataset = attach(shared)
        else:
            dataset = data.load(sweep.data_dir, dataset=sweep.dataset)
        study, sweep = open_study(sweep, index)
        # A stopped trial is a failed one to Optuna, which would log each with its traceback.
        optuna.logging.set_verbosity(optuna.logging.ERROR)
        done = optuna.study.MaxTrialsCallback(sweep.trials, states=COUNTED)
        running = (optuna.trial.TrialState.RUNNING, optuna.trial.TrialState.WAITING)
        while not STOP.is_set():
            # A trial still "running" may belong to a worker that was killed: once its
            # heartbeat is GRACE seconds old (or it never had one), it is failed and a retry
            # queued, which this worker takes.
            optuna.storages.fail_stale_trials(study)
            counted = study.get_trials(deepcopy=False, states=COUNTED)
            waiting = any(t.state == optuna.trial.TrialState.WAITING for t in counted)
            if len(counted) < sweep.trials or waiting:
                study.optimize(lambda t: objective(sweep, dataset, t),
                               callbacks=[done, _stop_study], catch=(FloatingPointError,),
                               gc_after_trial=False)
                continue
            if not any(t.state in running for t in counted):
                return  # every counted trial has finished: the study is done
            STOP.wait(HEARTBEAT)
    except KeyboardInterrupt:
        return  # stopped: the trial was recorded as such in objective()


@dataclass
class TrialRow:
    number: int
    state: str  # running | waiting | complete | pruned | diverged | stopped | fail
    params: dict
    val_acc: float | None
    test_acc: float | None
    epochs: int
    run_id: int | None
    host: str | None = None
    seed: int | None = None


def _state(t) -> str:
    if t.user_attrs.get("diverged"):
        return "diverged"
    if t.state.name == "FAIL" and t.user_attrs.get("stopped"):
        return "stopped"
    return t.state.name.lower()


def rows(study) -> list[TrialRow]:
    """The trials as the CLI and the Sweep tab show them."""
    out = []
    for t in study.get_trials(deepcopy=False):
        values = list(t.intermediate_values.values())
        waiting = t.state.name == "WAITING"  # a retry: the attributes are its parent's
        attrs = {} if waiting else t.user_attrs
        out.append(TrialRow(
            t.number, _state(t), dict(t.params),
            max(values) if values and not waiting else None, attrs.get("test_acc"),
            int(attrs.get("epochs", 0)), attrs.get("run_id"), attrs.get("host"),
            attrs.get("seed")))
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
    """Optuna's parameter importances (its default evaluator: PED-ANOVA in Optuna 5, which
    judges each parameter over the trials that drew it), once there are enough finished trials."""
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
    Setting `stop`, or any exception here (Ctrl-C), ends them: each records its running trial
    as stopped and queues it again, for the resume. Each worker also watches a pipe that only
    this process holds, so they end by themselves when it dies, even by SIGKILL.
    """
    import optuna

    from .engine import CONTEXT

    # Errors (storage, study, settings) show here, before any process starts.
    study, sweep = open_study(sweep)
    # A resume fails (and queues again) the trials of dead workers now, not once its own
    # workers are up: on a loaded machine that took seconds more.
    optuna.storages.fail_stale_trials(study)
    stop = stop or threading.Event()
    alive_r, alive_w = CONTEXT.Pipe(duplex=False)
    errors_r, errors_w = CONTEXT.Pipe(duplex=False)
    procs = [CONTEXT.Process(target=worker,
                             args=(sweep, i, shared, alive_r, errors_w, dict(os.environ)),
                             name=f"mnist-tui-sweep-{i}", daemon=True)
             for i in range(sweep.workers)]
    try:
        for p in procs:
            p.start()
        alive_r.close()  # the workers hold the read ends; only this process the write end
        errors_w.close()  # and the workers alone hold the errors' write ends
        seen = None
        while any(p.is_alive() for p in procs) and not stop.wait(poll):
            current = rows(study)
            key = [(r.number, r.state, r.epochs) for r in current]
            if on_update and key != seen:
                seen = key
                on_update(current)
    finally:
        end_workers(procs)
        alive_w.close()
        failures = _read_errors(errors_r)
        errors_r.close()
    if on_update:
        on_update(rows(study))
    if not stop.is_set():
        _check_workers(study, sweep, procs, failures)
    return study


def _read_errors(conn) -> list[str]:
    """Every line the workers sent before they ended (see `worker`)."""
    lines = []
    try:
        while conn.poll(0):
            lines.append(conn.recv_bytes().decode("utf-8", "replace"))
    except (EOFError, OSError):
        pass
    return lines


def _check_workers(study, sweep: Sweep, procs, failures: list[str]) -> None:
    """Raise SweepError if the workers ended, not asked to, before the study held its trials:
    with the first worker's error, or how it ended (a signal: killed, perhaps out of memory)."""
    import optuna

    finished = study.get_trials(deepcopy=False, states=(
        optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED))
    if len(finished) >= sweep.trials:
        return
    if failures:
        raise SweepError(f"the sweep stopped: {failures[0]}")
    ended = [p for p in procs if p.exitcode not in (0, None)]
    if ended:
        p = ended[0]
        how = (f"was killed by signal {-p.exitcode}" if p.exitcode < 0
               else f"ended with exit code {p.exitcode}")
        raise SweepError(f"the sweep stopped: {p.name} {how} with {len(finished)} of "
                         f"{sweep.trials} trials finished; Start (or run) it again to resume")


def end_workers(procs, grace: float = STOP_GRACE) -> None:
    """SIGTERM to each live worker (it records its trial as stopped), SIGKILL after `grace`."""
    for p in procs:
        if p.pid is not None and p.is_alive():
            p.terminate()
    deadline = time.monotonic() + grace
    for p in procs:
        if p.pid is not None:
            p.join(max(0.0, deadline - time.monotonic()))
            if p.is_alive():
                p.kill()
                p.join(2)


def summary(study, started: float | None = None) -> dict:
    """The best trial by validation accuracy, with its test accuracy beside it."""
    import optuna

    done = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    pruned = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.PRUNED,))
    stopped = [t for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.FAIL,))
               if t.user_attrs.get("stopped")]
    out = {"study": study.study_name, "complete": len(done), "pruned": len(pruned),
           "diverged": sum(bool(t.user_attrs.get("diverged")) for t in done),
           "stopped": len(stopped)}
    if done:
        best = study.best_trial
        out.update(best_trial=best.number, best_host=best.user_attrs.get("host"),
                   best_val_acc=best.value, best_test_acc=best.user_attrs.get("test_acc"),
                   best_params=best.params, best_run_id=best.user_attrs.get("run_id"),
                   best_seed=best.user_attrs.get("seed"))
    if started is not None:
        out["seconds"] = time.time() - started
    return out

