"""What the commands share for output: exit codes, fail(), the progress line, the dataset with a
download bar, number and time formatting, and SIGTERM/SIGHUP turned into Ctrl-C."""

from __future__ import annotations

import errno
import signal
import sys
import time

from ..core import data

EXIT_DATA, EXIT_USAGE, EXIT_DIVERGED, EXIT_INTERRUPTED = 1, 2, 3, 130
OUTPUT_ERRORS = (errno.ENOSPC, errno.EIO, errno.EFBIG, errno.EDQUOT)  # writing stdout failed


def plural(n: int, word: str) -> str:
    """'1 epoch', '3 epochs'."""
    return f"{n} {word}{'s' * (n != 1)}"


def fail(message: str, code: int) -> int:
    """Say `message` in one line on stderr and return the exit code `code`."""
    print(f"mnist-tui: {message}", file=sys.stderr)
    return code


def progress_line(text: str, stream=None) -> None:
    """Rewrite the current terminal line with `text` (stderr by default); nothing if not a tty."""
    stream = sys.stderr if stream is None else stream  # looked up now: it may have been replaced
    if stream.isatty():
        stream.write("\r\x1b[2K" + text)
        stream.flush()


def download_progress(name: str, done: int, total: int) -> None:
    if total:
        frac = done / total
        bar = "█" * int(frac * 20)
        progress_line(f"downloading {name} {bar:<20} {frac:4.0%} {done / 1e6:.1f}/{total / 1e6:.1f} MB")
    else:
        progress_line(f"downloading {name} {done / 1e6:.1f} MB")
    if done == total:
        progress_line("")


def load_data(data_dir: str | None, dataset: str = "mnist") -> data.Dataset:
    """The dataset, downloaded with a progress bar on stderr if no directory has it."""
    ds = data.load(data_dir, progress=download_progress, dataset=dataset)
    progress_line("")
    return ds


def number(value, spec: str) -> str:
    """`value` formatted with `spec`, or '--' (as wide) when it is missing or damaged."""
    if value is None:
        width = "".join(c for c in spec.split(".")[0] if c.isdigit())
        return "--".rjust(int(width or 0))
    return format(value, spec)


def local_time(t) -> str:
    """A timestamp as local 'YYYY-MM-DD HH:MM', or '?' when it is not a usable time."""
    try:
        return time.strftime("%Y-%m-%d %H:%M", time.localtime(float(t)))
    except (TypeError, ValueError, OverflowError, OSError):
        return "?"


def interrupt_on_signals() -> list[int]:
    """Turn SIGTERM and SIGHUP into KeyboardInterrupt, as SIGINT is, so that an interrupted run
    is saved and recorded the same way; returns a list that receives the signal caught."""
    caught: list[int] = []

    def interrupt(sig, frame):
        caught.append(sig)
        raise KeyboardInterrupt

    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, interrupt)
    return caught
