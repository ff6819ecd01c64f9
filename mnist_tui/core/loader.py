"""Where each training batch comes from: made on the training thread, or by a loader process.

A batch is the epoch's next `m` images, converted from uint8 to floats in [0, 1] and, with
augmentation on, distorted (augment.py). Distorting takes longer than a training step at the
default shapes, so with augmentation `LoaderBatches` does it in a child process while the
trainer trains: the same seeded stream ([seed, 2]) in the same order, so the batches are
bit-identical to `InProcessBatches` (a test holds them equal).

The loader is a fork of the trainer (it inherits the images without a copy) writing into
`SLOTS` batch buffers of one anonymous shared mapping (multiple buffering): it fills a free slot,
says which over a pipe, and waits for a slot to come back. Nothing outlives its use:

- the mapping has no name, so no block is ever left in /dev/shm, whoever dies how;
- the loader waits only on its pipe, so when the trainer ends or is killed (even SIGKILL) the
  pipe closes, the loader's wait fails and it exits at once;
- `close()` (the trainer's `finally`) closes the pipe and reaps the loader.

It is forked with os.fork, not multiprocessing.Process: the engine runs trainers as daemonic
processes, which multiprocessing forbids to have children. multiprocessing's Pipe carries the
messages; the child closes every other descriptor it inherited, so it holds nothing of its
parent's (the engine's event pipe, a terminal) open after the parent is gone.
"""

from __future__ import annotations

import mmap
import os
import signal
import traceback
from multiprocessing.connection import Connection, Pipe

import numpy as np

from .augment import distort

# Batch buffers: the trainer trains on one while the loader fills the others. Two were enough on
# an idle machine, but on a busy one each hand-off waited for the other process to be scheduled
# again; with four, the loader runs ahead by three batches whenever it has a core.
SLOTS = 4
JOIN_SECONDS = 2.0  # how long close() waits for the loader to exit before SIGKILL


def to_floats(images: np.ndarray, idx: np.ndarray, out: np.ndarray, raw: np.ndarray) -> np.ndarray:
    """Rows `idx` of uint8 `images` as floats in [0, 1], written into out[:k] (raw: uint8 scratch)."""
    k = len(idx)
    scale = out.dtype.type(1 / 255)
    return np.multiply(np.take(images, idx, axis=0, out=raw[:k]), scale, out=out[:k],
                       casting="unsafe")


class InProcessBatches:
    """Batches made on the training thread, when asked for (the plain path)."""

    def __init__(self, images: np.ndarray, kind: str, seed: int, m: int, dtype) -> None:
        self.images, self.kind = images, kind
        self.rng = np.random.default_rng([seed, 2])  # distortions, their own stream
        self.X = np.empty((m, images.shape[1]), dtype=dtype)
        self.raw = np.empty((m, images.shape[1]), dtype=images.dtype)
        self.perm = np.empty(0, dtype=np.int64)
        if kind != "none":
            # augment.py imports scipy.ndimage at its first batch: 0.16 s of CPU inside the
            # first epoch. Imported here, once per run and before the fork (a loader inherits it).
            import scipy.ndimage  # noqa: F401

    def epoch(self, perm: np.ndarray) -> None:
        """The order of this epoch's samples: batch b is perm[b*m : (b+1)*m]."""
        self.perm = perm

    def get(self, b: int) -> np.ndarray:
        """Batch b of the epoch, (k, 784) floats, valid until `release()`."""
        m = len(self.X)
        Xb = to_floats(self.images, self.perm[b * m : (b + 1) * m], self.X, self.raw)
        return Xb if self.kind == "none" else distort(Xb, self.kind, self.rng)

    def release(self) -> None:
        """The batch from `get` is no longer needed."""

    def close(self) -> None:
        """Nothing to end here."""

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class LoaderError(RuntimeError):
    """The loader process failed (its traceback is the message) or vanished."""


