"""What the commands share for input: the Parser, argument types, the config and --db flags."""

from __future__ import annotations

import argparse
import math
from dataclasses import fields

from ..core import config as cfg
from .output import EXIT_USAGE

FLAG_NAMES = {"batch_size": "--batch-size", "weight_decay": "--weight-decay",
              "val_split": "--val-split"}


class Parser(argparse.ArgumentParser):
    """ArgumentParser whose errors are one line, pointing at --help."""

    def error(self, message: str):
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def run_id(text: str) -> int:
    """A run id: ASCII digits, 1 to 2^63-1 (SQLite's integer range)."""
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) < 2**63:
        raise argparse.ArgumentTypeError(f"a run id is a whole number from 1 to {2**63 - 1} (got {text!r})")
    return int(text)


def port_number(text: str) -> int:
    if not (text.isascii() and text.strip().isdigit()) or not 1 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"a port is a whole number from 1 to 65535 (got {text!r})")
    return int(text)


def positive_int(text: str) -> int:
    if not (text.isascii() and text.strip().isdigit()) or int(text) < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1 (got {text!r})")
    return int(text)


def non_negative_int(text: str) -> int:
    if not (text.isascii() and text.strip().isdigit()) or int(text) >= 2**63:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 0 (got {text!r})")
    return int(text)


def probability(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"must be a number from 0 to 1 (got {text!r})")
    return value


def target_accuracy(text: str) -> float:
    value = probability(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"a target accuracy is above 0 and at most 1 (got {text!r})")
    return value


def flag(name: str) -> str:
    """The flag of a TrainConfig field: `batch_size` -> `--batch-size`."""
    return FLAG_NAMES.get(name, "--" + name)


def field_type(name: str):
    """An argparse type for TrainConfig field `name`, with the form's rules (config.parse_field)."""
    def parse(text: str):
        try:
            return cfg.parse_field(name, text)
        except ValueError as e:
            raise argparse.ArgumentTypeError(str(e)) from None

    parse.__name__ = name  # argparse names the type in some messages
    return parse


def add_config_flags(p: argparse.ArgumentParser, defaults: bool = True) -> None:
    """One flag per TrainConfig field, validated by the same rules as the dashboard's form.

    A subcommand passes defaults=False, so `mnist-tui --epochs 3 train` keeps the 3 given
    before the subcommand instead of the subcommand's default overwriting it.
    """
    g = p.add_argument_group("training (the same rules as the dashboard's form)")
    for f in fields(cfg.TrainConfig):
        spec = cfg.SPECS[f.name]
        default = f.default
        shown = f.default
        if f.name == "lr":  # the optimizer's own default unless given (see config.DEFAULT_LR)
            default, shown = None, "0.1; 0.001 for adam and adamw"
        g.add_argument(
            flag(f.name),
            dest=f.name,
            type=field_type(f.name),
            default=default if defaults else argparse.SUPPRESS,
            metavar=f.name.upper() if not spec.choices else "{" + ",".join(spec.choices) + "}",
            help=f"{spec.help}, {cfg.range_text(spec)} (default: {shown})",
        )
    p.add_argument(
        "--data-dir", metavar="DIR", default=None if defaults else argparse.SUPPRESS,
        help="directory holding the four MNIST .gz files (default: $MNIST_TUI_DATA, then the "
        "project's data/mnist, then $XDG_CACHE_HOME/mnist-tui, else ~/.cache/mnist-tui, "
        "downloading there if none has them)",
    )


def add_data_dir_flag(p: argparse.ArgumentParser) -> None:
    """--data-dir for a command without the config flags; the top level's value stands if not given."""
    p.add_argument("--data-dir", metavar="DIR", default=argparse.SUPPRESS,
                   help="as for train (default: the same search order)")


def add_db_flag(p: argparse.ArgumentParser, defaults: bool = False) -> None:
    """--db at every level; only the top level sets the default (see add_config_flags)."""
    p.add_argument("--db", metavar="PATH", default=None if defaults else argparse.SUPPRESS,
                   help="run history database (default: $XDG_DATA_HOME/mnist-tui/runs.sqlite, "
                   "else ~/.local/share/mnist-tui/runs.sqlite)")


def config_from_args(args: argparse.Namespace) -> cfg.TrainConfig:
    """The TrainConfig the flags give; lr unset means the optimizer's own default."""
    values = {f.name: getattr(args, f.name) for f in fields(cfg.TrainConfig)}
    if values["lr"] is None:
        values["lr"] = cfg.DEFAULT_LR[values["optimizer"]]
    return cfg.TrainConfig(**values)
