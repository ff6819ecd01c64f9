"""What the commands share for output: exit codes, fail(), progress (rich.progress, on stderr),
the dataset with a download bar, number and time formatting, JSON that is JSON, --format,
the ASCII fallback of consoles that are not UTF-8, and SIGTERM/SIGHUP turned into Ctrl-C."""

from __future__ import annotations

import codecs
import contextlib
import errno
import io
import json
import math
import signal
import sys
import threading
import time
from collections.abc import Callable

from ..core import data
from ..core.render import plural  # noqa: F401  (re-exported for the commands)

EXIT_DATA, EXIT_USAGE, EXIT_DIVERGED, EXIT_INTERRUPTED = 1, 2, 3, 130
OUTPUT_ERRORS = (errno.ENOSPC, errno.EIO, errno.EFBIG, errno.EDQUOT)  # writing stdout failed


def fail(message: str, code: int) -> int:
    """Say `message` in one line on stderr and return the exit code `code`."""
    print(f"mnist-tui: {message}", file=sys.stderr)
    return code


class Downloads:
    """The progress callback of `data.download` (name, bytes done, bytes total): a line of
    Progress per file, started on the first byte, so that nothing shows when nothing downloads."""

    def __init__(self) -> None:
        self.progress: Progress | None = None
        self.tasks: dict[str, int | None] = {}

    def __call__(self, name: str, done: int, total: int) -> None:
        if self.progress is None:
            self.progress = Progress().__enter__()
        if name not in self.tasks:
            self.tasks[name] = self.progress.add(f"downloading {name}", total or None)
        self.progress.update(self.tasks[name], completed=done, total=total or None,
                             note=f"{done / 1e6:.1f}/{total / 1e6:.1f} MB" if total
                             else f"{done / 1e6:.1f} MB")

    def close(self) -> None:
        if self.progress is not None:
            self.progress.stop()


def load_data(data_dir: str | None, dataset: str = "mnist") -> data.Dataset:
    """The dataset, downloaded with progress on stderr if no directory has it."""
    return start_loading(data_dir, dataset, thread=False)()


def start_loading(data_dir: str | None, dataset: str = "mnist",
                  thread: bool = True) -> Callable[[], data.Dataset]:
    """Find the dataset's files now (downloading them, with progress on stderr, if no directory
    has them) and parse them in a thread; return what waits for the dataset, raising what the
    parse raised (a DataError naming the file). The dashboard imports its UI meanwhile: the
    parse is mostly zlib and SHA-256, which let go of the GIL, and there is a second core."""
    downloads = Downloads()
    try:
        parse = data.parser_of(data_dir, progress=downloads, dataset=dataset)
    finally:
        downloads.close()
    if not thread:
        return parse
    done: dict = {}

    def work() -> None:
        try:
            done["dataset"] = parse()
        except BaseException as e:  # handed to the waiting thread, which reports it
            done["error"] = e

    # A daemon: Ctrl-C in the main thread ends the process without waiting for a parse that
    # only reads (the download, which writes, is over by now).
    worker = threading.Thread(target=work, name="mnist-tui-load", daemon=True)
    worker.start()

    def wait() -> data.Dataset:
        worker.join()
        if "error" in done:
            raise done["error"]
        return done["dataset"]

    return wait


def to_json(obj, **kwargs) -> str:
    """JSON that every parser takes: NaN and infinities (a model whose numbers overflowed, a
    missing metric) become null; Python's json.dumps would write NaN, which is not JSON."""
    return json.dumps(_finite(obj), allow_nan=False, **kwargs)


def _finite(obj):
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj


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


def detach_on_hangup() -> list[int]:
    """A hangup (the terminal is gone: an SSH connection dropped) leaves the runs going,
    detached, as the dashboard's: from then on stdin, stdout and stderr are /dev/null and
    further hangups are ignored; the command trains on and ends by itself. Ctrl-C and SIGTERM
    still stop. Returns a list that receives SIGHUP once it came."""
    hung: list[int] = []

    def hangup(sig, frame):
        from ..core.session import leave_the_terminal

        leave_the_terminal()
        hung.append(sig)

    signal.signal(signal.SIGHUP, hangup)
    return hung


# --- consoles that are not UTF-8 (issue 21) ---------------------------------------------------