class LoaderBatches(InProcessBatches):
    """Batches made by a loader process, SLOTS ahead of the trainer (see the module's doc)."""

    def __init__(self, images: np.ndarray, kind: str, seed: int, m: int, dtype) -> None:
        super().__init__(images, kind, seed, m, dtype)
        shape = (SLOTS, m, images.shape[1])
        self.mapping = mmap.mmap(-1, max(1, int(np.prod(shape)) * self.X.itemsize))
        self.slots = np.ndarray(shape, dtype=self.X.dtype, buffer=self.mapping)
        self.pid: int | None = None
        self.held: int | None = None  # the slot the trainer is using
        ours, theirs = Pipe()
        pid = os.fork()
        if pid == 0:  # the loader
            ours.close()
            _loader_main(theirs, self)  # never returns
        self.pid, self.conn = pid, ours
        theirs.close()

    def epoch(self, perm: np.ndarray) -> None:
        self._send(("epoch", np.ascontiguousarray(perm, dtype=np.int64)))

    def get(self, b: int) -> np.ndarray:
        try:
            message = self.conn.recv()
        except (EOFError, OSError) as e:
            raise LoaderError("the augmentation loader process ended unexpectedly") from e
        if message[0] == "error":
            raise LoaderError(message[1])
        _, slot, batch, k = message
        if batch != b:
            raise LoaderError(f"the loader sent batch {batch} where {b} was due")
        self.held = slot
        return self.slots[slot, :k]

    def release(self) -> None:
        if self.held is not None:
            self._send(("free", self.held))
            self.held = None

    def _send(self, message) -> None:
        try:
            self.conn.send(message)
        except (BrokenPipeError, OSError) as e:
            raise LoaderError("the augmentation loader process ended unexpectedly") from e

    def close(self) -> None:
        """End the loader (closing its pipe is enough) and reap it; free the buffers."""
        if self.pid is None:
            return
        pid, self.pid = self.pid, None
        self.conn.close()
        if not _reaped(pid, JOIN_SECONDS):
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        self.slots = None  # the mapping can only close once no array views it
        try:
            self.mapping.close()
        except BufferError:
            pass  # a batch array is still referenced somewhere: the mapping goes with it


def _reaped(pid: int, seconds: float) -> bool:
    import time

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if os.waitpid(pid, os.WNOHANG) != (0, 0):
                return True
        except ChildProcessError:
            return True
        time.sleep(0.005)
    return False


def _loader_main(conn: Connection, source: LoaderBatches) -> None:
    """The loader process: fill free slots with the epoch's batches, in order, until the pipe
    closes. Exits the process (os._exit: the parent's atexit hooks are not ours to run)."""
    code = 0
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the trainer, which closes us
        _close_inherited(keep=conn.fileno())
        _fill(conn, source)
    except (EOFError, BrokenPipeError, ConnectionResetError, KeyboardInterrupt):
        pass  # the trainer is gone or done with us
    except BaseException:  # noqa: BLE001  (anything else: tell the trainer, then exit)
        code = 1
        try:
            conn.send(("error", traceback.format_exc()))
        except OSError:
            pass
    finally:
        os._exit(code)


def _fill(conn: Connection, source: LoaderBatches) -> None:
    free = list(range(SLOTS))
    m = source.slots.shape[1]
    while True:
        message = conn.recv()
        if message[0] == "free":
            free.append(message[1])
            continue
        perm = message[1]
        for b in range(-(-len(perm) // m)):
            while not free:
                message = conn.recv()
                if message[0] != "free":
                    raise RuntimeError(f"the loader got {message[0]!r} mid-epoch")
                free.append(message[1])
            slot = free.pop(0)
            source.perm = perm
            Xb = InProcessBatches.get(source, b)
            k = len(Xb)
            source.slots[slot, :k] = Xb
            conn.send(("batch", slot, b, k))


def _close_inherited(keep: int) -> None:
    """Close every descriptor above stderr except `keep`: the parent's pipes, its terminal."""
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        if fd > 2 and fd != keep:
            try:
                os.close(fd)
            except OSError:
                pass  # the listing's own descriptor, already closed
