"""Where a sweep's study lives: the storage URL (--storage, $MNIST_TUI_STORAGE or sweeps.sqlite
beside the run history), shown with its password masked; Optuna's RDB storage with heartbeats,
which also fails a trial that died before its first one; opening or joining the study."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

from .plan import Sweep, SweepError, adopt, sampler_seed

HEARTBEAT, GRACE = 2, 8  # seconds: a running trial silent this long belongs to a dead worker
STORAGE_ENV = "MNIST_TUI_STORAGE"  # the storage URL, kept out of the command line


def default_storage(db_path: str | os.PathLike | None = None) -> str:
    """sweeps.sqlite beside the run history `db_path` (None: the default one), as a URL."""
    from ..store import default_path

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
    from ..store import StoreError, default_path, make_folder

    try:
        make_folder(Path(db_path) if db_path else default_path())
    except StoreError as e:
        raise SweepError(f"cannot open the study storage: {e}") from None


def _first_line(e: BaseException, url: str) -> str:
    text = str(getattr(e, "orig", None) or e) or type(e).__name__
    return _scrub(text.strip().splitlines()[0], url)


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
