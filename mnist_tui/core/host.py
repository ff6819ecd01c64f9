"""Serving a run to viewers: the process that records a run (its host) listens on a Unix socket,
so a dashboard in another terminal (`mnist-tui attach`), `runs list` and `runs stop/pause` reach
it while it trains, whoever started it: a dashboard, a detached dashboard, `mnist-tui train`, a
racer or a sweep trial.

The transport is the standard library's `multiprocessing.connection` over AF_UNIX, never a
network port. Where: `$XDG_RUNTIME_DIR/mnist-tui/run-<key>-<id>.sock` (else
`/tmp/mnist-tui-<uid>/`), the folder 0700 and owned by us, each socket 0600, and an authkey file
(32 random bytes, 0600) beside them. Another user cannot enter the folder nor read the key:
"permission denied". `<key>` is a short hash of the history's path (`history_key`): two
histories each have a run 3, and each is served and found apart.

A socket is gone when its host is, even after `kill -9`: the host closes it at its run's end,
and a janitor (`sh`, a few hundred kB, in its own session so a hangup or Ctrl-C of the
terminal does not reach it) waits on a pipe from the host; the host says "done" on it once the
socket is removed, and if the host dies first (any way, SIGKILL too) the kernel closes the pipe
and the janitor removes the socket at once, then exits.

Protocol. Both ends first prove they hold the authkey (the stdlib's HMAC challenge, both ways),
before anything is decoded. Then Connection.send/recv carry plain tuples and the same event
dataclasses the engine's pipes already carry between our processes (pickled: the trust is the
same as those pipes', a local socket of our own uid behind a shared secret; no FILE we read or
write is ever pickled). The client says what it is, `("view",)` or `("control",)`; the host
answers `("hello", info)` (run id, label, config, state, planned epochs, offset, host pid and
name, the run's pid, viewers). A viewer then gets every event so far (progress merged, every
epoch, live changes, the latest weights, the outcome) and each new one as `("event", ev)`, and
`("state", state)` whenever a pause or resume changes it, so two viewers agree. Either kind
sends commands: `("pause",)`, `("resume",)`, `("stop",)`, `("live", name, value)`,
`("weights",)`, `("revive", unit)`, `("info",)`; a control client gets `("ok", info)` after
each. A client that leaves (EOF) takes nothing with it. A socket whose host died refuses
connections: every lister removes it.

The folder and its authkey are host_folder.py's; each viewer's queue and thread, host_viewer.py's.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import socket
import subprocess
import threading
import time
from dataclasses import asdict, replace
from multiprocessing import AuthenticationError
from multiprocessing.connection import Client, Connection, Listener
from pathlib import Path

import numpy as np

from .events import BatchProgress, Diverged, EpochEnd, Event, Failed, Finished, Weights
from .host_folder import HostError, authkey, folder
from .host_viewer import Viewer

DRAIN = 10.0  # seconds a closing host gives each viewer to take what it has queued
COMMANDS = ("pause", "resume", "stop", "live", "weights", "revive", "info")


# --- where ---------------------------------------------------------------------------------------


def history_key(db_path=None) -> str:
    """8 hex digits naming a history (its resolved path): a run's socket names both."""
    from .store import default_path

    path = Path(os.path.expanduser(os.fspath(db_path))) if db_path else default_path()
    return hashlib.sha256(os.fsencode(path.resolve())).hexdigest()[:8]


def socket_path(run_id: int, where: Path | None = None, db_path=None) -> Path:
    return (where or folder()) / f"run-{history_key(db_path)}-{run_id}.sock"


# The janitor: removes the socket ($0) unless the host said "done" (it removed it itself).
JANITOR = 'read -r said; [ "$said" = done ] || rm -f -- "$0"'


def _janitor(path: Path) -> tuple[subprocess.Popen | None, int | None]:
    """Start the socket's janitor; (its process, the pipe's end we hold). Never raises: without
    one, a killed host's socket waits for the next lister to sweep it."""
    r, w = os.pipe()  # both non-inheritable: no other child of ours holds the write end
    try:
        proc = subprocess.Popen(["/bin/sh", "-c", JANITOR, str(path)], stdin=r,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)
    except OSError:
        os.close(w)
        return None, None
    finally:
        os.close(r)
    return proc, w


# --- the host ------------------------------------------------------------------------------------


