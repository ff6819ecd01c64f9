"""Command line: `mnist-tui` opens the dashboard; `train`, `download` and `bench` run headless.

Each command is a module in `commands/` (its flags and its `run`), imported only when it runs;
this module parses, dispatches and turns errors into exit codes.

Exit codes: 0 success, 1 data or checkpoint error, 2 invalid flag, 3 training diverged,
130 interrupted. Errors are one line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys

from .. import __version__
from ..core import checkpoint, data, store
from ..core.files import FileError
from . import commands
from .options import Parser, add_config_flags, add_db_flag
from .output import EXIT_DATA, EXIT_INTERRUPTED, OUTPUT_ERRORS, fail, fit_console


def build_parser() -> Parser:
    """The top level: the dashboard's flags, which every command also takes, and the commands."""
    p = Parser(
        prog="mnist-tui",
        description="Watch and steer a from-scratch NumPy perceptron learning MNIST, in the "
        "terminal. With no command, opens the dashboard.",
        epilog="Commands: train (headless), runs (list, show, export past runs), serve (the "
        "dashboard in a browser), race (2-4 values of one field at once), sweep (search "
        "hyperparameters with Optuna), suspects (test labels that look wrong), units (each "
        "hidden unit of a checkpoint, silenced one at a time), explain (a sample's saliency "
        "and nudge), download (fetch "
        "the data), bench (speed figures; --target for time to an accuracy). "
        "'mnist-tui COMMAND --help' explains each. In the dashboard: s start, p pause, x stop, "
        "f form, w/l save/load, 1-9 and 0 tabs, q quit, ctrl+p palette. Environment: MNIST_TUI_DATA "
        "(data directory), MNIST_TUI_OFFLINE=1 (never download), NO_COLOR (no colour).",
    )
    p.add_argument("--version", action="version", version=f"mnist-tui {__version__}")
    add_config_flags(p)
    commands.load(commands.DEFAULT).add_arguments(p)
    add_db_flag(p, defaults=True)
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=commands.CommandParser)
    commands.add_parsers(sub)
    return p


def check_global_flags(parser: Parser, args: argparse.Namespace) -> None:
    """Flags given before a command that the command would silently ignore are errors."""
    if args.db is not None and (not args.db.strip() or args.db == ":memory:"
                                or args.db.startswith("file:")):
        parser.error(f"--db needs the path of a database file (got {args.db!r}): the history "
                     "must outlive the program")
    if args.load is not None and args.command not in (None, "serve"):
        parser.error(f"--load opens a checkpoint in the dashboard; '{args.command}' does not use "
                     "it (drop --load)")


def main(argv: list[str] | None = None) -> int:
    fit_console()  # before anything prints, argparse's help included
    parser = build_parser()
    args = parser.parse_args(argv)
    check_global_flags(parser, args)
    try:
        code = commands.load(args.command).run(args)
        sys.stdout.flush()  # a full disk or a dead device shows here, not at interpreter exit
        return code
    except data.DataError as e:
        return fail(str(e), EXIT_DATA)
    except (checkpoint.CheckpointError, store.StoreError, FileError) as e:
        return fail(str(e), EXIT_DATA)
    except KeyboardInterrupt:
        return fail("interrupted", EXIT_INTERRUPTED)
    except BrokenPipeError:
        # `mnist-tui train | head`: the reader left; exit quietly as other Unix tools do.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except OSError as e:
        if e.errno not in OUTPUT_ERRORS:
            raise
        # `mnist-tui runs list > /dev/full`: say so in one line, and drop what cannot be
        # written (else Python reports it again, with a traceback, while exiting).
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return fail(f"cannot write the output ({e.strerror})", EXIT_DATA)
