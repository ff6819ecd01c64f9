"""The commands: name -> module and summary, each module imported only when its command runs.

As pip's `commands_dict`: `mnist-tui --help` lists every command from the summaries here
without importing one. Each command module has `add_arguments(parser)`, which gives its
parser a description and its flags, and `run(args) -> int`. The dashboard (`app`) is the
default when no command is given; its flags are the top level's.
"""

from __future__ import annotations

import argparse
import importlib
from types import ModuleType
from typing import NamedTuple

from ..options import Parser


class CommandInfo(NamedTuple):
    module_path: str
    summary: str


# In the order `mnist-tui --help` lists them.
COMMANDS: dict[str, CommandInfo] = {
    "train": CommandInfo("mnist_tui.cli.commands.train",
                         "train headless and print a line per epoch"),
    "runs": CommandInfo("mnist_tui.cli.commands.runs", "list, show and export past runs"),
    "race": CommandInfo("mnist_tui.cli.commands.race", "race 2 to 4 values of one field, at once"),
    "sweep": CommandInfo("mnist_tui.cli.commands.sweep",
                         "search hyperparameters with Optuna (TPE + median pruning)"),
    "suspects": CommandInfo("mnist_tui.cli.commands.suspects",
                            "test samples whose label looks wrong, found across your runs"),
    "units": CommandInfo("mnist_tui.cli.commands.units",
                         "what each hidden unit of a checkpoint does, and what silencing it costs"),
    "explain": CommandInfo("mnist_tui.cli.commands.explain",
                           "why a checkpoint answers what it does for a test sample, and what "
                           "would change it"),
    "attach": CommandInfo("mnist_tui.cli.commands.attach",
                          "open the dashboard on a run that is going, wherever it was started"),
    "serve": CommandInfo("mnist_tui.cli.commands.serve",
                         "serve the dashboard to a browser (textual-serve)"),
    "download": CommandInfo("mnist_tui.cli.commands.download",
                            "download and verify MNIST or Fashion-MNIST"),
    "bench": CommandInfo("mnist_tui.cli.commands.bench",
                         "measure training speed against the matmul peak"),
}
DEFAULT = "app"  # no command: the dashboard
APP = CommandInfo("mnist_tui.cli.commands.app", "the dashboard")


def load(name: str | None) -> ModuleType:
    """The module of command `name` (None: the dashboard), imported now if it was not yet."""
    info = APP if name in (None, DEFAULT) else COMMANDS[name]
    return importlib.import_module(info.module_path)


class CommandParser(Parser):
    """A command's parser, filled in by its module the first time it parses or shows help, so
    that only the command that runs is imported."""

    def __init__(self, *args, command: str, **kwargs):
        super().__init__(*args, **kwargs)
        self._command: str | None = command

    def _fill(self) -> None:
        if self._command is not None:
            name, self._command = self._command, None
            load(name).add_arguments(self)

    def parse_known_args(self, args=None, namespace=None):
        self._fill()
        return super().parse_known_args(args, namespace)

    def format_usage(self) -> str:
        self._fill()
        return super().format_usage()

    def format_help(self) -> str:
        self._fill()
        return super().format_help()


def add_parsers(sub: argparse._SubParsersAction) -> None:
    """One (still empty) parser per command, listed with its summary."""
    for name, info in COMMANDS.items():
        sub.add_parser(name, help=info.summary, command=name)
