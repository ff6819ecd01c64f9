"""Every training run in its own process, so a UI never shares the trainer's GIL.

`Engine(dataset)` puts the dataset in one block of shared memory (decoded once, read by every
child without a copy) and starts runs with `start(config)`. Each run is a `RunHandle`:

- the child runs the same `train()` generator as `mnist-tui train`, so results are bit-identical;
- its events come back over a pipe, read by one thread per run that calls `on_event` (or fills
  `handle.events()` when no callback is given). Progress reports merge in the child while the
  pipe is busy, every batch's loss kept, so a slow reader never holds the trainer up;
- commands go the other way: pause, resume, stop, live lr/momentum, and a request for the
  weights (sent by the child at every epoch end, and between two batches when asked);
- a child that raises reports `Failed` with the traceback; one that dies (`kill -9`) is reported
  as `Failed` with its exit code or signal by the reader;
- a child whose parent dies sees its command pipe close and stops; `Engine.close()` ends every
  child within a second, and the multiprocessing atexit hook ends daemonic ones on any exit.

Children come from a `forkserver` (a clean process that preloads this module), never from a fork
of a process that runs a UI's threads: a new run reaches its first batch in a few tens of ms.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import signal
import sys
import threading
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from multiprocessing.connection import Connection
from multiprocessing.shared_memory import SharedMemory

import numpy as np

from .config import LIVE_FIELDS, TrainConfig
from .data import Dataset
from .events import BatchProgress, Diverged, EpochEnd, Event, Failed, Finished
from .model import PARAM_NAMES, Perceptron
from .outbox import Outbox
from .shared import SharedDataset, attach, share  # noqa: F401  (attach: for the children)
from .train import Live, train, weights_of

STOP_GRACE = 0.5  # seconds a child gets to stop by itself before SIGTERM, then SIGKILL


def _context() -> multiprocessing.context.BaseContext:
    if "forkserver" in multiprocessing.get_all_start_methods():
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload([__name__])  # numpy and the trainer, imported once
        return ctx
    return multiprocessing.get_context("spawn")


CONTEXT = _context()


@dataclass(frozen=True)
class Started:
    """The child process is up (sent by the parent's reader thread, before any other event)."""

    pid: int


# --- the child --------------------------------------------------------------------------------


class _Outbox(Outbox):
    """Events waiting for the pipe, sent by a thread of the child. Progress reports queued
    back to back merge into one (their losses joined), so the trainer never waits on a reader."""

    def merged(self, last: Event, event: Event) -> Event | None:
        if isinstance(event, BatchProgress) and isinstance(last, BatchProgress):
            return replace(event, losses=last.losses + event.losses)
        return None

    def close(self, timeout: float | None = 10.0) -> None:
        super().close(timeout)


def _obey(conn: Connection, stop: threading.Event, pause: threading.Event,
          snapshot: threading.Event, live: Live) -> None:
    """The child's command thread: apply each command; a closed pipe means the parent is gone."""
    while True:
        try:
            command, *args = conn.recv()
        except (EOFError, OSError):
            stop.set()  # orphaned: end the run; the process then exits
            return
        if command == "pause":
            pause.set()
        elif command == "resume":
            pause.clear()
        elif command == "stop":
            stop.set()
        elif command == "live":
            setattr(live, args[0], args[1])
        elif command == "weights":
            snapshot.set()
        elif command == "revive":
            live.revive.append(int(args[0]))
            snapshot.set()  # wakes a paused run; the new weights come back at once


def _child_main(spec: SharedDataset | Dataset, config: TrainConfig,
                weights: dict[str, np.ndarray] | None, progress_interval: float,
                events: Connection, commands: Connection, threads: int | None = None) -> None:
    """Entry point of a run's process."""
    # Ctrl-C and a terminal's hangup reach the whole process group: the parent decides (a
    # hangup detaches the dashboard, whose runs train on).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)  # never write into a UI's terminal or `serve`'s protocol pipe
    outbox = _Outbox(events)
    stop, pause, snapshot, live = threading.Event(), threading.Event(), threading.Event(), Live()
    threading.Thread(target=_obey, args=(commands, stop, pause, snapshot, live),
                     name="commands", daemon=True).start()
    try:
        data = attach(spec)  # the parent unlinks the block's name when it is done
        model = Perceptron(config.hidden, seed=config.seed)
        for k in PARAM_NAMES if weights else ():
            setattr(model, k, np.array(weights[k], dtype=np.float32))
        for event in train(config, data, model=model, stop=stop, pause=pause, live=live,
                           progress_interval=progress_interval, snapshot=snapshot,
                           threads=threads):
            outbox.put(event)
            if isinstance(event, EpochEnd):
                outbox.put(weights_of(model, event.epoch, 0))
            if outbox.broken:
                break
    except BaseException as e:  # reported, not printed: the parent shows it
        outbox.put(Failed(f"{type(e).__name__}: {e}", traceback.format_exc()))
    finally:
        outbox.close()


# --- the parent -------------------------------------------------------------------------------


def exit_reason(exitcode: int | None) -> str:
    """Why a child ended, in words: 'killed by SIGKILL (signal 9)' or 'exited with code 1'."""
    if exitcode is None:
        return "still running"
    if exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = "a signal"
        return f"killed by {name} (signal {-exitcode})"
    return f"exited with code {exitcode}"


class RunHandle:
    """One run in its own process: steer it, and receive its events."""

    def __init__(self, process, events: Connection, commands: Connection,
                 on_event: Callable[[Event | Started], None] | None) -> None:
        self.process = process
        self._events = events
        self._commands = commands
        self._lock = threading.Lock()
        self._queue: queue.Queue | None = None if on_event else queue.Queue()
        self._on_event = on_event or self._queue.put
        self.ended = threading.Event()  # set once the last event was delivered
        self.outcome: Finished | Diverged | Failed | None = None
        self.reader = threading.Thread(target=self._read, name=f"run-{process.pid}", daemon=True)
        self.reader.start()

    @property
    def pid(self) -> int | None:
        return self.process.pid

    @property
    def alive(self) -> bool:
        return self.process.is_alive()

    # commands: each is a no-op once the child is gone
    def pause(self) -> None:
        self._send("pause")

    def resume(self) -> None:
        self._send("resume")

    def stop(self) -> None:
        self._send("stop")

    def set_live(self, name: str, value: float) -> None:
        """Set lr or momentum from the next batch on."""
        if name not in LIVE_FIELDS:
            raise ValueError(f"{name} cannot be changed during a run")
        self._send("live", name, float(value))

    def request_weights(self) -> None:
        """Ask for a `Weights` event at the next batch boundary (also while paused)."""
        self._send("weights")

    def revive(self, unit: int) -> None:
        """Re-initialise hidden unit `unit` at the next batch boundary (also while paused); a
        LiveChanged("revive") and the new weights follow."""
        self._send("revive", int(unit))

    def _send(self, *command) -> None:
        with self._lock:
            try:
                self._commands.send(command)
            except (OSError, ValueError):
                pass

    def events(self, timeout: float | None = None) -> Iterator[Event | Started]:
        """Every event in order, ending after the last one (only without `on_event`)."""
        assert self._queue is not None, "events() is for handles started without on_event"
        while True:
            event = self._queue.get(timeout=timeout)
            yield event
            if isinstance(event, (Finished, Diverged, Failed)):
                return

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the child and the reader; True if both ended."""
        self.process.join(timeout)
        self.reader.join(timeout)
        return not self.process.is_alive() and not self.reader.is_alive()

    def end(self, grace: float = STOP_GRACE) -> None:
        """Stop the run, then SIGTERM, then SIGKILL: the child is gone when this returns."""
        if self.process.is_alive():
            self.stop()
            self.process.join(grace)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(0.2)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(1.0)
        with self._lock:
            self._commands.close()
        self.reader.join(grace)  # its last events (the run's end) reach the receiver

    def _read(self) -> None:
        self._on_event(Started(self.process.pid))
        outcome = None
        while True:
            try:
                event = self._events.recv()
            except (EOFError, OSError):
                break
            if isinstance(event, (Finished, Diverged, Failed)):
                outcome = event
            try:
                self._on_event(event)
            except Exception:  # a receiver's bug must not silence the run's last events
                traceback.print_exc(file=sys.stderr)
        self._events.close()
        if outcome is None:  # the pipe closed before the run said how it ended: it died
            self.process.join(2.0)
            reason = exit_reason(self.process.exitcode)
            outcome = Failed(f"the training process {'was ' * reason.startswith('killed')}{reason}",
                             reason)
            self._on_event(outcome)
        self.outcome = outcome
        self.ended.set()


def _start_servers_deaf_to_hangups() -> None:
    """Start the fork server (and the resource tracker it starts) with SIGHUP ignored, which
    they keep across their exec: a terminal's hangup reaches the whole process group, and a
    fork server that died of it could start no run after a detach (the runs it had started go
    on, reporting through their event pipes). Both still end when the last process that uses
    them does (they read EOF). A signal's handler can only be set in the main thread: from
    another, only the resource tracker starts here."""
    from multiprocessing import forkserver, resource_tracker

    if threading.current_thread() is not threading.main_thread():
        resource_tracker.ensure_running()
        return
    before = signal.signal(signal.SIGHUP, signal.SIG_IGN)
    try:
        forkserver.ensure_running()  # a spawn: it returns without waiting for the preload
    finally:
        signal.signal(signal.SIGHUP, before)


class Engine:
    """Starts runs in child processes that share one copy of the dataset."""

    def __init__(self, dataset: Dataset, shared: bool = True) -> None:
        self.entry = _child_main  # what a run's process runs (tests put in a faulty one)
        self._shm = None  # the shared block: an mmap of a memory file, or a SharedMemory
        self._spec_fd: int | None = None  # the memory file's descriptor, closed by close()
        if shared:
            self._shm, self.dataset, self._spec = share(dataset)
            self._spec_fd = self._spec.fd.fd if self._spec.fd is not None else None
        else:  # each child gets its own copy through the start pipe (tiny test sets)
            self.dataset, self._spec = dataset, dataset
        self.handles: list[RunHandle] = []
        if CONTEXT.get_start_method() == "forkserver":
            # The fork server starts multiprocessing's resource tracker, which passes it this
            # process's stderr: start it now, from the thread that builds the engine, before a
            # UI replaces sys.stderr (a later start from a thread failed: "bad value(s) in
            # fds_to_keep").
            _start_servers_deaf_to_hangups()

    @property
    def shared(self) -> SharedDataset | Dataset:
        """What a process needs to reach the dataset: the shared block's spec (or the data)."""
        return self._spec

    @staticmethod
    def warm_up() -> None:
        """Start the fork server now, so the first run starts fast (call from any thread)."""
        if CONTEXT.get_start_method() == "forkserver":
            from multiprocessing import forkserver
            forkserver.ensure_running()

    def start(self, config: TrainConfig, *, model: Perceptron | None = None,
              on_event: Callable[[Event | Started], None] | None = None,
              progress_interval: float = 0.2, threads: int | None = None) -> RunHandle:
        """Start a run (from `model`'s weights if given, else a new seeded network).
        `threads` caps its BLAS threads (a race gives each racer one)."""
        if self._spec is None:
            raise RuntimeError("the engine is closed")
        weights = ({k: np.asarray(v) for k, v in model.params().items()}
                   if model is not None else None)
        events_r, events_w = CONTEXT.Pipe(duplex=False)
        commands_r, commands_w = CONTEXT.Pipe(duplex=False)
        process = CONTEXT.Process(
            target=self.entry, name="mnist-tui-run", daemon=True,
            args=(self._spec, config, weights, progress_interval, events_w, commands_r,
                  *((threads,) if threads else ())))
        process.start()
        events_w.close()  # the child holds the only write end: its death closes the pipe
        commands_r.close()
        handle = RunHandle(process, events_r, commands_w, on_event)
        self.handles = [h for h in self.handles if h.process.is_alive()] + [handle]
        return handle

    def close(self, grace: float = STOP_GRACE) -> None:
        """End every run (stop, then SIGTERM, then SIGKILL) and free the shared dataset."""
        for handle in self.handles:
            if handle.process.is_alive():
                handle.stop()
        for handle in self.handles:
            handle.end(grace)
        self.handles = []
        self._spec = None
        if isinstance(self._shm, SharedMemory):
            # The parent's views stay valid until they are dropped; the name goes now.
            try:
                self._shm.unlink()
            except FileNotFoundError:
                pass
        elif self._spec_fd is not None:
            os.close(self._spec_fd)  # the mapping lives on under the views until they go
            self._spec_fd = None

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