class Host:
    """Serves one run. `target` steers it (a RunSession, or train's LocalRun): it has
    pause/resume/stop/set_live/request_weights/revive, `state`, `config`, `history`, `label`.
    Call `publish(event)` with every event after the history took it (the reader thread)."""

    def __init__(self, target, run_id: int, child_pid: int | None = None, db_path=None) -> None:
        self.target, self.run_id, self.child_pid = target, run_id, child_pid
        self.where = folder()
        self.key = authkey(self.where)
        self.path = socket_path(run_id, self.where, db_path)
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()  # a stale socket of a run id the history reused
        old = os.umask(0o177)
        try:
            self.listener = Listener(str(self.path), family="AF_UNIX", authkey=self.key)
        finally:
            os.umask(old)
        os.chmod(self.path, 0o600)
        self.janitor, self._janitor_pipe = _janitor(self.path)
        self.lock = threading.Lock()
        self.log: list[Event] = []  # what a new viewer is sent first
        self.viewers: list[Viewer] = []
        self.closed = False
        self.done = threading.Event()  # set once closed
        self.started_at = time.time()
        self.thread = threading.Thread(target=self._accept, name=f"host-{run_id}", daemon=True)
        self.thread.start()

    def info(self) -> dict:
        t = self.target
        h = t.history
        with h.lock:
            before = {k: list(v[:h.offset]) for k, v in h.epochs.items()}
            planned, offset = h.planned, h.offset
        return {"run_id": self.run_id, "label": getattr(t, "label", ""),
                "config": asdict(t.config), "state": t.state, "planned": planned,
                "offset": offset, "epochs_before": before, "pid": os.getpid(),
                "host": socket.gethostname(), "child_pid": self.child_pid,
                "viewers": len(self.viewers), "started_at": self.started_at}

    def publish(self, event: Event) -> None:
        with self.lock:
            last = self.log[-1] if self.log else None
            if isinstance(event, BatchProgress) and isinstance(last, BatchProgress):
                self.log[-1] = replace(event, losses=last.losses + event.losses)
            elif isinstance(event, Weights):
                self.log = [e for e in self.log if not isinstance(e, Weights)] + [event]
            else:
                if isinstance(event, EpochEnd):
                    self._slim_last_epoch()
                self.log.append(event)
            for v in self.viewers:
                v.put(("event", event))
        if isinstance(event, (Finished, Diverged, Failed)):
            threading.Thread(target=self._close_soon, daemon=True).start()

    def _slim_last_epoch(self) -> None:
        """The log keeps the latest epoch whole; an older one keeps its predicted classes
        only, not every probability (10 kB, not 400 kB, an MNIST epoch): what the history
        needs of it (RunHistory.add), so a long run's log stays small."""
        for i in range(len(self.log) - 1, -1, -1):
            e = self.log[i]
            if isinstance(e, EpochEnd):
                if np.ndim(e.test_proba) == 2:
                    self.log[i] = replace(e, test_proba=np.asarray(e.test_proba).argmax(axis=1)
                                          .astype(np.uint8))
                return

    def state_changed(self) -> None:
        """A pause or resume (from anyone): every viewer hears the run's state."""
        with self.lock:
            for v in self.viewers:
                v.put(("state", self.target.state))

    def _close_soon(self) -> None:
        self.close()  # each viewer is sent what it has queued first (DRAIN seconds at most)

    def close(self) -> None:
        """Stop listening, remove the socket, and let every client go."""
        with self.lock:
            if self.closed:
                closing = True
            else:
                closing, self.closed = False, True
                viewers, self.viewers = self.viewers, []
        if closing:  # another thread is closing it: wait for that, so no one exits mid-drain
            self.done.wait(DRAIN + 5)
            return
        for v in viewers:
            v.close()
        for v in viewers:  # the host may exit next: its viewers get their replay and outcome
            v.thread.join(DRAIN)
        # Wake the accept() (closing a listening socket does not, on Linux), then close it,
        # which removes the socket file.
        with contextlib.suppress(OSError), socket.socket(socket.AF_UNIX) as s:
            s.connect(self.listener.address)
        self.thread.join(2.0)
        with contextlib.suppress(OSError):
            self.listener.close()
        self._dismiss_janitor()
        self.done.set()

    def _dismiss_janitor(self) -> None:
        """The socket is gone: the janitor leaves it be, and ends."""
        if self._janitor_pipe is None:
            return
        with contextlib.suppress(OSError):
            os.write(self._janitor_pipe, b"done\n")
        with contextlib.suppress(OSError):
            os.close(self._janitor_pipe)
        self._janitor_pipe = None
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.janitor.wait(2.0)  # reaped: no zombie while a detached host lives on

    def _accept(self) -> None:
        while not self.closed:
            try:
                conn = self.listener.accept()
            except (AuthenticationError, OSError, EOFError):
                continue
            if self.closed:
                conn.close()
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True,
                             name=f"host-{self.run_id}-client").start()

    def _serve(self, conn: Connection) -> None:
        try:
            kind = conn.recv()[0]
        except (EOFError, OSError, IndexError, TypeError):
            conn.close()
            return
        viewer = None
        if kind == "view":
            viewer = Viewer(conn)
            with self.lock:
                if self.closed:
                    conn.close()
                    return
                self.viewers.append(viewer)
                viewer.put(("hello", self.info()))
                for e in self.log:
                    viewer.put(("event", e))
        else:
            try:
                conn.send(("hello", self.info()))
            except OSError:
                conn.close()
                return
        try:
            while True:
                try:
                    command = conn.recv()
                except (EOFError, OSError):
                    return
                self.apply(command)
                if viewer is None:
                    conn.send(("ok", self.info()))
        except OSError:
            return
        finally:
            if viewer is not None:
                with self.lock:
                    if viewer in self.viewers:
                        self.viewers.remove(viewer)
                viewer.close()
            else:
                conn.close()

    def apply(self, command) -> None:
        """One command from a client, on the target's own code paths."""
        try:
            name, *args = command
        except (TypeError, ValueError):
            return
        t = self.target
        try:
            if name == "pause":
                t.pause()
                t.request_weights()  # every view then shows the network where it paused
            elif name == "resume":
                t.resume()
            elif name == "stop":
                t.stop()
            elif name == "live":
                t.set_live(str(args[0]), float(args[1]))
            elif name == "weights":
                t.request_weights()
            elif name == "revive":
                t.revive(int(args[0]))
        except (ValueError, IndexError, TypeError):
            return
        if name in ("pause", "resume"):
            self.state_changed()
            tell = getattr(t, "on_event", None)  # the host's own view (a dashboard) hears it too
            if tell is not None:
                tell(t, ("state", t.state))