ASCII = {  # what each character the commands print becomes where the console cannot show it
    "→": "->", "←": "<-", "↑": "^", "↓": "v", "⏎": "Enter", "±": "+/-", "✓": "v", "✗": "x",
    "…": "...", "–": "-", "—": "--", "−": "-", "×": "x", "·": ".", "•": "*", "≥": ">=",
    "≤": "<=", "≈": "~", "≠": "!=", "◀": "<", "▶": ">", "▲": "^", "▼": "v", "°": " deg",
    "µ": "u", "‘": "'", "’": "'", "“": '"', "”": '"', "²": "^2", "√": "sqrt", "ᵀ": "^T",
    "⊙": "*",
    # shade blocks (digits, receptive fields) as ' .:#', bars as '#' and '|'
    "░": ".", "▒": ":", "▓": "#", "█": "#", "▀": "#", "▄": "#",
    "▏": "|", "▎": "|", "▍": "|", "▌": "|", "▋": "|", "▊": "|", "▉": "|",
    "━": "-", "─": "-", "│": "|", "┃": "|",
}
FALLBACK_ERRORS = "mnist-tui-ascii"


def _to_ascii(err: UnicodeError):
    """A codec error handler: each character the stream's encoding lacks becomes its ASCII
    spelling (ASCII), else U+FFFD if the encoding has it, else '?'. Surrogates (the bytes of a
    path that is not UTF-8) become U+FFFD or '?' too."""
    if not isinstance(err, UnicodeEncodeError):
        raise err
    out = b""
    for ch in err.object[err.start:err.end]:
        for candidate in (ASCII.get(ch), "\ufffd", "?"):
            try:  # bytes, copied as they are (UTF-8 takes no non-ASCII str from a handler)
                out += candidate.encode(err.encoding)
                break
            except (AttributeError, UnicodeEncodeError, LookupError):
                continue
    return out, err.end


codecs.register_error(FALLBACK_ERRORS, _to_ascii)


def fit_console() -> None:
    """Let stdout and stderr print anything: what their encoding cannot encode (PYTHONIOENCODING=
    ascii or latin-1, an old console) is spelled in ASCII instead of raising UnicodeEncodeError.
    A UTF-8 console prints every character as it is. argparse's help goes through here too."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is None:
            continue
        try:
            reconfigure(errors=FALLBACK_ERRORS)
        except (ValueError, OSError, io.UnsupportedOperation):
            pass


# --- progress (issue 21: one style for train, download, sweep, race and bench) ---------------


class Progress:
    """Progress on stderr in one style: rich.progress's description, bar, count, elapsed time
    and ETA; drawn only while stderr is a terminal (a log or a pipe gets nothing), and gone when
    done. While it shows, lines printed to stderr (warnings) go above it, and so do the lines
    printed to stdout when stdout is that same terminal; when stdout is a file or a pipe, its
    lines go there untouched."""

    def __init__(self) -> None:
        self.bar = None
        if not sys.stderr.isatty():
            return
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            TaskProgressColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )
        from rich.progress import Progress as RichProgress

        same_terminal = sys.stdout.isatty()
        self.bar = RichProgress(
            TextColumn("{task.description}"), BarColumn(bar_width=24), TaskProgressColumn(),
            TextColumn("{task.fields[note]}"), TimeElapsedColumn(), TextColumn("ETA"),
            TimeRemainingColumn(), console=Console(file=sys.stderr), transient=True,
            redirect_stdout=same_terminal, redirect_stderr=True, refresh_per_second=4)

    def __enter__(self) -> Progress:
        if self.bar is not None:
            self.bar.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def stop(self) -> None:
        if self.bar is not None:
            self.bar.stop()
            self.bar = None

    def add(self, description: str, total: float | None, note: str = "") -> int | None:
        """A new line of progress (None: no bar, or a total not known yet); its id, for `update`."""
        if self.bar is None:
            return None
        return self.bar.add_task(description, total=total, note=note)

    def update(self, task: int | None, **fields) -> None:
        """`completed=`, `advance=`, `total=`, `description=`, `note=` (text after the count)."""
        if self.bar is not None and task is not None:
            self.bar.update(task, **fields)


@contextlib.contextmanager
def signal_handlers_kept(*signals: int):
    """Give the caller its own handlers of `signals` back when the block ends (a command that
    turns SIGTERM and SIGHUP into KeyboardInterrupt, run from a test or a script)."""
    before = {sig: signal.getsignal(sig) for sig in signals}
    try:
        yield
    finally:
        for sig, handler in before.items():
            signal.signal(sig, handler)
