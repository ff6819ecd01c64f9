"""What the commands share for input: the Parser, argument types, the config and --db flags."""

from __future__ import annotations

import argparse
import math
import re
from dataclasses import fields

from ..core import config as cfg
from .output import EXIT_USAGE

FLAG_NAMES = {"batch_size": "--batch-size", "weight_decay": "--weight-decay",
              "val_split": "--val-split"}


class Parser(argparse.ArgumentParser):
    """ArgumentParser whose errors are one line, pointing at --help."""

    def error(self, message: str):
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def digits(text: str) -> int | None:
    """`text` as a whole number if it is ASCII digits 0-9 and nothing else, else None.

    Python's int() also takes '+5', ' 5', '1_0' (10) and other scripts' digits ('٣' is 3), so
    an index typed as one of those would silently name another sample or unit."""
    return int(text) if re.fullmatch(r"[0-9]+", text) else None


def index(text: str) -> int:
    """An index (a sample, a unit, a class): ASCII digits only; the command checks the range."""
    value = digits(text)
    if value is None:
        raise argparse.ArgumentTypeError(f"an index is written with the ASCII digits 0-9 "
                                         f"(got {text!r})")
    return value


def run_id(text: str) -> int:
    """A run id: ASCII digits, 1 to 2^63-1 (SQLite's integer range)."""
    value = digits(text)
    if value is None or not 1 <= value < 2**63:
        raise argparse.ArgumentTypeError(f"a run id is a whole number from 1 to {2**63 - 1} (got {text!r})")
    return value


def port_number(text: str) -> int:
    value = digits(text)
    if value is None or not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"a port is a whole number from 1 to 65535 (got {text!r})")
    return value


def positive_int(text: str) -> int:
    value = digits(text)
    if value is None or value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1 (got {text!r})")
    return value


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


def add_config_flags(p: argparse.ArgumentParser, defaults: bool = True,
                     skip: tuple[str, ...] = ()) -> None:
    """One flag per TrainConfig field (but those in `skip`, which the caller defines its own
    way), validated by the same rules as the dashboard's form.

    A subcommand passes defaults=False, so `mnist-tui --epochs 3 train` keeps the 3 given
    before the subcommand instead of the subcommand's default overwriting it.
    """
    g = p.add_argument_group("training (the same rules as the dashboard's form)")
    for f in fields(cfg.TrainConfig):
        if f.name in skip:
            continue
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
    g.add_argument(
        "--recipe", choices=sorted(cfg.RECIPES), default=None if defaults else argparse.SUPPRESS,
        help="start from a named set of the fields above; any of them given beside it wins. "
        "fast: " + " ".join(f"{flag(k)} {v}" for k, v in cfg.RECIPES["fast"].items())
        + " (default: none)")
    if "data_dir" in skip:
        return
    p.add_argument(
        "--data-dir", metavar="DIR", default=None if defaults else argparse.SUPPRESS,
        help="directory holding the four IDX files, gzipped or unpacked (gunzip's or 7-Zip's "
        "names) (default: $MNIST_TUI_DATA, then the copy of MNIST inside the package, then "
        "$XDG_CACHE_HOME/mnist-tui, else ~/.cache/mnist-tui, downloading there if none has them)",
    )


def add_data_dir_flag(p: argparse.ArgumentParser) -> None:
    """--data-dir for a command without the config flags; the top level's value stands if not given."""
    p.add_argument("--data-dir", metavar="DIR", default=argparse.SUPPRESS,
                   help="as for train (default: the same search order)")


def add_format_flag(p: argparse.ArgumentParser, choices: tuple[str, ...] = ("text", "json"),
                    words: str = "", json_alias: bool = False) -> None:
    """--format, the same on every command that lists or reports: text for people (the
    default), json or csv for programs; `json_alias` keeps an older --json working."""
    p.add_argument("--format", choices=choices, default="text",
                   help=(words or "text for people; " + " or ".join(choices[1:]) +
                         " for programs") + " (default: text)")
    if json_alias:
        p.add_argument("--json", dest="format", action="store_const", const="json",
                       help="the same as --format json (default: off)")


def add_db_flag(p: argparse.ArgumentParser, defaults: bool = False) -> None:
    """--db at every level; only the top level sets the default (see add_config_flags)."""
    p.add_argument("--db", metavar="PATH", default=None if defaults else argparse.SUPPRESS,
                   help="run history database (default: $XDG_DATA_HOME/mnist-tui/runs.sqlite, "
                   "else ~/.local/share/mnist-tui/runs.sqlite)")


def config_from_args(args: argparse.Namespace) -> cfg.TrainConfig:
    """The TrainConfig the flags give, from --recipe's values where a field was left at its
    default; lr unset means the optimizer's own default."""
    values = {f.name: getattr(args, f.name) for f in fields(cfg.TrainConfig)}
    for name, value in cfg.RECIPES.get(getattr(args, "recipe", None) or "", {}).items():
        unset = None if name == "lr" else cfg.TrainConfig.__dataclass_fields__[name].default
        if values[name] == unset:  # not given (argparse cannot tell it from the default given)
            values[name] = value
    if values["lr"] is None:
        values["lr"] = cfg.DEFAULT_LR[values["optimizer"]]
    return cfg.TrainConfig(**values)