# --- clients -------------------------------------------------------------------------------------


def connect(run_id: int, kind: str = "control", db_path=None) -> tuple[Connection, dict]:
    """Connect to the host of run `run_id` of history `db_path` (None: the default one);
    (connection, its hello). Raises HostError."""
    where = folder(create=False)
    path = socket_path(run_id, where, db_path)
    try:
        key = (where / "authkey").read_bytes()
    except PermissionError as e:
        raise HostError(f"{where}: permission denied") from e
    except FileNotFoundError as e:
        raise HostError(f"run {run_id} is not going (no host serves it)") from e
    try:
        conn = Client(str(path), family="AF_UNIX", authkey=key)
    except FileNotFoundError as e:
        raise HostError(f"run {run_id} is not going (no host serves it)") from e
    except PermissionError as e:
        raise HostError(f"{path}: permission denied") from e
    except ConnectionRefusedError as e:
        with contextlib.suppress(OSError):
            path.unlink()  # its host died (kill -9): the socket is stale
        raise HostError(f"run {run_id} is not going (its host is gone)") from e
    except (AuthenticationError, EOFError, OSError) as e:
        raise HostError(f"run {run_id}: cannot connect ({e})") from e
    try:
        conn.send((kind,))
        hello = conn.recv()
    except (EOFError, OSError) as e:
        conn.close()
        raise HostError(f"run {run_id} ended") from e
    return conn, hello[1]


def command(run_id: int, *cmd, db_path=None) -> dict:
    """Send one command (e.g. "stop") to run `run_id`'s host; its info after. Raises HostError."""
    conn, info = connect(run_id, db_path=db_path)
    try:
        if cmd and cmd[0] != "info":
            conn.send(tuple(cmd))
            info = conn.recv()[1]
        return info
    except (EOFError, OSError):
        return info  # it ended as it stopped
    finally:
        conn.close()


def live_runs(db_path=None) -> dict[int, dict]:
    """Every run of history `db_path` (None: the default one) going on this machine for this
    user: run id -> its host's info. Stale sockets (the host died) are removed."""
    try:
        where = folder(create=False)
    except HostError:
        return {}
    found = {}
    prefix = f"run-{history_key(db_path)}-"
    for path in sorted(where.glob(f"{prefix}*.sock")):
        try:
            run_id = int(path.stem.removeprefix(prefix))
            found[run_id] = command(run_id, "info", db_path=db_path)
        except (ValueError, HostError):
            continue
    return found


def newest_live(db_path=None) -> int | None:
    runs = live_runs(db_path)
    return max(runs, key=lambda i: (runs[i]["started_at"], i)) if runs else None

