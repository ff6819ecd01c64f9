"""Writing files safely: one `write_atomic` for checkpoints, exports and downloads.

Rules, the same for every command that writes a file:
- the data goes to a temporary name beside the target, then is renamed over it, so a reader
  never sees half a file and an interrupted write leaves the old file (and no temporary);
- an existing target that is not a regular file (a directory, device, FIFO or socket) is
  refused: renaming over it would replace, say, /dev/null for everyone;
- a symlink is written through to the file it points at (the link stays a link), unless it
  points into /proc, /sys or /dev (a link to /proc/self/fd/1 is refused, not replaced);
- an existing file keeps its mode; a new one gets the umask's (0666 & ~umask);
- the directory must exist: nothing is created behind the user's back;
- "-" means standard output;
- a name the program chose (the dashboard's `mnist-tui-YYYYMMDD-HHMMSS.npz`) is written with
  `write_new`, which never replaces anything: on a clash it takes the next free suffix
  (`…-2.npz`), still writing to a temporary name first.
Every problem is a FileError with a one-line reason that names the path.
"""

from __future__ import annotations

import errno
import os
import stat
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO

SYSTEM_DIRS = ("/proc/", "/sys/", "/dev/")  # never write there, even through a symlink


class FileError(Exception):
    """A file cannot be written where asked; the message is one line and names the path."""


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISDIR, "a directory"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISFIFO, "a FIFO"),
                       (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "not a regular file"


def check_target(path: str | os.PathLike) -> Path:
    """The real file a write to `path` would replace, after checking it can be written there.

    Raises FileError when the path is empty, names a directory (or ends in '/'), exists but
    is not a regular file, or its directory is missing or not writable.
    """
    text = os.fspath(path)
    if not text:
        raise FileError("the output path is empty: give a file name")
    if text.endswith(os.sep):
        raise FileError(f"{text}: names a directory; give a file name")
    target = Path(os.path.realpath(text))  # through symlinks, to the file they point at
    if str(target).startswith(SYSTEM_DIRS) or str(target).endswith(" (deleted)"):
        # /proc/self/fd/1 and the like: "the file" there is whatever stdout is at the moment
        raise FileError(f"{text}: points into {target.parts[1] if len(target.parts) > 1 else target}"
                        f" ({target}), not at a file of yours; refused")
    try:
        st = os.stat(target)
    except FileNotFoundError:
        st = None
    except OSError as e:
        raise FileError(f"{text}: cannot write there ({e.strerror or e})") from None
    if st is not None and not stat.S_ISREG(st.st_mode):
        raise FileError(f"{text}: is {_kind(st.st_mode)}, not a regular file; refused")
    parent = target.parent
    if not parent.is_dir():
        raise FileError(f"{text}: the directory {parent} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise FileError(f"{text}: the directory {parent} is not writable")
    return target


def write_atomic(path: str | os.PathLike, data: bytes | str | Callable[[IO[bytes]], None]) -> Path:
    """Write `data` (bytes, text as UTF-8, or a function writing to a binary file) to `path`.

    Returns the path of the file written. "-" writes to standard output.
    """
    if os.fspath(path) == "-":
        out = sys.stdout.buffer
        _write(out, data)
        out.flush()
        return Path("-")
    target = check_target(path)
    try:
        mode = stat.S_IMODE(os.stat(target).st_mode)
    except FileNotFoundError:
        mode = 0o666 & ~_umask()
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            _write(f, data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, target)
        tmp = None
    except OSError as e:
        raise FileError(f"{os.fspath(path)}: cannot write ({e.strerror or e})") from None
    finally:  # every exit path, KeyboardInterrupt and SystemExit included
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass
    return target


def write_new(path: str | os.PathLike, data: bytes | str | Callable[[IO[bytes]], None]) -> Path:
    """Write `data` to `path`, or to `stem-2.ext`, `stem-3.ext`… if that name is taken: never
    replaces a file (or a link, or anything else) already there. Returns the path written.

    The data goes to a temporary file first, which is then hard-linked to the first free name
    (`link` fails if the name exists, atomically, even between two processes); where hard
    links are not supported, the name is reserved with O_EXCL and the temporary renamed onto it.
    """
    check_target(path)  # the same refusals as write_atomic (a directory, /proc, ...)
    target = Path(os.path.abspath(path))  # not through a link: a link there is a name taken
    mode = 0o666 & ~_umask()
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            _write(f, data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        for k in range(1, 10_000):
            name = target if k == 1 else target.with_name(f"{target.stem}-{k}{target.suffix}")
            try:
                os.link(tmp, name, follow_symlinks=False)
            except FileExistsError:
                continue
            except OSError as e:
                if e.errno not in _NO_LINKS:
                    raise
                try:  # no hard links here (FAT, some network file systems): reserve the name
                    os.close(os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode))
                except FileExistsError:
                    continue
                os.replace(tmp, name)
                tmp = None
            return name
        raise FileError(f"{os.fspath(path)}: 10,000 files of that name already; none replaced")
    except OSError as e:
        raise FileError(f"{os.fspath(path)}: cannot write ({e.strerror or e})") from None
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass


_NO_LINKS = {errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EXDEV, errno.EMLINK}


def _write(f: IO[bytes], data) -> None:
    if callable(data):
        data(f)
    else:
        f.write(data.encode() if isinstance(data, str) else data)
