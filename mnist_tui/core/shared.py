"""The dataset in memory shared by every process of a run, a race or a sweep, decoded once.

On Linux the block is an anonymous memory file (`memfd_create`) that has no name: it travels to
each child as a file descriptor, duplicated by multiprocessing as it does a Connection's, so
it is freed when the last process that maps it ends, however it ends (`kill -9` of any of them
included: a named block outlived the kill of its creator and of its resource tracker).
Elsewhere it is a named `multiprocessing.shared_memory` block, unlinked by `Engine.close()`.
"""

from __future__ import annotations

import mmap
import os
from dataclasses import dataclass
from multiprocessing.shared_memory import SharedMemory

import numpy as np

from .data import Dataset

DATA_FIELDS = ("train_images", "train_labels", "test_images", "test_labels")
_ATTACHED: list = []  # SharedMemory or mmap blocks mapped by this process, for its life



@dataclass(frozen=True)
class SharedDataset:
    """Where a Dataset's arrays lie in a shared block: (field, offset, shape).

    On Linux the block is an anonymous memory file (`memfd_create`) that has no name: it travels
    to each child as a file descriptor, so it is freed when the last process that maps it ends,
    however it ends (`kill -9` of any process included). Elsewhere it is a named block of
    `multiprocessing.shared_memory`, unlinked by `Engine.close()` or the resource tracker.
    """

    name: str
    layout: tuple[tuple[str, int, tuple[int, ...]], ...]
    source: str
    dataset: str = "mnist"  # which dataset (data.INFO): its class names travel with it
    fd: SharedFd | None = None  # the memory file, where the block has no name


class SharedFd:
    """A file descriptor that multiprocessing duplicates into the child it starts (as it does a
    Connection's: `reduction.DupFd`, passed over the fork server's socket with SCM_RIGHTS)."""

    def __init__(self, fd: int) -> None:
        self.fd = fd

    def __reduce__(self):
        from multiprocessing import reduction

        return _rebuild_fd, (reduction.DupFd(self.fd),)


def _rebuild_fd(dup) -> SharedFd:
    return SharedFd(dup.detach())


def share(ds: Dataset) -> tuple[object, Dataset, SharedDataset]:
    """Copy `ds` into one shared block; return the block (a SharedMemory, or the mmap of a
    memory file), a Dataset of views into it, and the description a child attaches with.
    All arrays are uint8."""
    arrays = [np.ascontiguousarray(getattr(ds, f), dtype=np.uint8) for f in DATA_FIELDS]
    size = max(1, sum(a.nbytes for a in arrays))
    if hasattr(os, "memfd_create"):
        fd = os.memfd_create("mnist-tui-dataset", os.MFD_CLOEXEC)
        os.ftruncate(fd, size)
        block = buf = mmap.mmap(fd, size)
        name, shared_fd = "", SharedFd(fd)
    else:
        block = SharedMemory(create=True, size=size)
        buf, name, shared_fd = block.buf, block.name, None
    layout, offset = [], 0
    for field, a in zip(DATA_FIELDS, arrays, strict=True):
        np.ndarray(a.shape, np.uint8, buf, offset)[...] = a
        layout.append((field, offset, a.shape))
        offset += a.nbytes
    spec = SharedDataset(name, tuple(layout), ds.source, ds.name, shared_fd)
    return block, _views(buf, spec, writeable=False), spec


def attach(spec: SharedDataset | Dataset) -> Dataset:
    """The dataset in a child process: a view of the parent's shared block, mapped for the
    life of the process (a collected SharedMemory or mmap unmaps the block under the views)."""
    if not isinstance(spec, SharedDataset):
        return spec
    if spec.fd is not None:
        size = os.fstat(spec.fd.fd).st_size
        _ATTACHED.append(mmap.mmap(spec.fd.fd, size, prot=mmap.PROT_READ))
        return _views(_ATTACHED[-1], spec, writeable=False)
    _ATTACHED.append(SharedMemory(spec.name))
    return _views(_ATTACHED[-1].buf, spec, writeable=False)


def _views(buf, spec: SharedDataset, writeable: bool) -> Dataset:
    views = {}
    for name, offset, shape in spec.layout:
        a = np.ndarray(shape, np.uint8, buf, offset)
        a.flags.writeable = writeable
        views[name] = a
    return Dataset(**views, source=spec.source, name=spec.dataset)
