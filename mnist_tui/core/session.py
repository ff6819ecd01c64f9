"""A run as every front end drives it: `RunSession` (one run in the engine, with its history,
its record in the history database, its state and its live values) and `Race` (2 to 4 sessions
that differ in one field).

The dashboard, the race screen and the CLI's race hold sessions; none of them pairs the
engine's events with a recorder of its own. A session's `on_event` callback runs in the run's
reader thread, after the event is in `history` and in the database: a UI posts a message from
there, a CLI prints.

A recorded session also serves its run to viewers (core/host.py: `mnist-tui attach`, `runs
stop`), and `save_checkpoint()` keeps a detached run's weights under the data folder.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from .config import LIVE_FIELDS, TrainConfig
from .engine import Engine, RunHandle, Started
from .events import Diverged, EpochEnd, Event, Failed, Finished
from .history import RunHistory
from .model import Perceptron
from .race import label as racer_label
from .recording import Recorder, status_of
from .train import Live

# A session's states: before the child is up, while it trains, and how it ended (ENDINGS).
STARTING, TRAINING, PAUSED = "starting", "training", "paused"
OUTCOMES = (Finished, Diverged, Failed)


class RunSession:
    """One run: start it, steer it, and read its history, state and record.

    `history` receives every event (pass one that holds a checkpoint's epochs to continue
    them; `model` then gives the starting weights). `db_path` None records in the default
    history; `record=False` records nothing (tests, benchmarks).
    """

    def __init__(self, engine: Engine, config: TrainConfig, *, db_path=None,
                 model: Perceptron | None = None, history: RunHistory | None = None,
                 on_event: Callable[[RunSession, Event | Started], None] | None = None,
                 progress_interval: float = 0.2, threads: int | None = None,
                 record: bool = True, label: str | None = None,
                 serve: bool | None = None) -> None:
        self.engine, self.config, self.db_path = engine, config, db_path
        self.model, self.threads, self.record = model, threads, record
        self.progress_interval = progress_interval
        self.on_event = on_event
        self.label = label or racer_label(config, None)
        self.history = history if history is not None else RunHistory()
        self.history.start_run(config.epochs, continuing=model is not None)
        self.state = STARTING
        self.live = Live()  # the live values sent to the run (None: the config's)
        self.handle: RunHandle | None = None
        self.recorder: Recorder | None = None
        self.ended = threading.Event()  # set after the last event was handled
        self.error: str | None = None  # why the run could not start
        self.record_lost_at: Event | None = None  # the event at which the history failed
        self.serve = record if serve is None else serve  # to viewers, once it has a run id
        self.host = None  # its core.host.Host while it serves
        self.serve_error: str | None = None
        self.sampler = None  # core.machine.Sampler of the run's process, once it is up

    # --- what it is ---------------------------------------------------------------------------

    @property
    def db_run_id(self) -> int | None:
        """The run's id in the history database, once its process is up and recording."""
        return self.recorder.run_id if self.recorder else None

    @property
    def record_error(self) -> str | None:
        """Why the run is not (or no longer) recorded, if it is not."""
        return self.recorder.error if self.recorder else None

    @property
    def outcome(self) -> Finished | Diverged | Failed | None:
        return self.history.outcome

    @property
    def going(self) -> bool:
        return self.state in (STARTING, TRAINING, PAUSED)

    @property
    def paused(self) -> bool:
        return self.state == PAUSED

    def value(self, name: str) -> float:
        """A live field's value now: the last one sent, else the config's."""
        sent = getattr(self.live, name)
        return getattr(self.config, name) if sent is None else sent

    # --- running ------------------------------------------------------------------------------

    def start(self) -> RunSession:
        """Start the run's process. A process that cannot start (out of memory, fd limit)
        ends the session as failed, with the reason in `error`; nothing is raised."""
        try:
            self.handle = self.engine.start(self.config, model=self.model, on_event=self._receive,
                                            progress_interval=self.progress_interval,
                                            threads=self.threads)
        except Exception as e:
            self.error = f"cannot start the run: {e}"
            self._receive(Failed(self.error, ""))
        return self

    def _receive(self, event: Event | Started) -> None:
        """The reader thread: the history, then the database, then the front end's callback."""
        if isinstance(event, Started):
            if self.record:  # its own connection, in this thread: a locked history slows it, not a UI
                self.recorder = Recorder(self.db_path, self.config,
                                         labels=self.engine.dataset.test_labels)
            if self.state == STARTING:
                self.state = TRAINING
            if self.serve and self.db_run_id is not None:
                self._start_host(event.pid)
            from .machine import Sampler

            self.sampler = Sampler(event.pid)
        self.history.add(event)
        if self.recorder is not None and self.recorder.store is not None \
                and not isinstance(event, Started):
            usage = self.usage() if isinstance(event, EpochEnd) else None
            if usage is not None and self.history.progress is not None:  # the epoch's speed
                usage = replace(usage, samples_per_s=self.history.progress.samples_per_second)
            if not self.recorder.record(event, self.history.offset, usage) \
                    and self.recorder.error:
                self.record_lost_at = event
        if isinstance(event, OUTCOMES):
            self.state = status_of(event)
        if self.host is not None and not isinstance(event, Started):
            self.host.publish(event)
        try:
            if self.on_event is not None:
                self.on_event(self, event)
        finally:
            if isinstance(event, OUTCOMES):
                self.ended.set()

    def usage(self):
        """What the run's process costs the machine now (core.machine.Usage), or None."""
        return self.sampler.sample() if self.sampler is not None else None

    def _start_host(self, pid: int) -> None:
        from .host import Host, HostError

        try:
            self.host = Host(self, self.db_run_id, pid, self.db_path)
        except (HostError, OSError) as e:  # the run goes on, unseen from elsewhere
            self.serve_error = str(e)

    def save_checkpoint(self) -> Path | None:
        """Keep the run's last weights as `<data folder>/checkpoints/run-<id>.npz` (temp, then
        renamed) and name it in the history (`runs show`): what a detached run leaves."""
        from .checkpoint import save
        from .store import Store, StoreError

        w = self.history.weights
        if w is None or self.db_run_id is None or not len(self.history):
            return None
        path = checkpoint_path(self.db_run_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        path = save(path, Perceptron.from_params(w.W1, w.b1, w.W2, w.b2), self.config,
                    self.history.epoch_columns())
        try:
            with Store(self.db_path) as db:
                db.set_checkpoint(self.db_run_id, str(path))
        except StoreError:
            pass  # the file is kept; only its mention in the history is missing
        return path

    # --- steering (each a no-op once the run is over) -----------------------------------------

    def pause(self) -> None:
        if self.handle and self.state in (STARTING, TRAINING):
            self.handle.pause()
            self.state = PAUSED
            if self.host is not None:
                self.host.state_changed()

    def resume(self) -> None:
        if self.handle and self.state == PAUSED:
            self.handle.resume()
            self.state = TRAINING
            if self.host is not None:
                self.host.state_changed()

    def toggle_pause(self) -> None:
        self.resume() if self.paused else self.pause()

    def stop(self) -> None:
        if self.handle and self.going:
            self.handle.stop()

    def set_live(self, name: str, value: float) -> None:
        """Change lr or momentum from the next batch on (see config.LIVE_FIELDS)."""
        if name not in LIVE_FIELDS:
            raise ValueError(f"{name} cannot be changed during a run")
        setattr(self.live, name, float(value))
        if self.handle:
            self.handle.set_live(name, value)

    def request_weights(self) -> None:
        if self.handle:
            self.handle.request_weights()

    def revive(self, unit: int) -> None:
        if self.handle:
            self.handle.revive(unit)

    def end(self) -> None:
        """Stop the run and wait until its process is gone (stop, SIGTERM, then SIGKILL)."""
        if self.handle:
            self.handle.end()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the run's last event; True if it came."""
        return self.ended.wait(timeout)


class Race:
    """2 to 4 sessions at once, each with one BLAS thread, so they share the machine fairly and
    their speeds compare (see core/race.py for what a race is)."""

    def __init__(self, engine: Engine, configs: list[TrainConfig], labels: list[str], *,
                 db_path=None, on_event: Callable[[RunSession, Event | Started], None] | None = None,
                 progress_interval: float = 0.2) -> None:
        self.sessions = [RunSession(engine, c, db_path=db_path, on_event=on_event, label=name,
                                    progress_interval=progress_interval, threads=1)
                         for c, name in zip(configs, labels, strict=True)]

    def __iter__(self):
        return iter(self.sessions)

    def __len__(self) -> int:
        return len(self.sessions)

    def start(self) -> Race:
        for s in self.sessions:
            s.start()
        return self

    @property
    def over(self) -> bool:
        return not any(s.going for s in self.sessions)

    def pause_all(self) -> None:
        for s in self.sessions:
            s.pause()

    def resume_all(self) -> None:
        for s in self.sessions:
            s.resume()

    def stop_all(self) -> None:
        for s in self.sessions:
            s.stop()

    def end(self) -> None:
        for s in self.sessions:
            s.stop()
        for s in self.sessions:
            s.end()

    def wait(self, timeout: float | None = None) -> bool:
        return all(s.wait(timeout) for s in self.sessions)


def outlive(sessions: list[RunSession], engine: Engine | None = None) -> list:
    """A detached host's last work: its terminal is gone, so stdin, stdout and stderr point at
    /dev/null (a write would raise EIO); each run trains to its end, recorded as always, and
    its checkpoint is saved (`RunSession.save_checkpoint`); then the engine is freed. SIGTERM
    stops the runs (their checkpoints are still saved); Ctrl-C in the terminal a key detach
    left does not (it is what a user presses to get the prompt back). The paths saved."""
    import signal

    leave_the_terminal()
    if threading.current_thread() is threading.main_thread():  # an explicit end: runs stop
        signal.signal(signal.SIGTERM, lambda *_: [s.stop() for s in sessions])
    saved = []
    for s in sessions:
        # Its last event, or its reader's end: a run never started, or whose process died
        # without a word, must not keep this process waiting for ever.
        while not s.wait(0.5):
            if s.handle is None or s.handle.ended.is_set():
                break
        try:
            saved.append(s.save_checkpoint())
        except Exception:  # a full disk: the run is recorded; its weights are lost
            saved.append(None)
        if s.host is not None:
            s.host.close()
    if engine is not None:
        engine.close()
    if threading.current_thread() is threading.main_thread():  # nothing left to stop: a
        signal.signal(signal.SIGTERM, signal.SIG_DFL)  # SIGTERM ends a process slow to exit
    return saved


def checkpoint_path(run_id: int) -> Path:
    """Where a detached run's weights are kept: `<data folder>/checkpoints/run-<id>.npz`."""
    from .store import default_path

    return default_path().parent / "checkpoints" / f"run-{run_id}.npz"


def leave_the_terminal() -> None:
    """The terminal is gone: stdin, stdout and stderr point at /dev/null (a write would raise
    EIO), and (in the main thread) hangups and the terminal's signals are ignored from now on."""
    import os

    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    os.close(devnull)
    if threading.current_thread() is threading.main_thread():
        deaf_to_the_terminal()


def deaf_to_the_terminal() -> None:
    """From now on a hangup and Ctrl-C are ignored (the terminal is not the shell's again
    until the runs end: Ctrl-C, to get the prompt back, stopped the run just detached), and a
    UI's terminal handlers are gone (Textual's SIGCONT handler, left behind by its driver,
    resumed its terminal mode and raised when bash sent SIGHUP then SIGCONT to its jobs as its
    window closed). SIGTERM still stops the runs. Main thread only."""
    import signal

    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for sig in (signal.SIGCONT, signal.SIGTSTP, signal.SIGWINCH, signal.SIGTTOU, signal.SIGTTIN):
        signal.signal(sig, signal.SIG_DFL)
