"""`mnist-tui serve`: the dashboard in a browser, through textual-serve, one process per tab."""

from __future__ import annotations

import argparse
import ipaddress
import os
import shlex
import sys
from dataclasses import fields

from ...core import config as cfg
from ..options import add_data_dir_flag, flag, port_number, positive_int
from ..output import EXIT_DATA, fail


def add_arguments(sv: argparse.ArgumentParser) -> None:
    sv.description = (
        "Serve the dashboard over HTTP with textual-serve, one process per "
        "browser tab. Flags given before 'serve' (--db, --load, --data-dir, the "
        "training values) apply to every tab. It has no authentication: keep it "
        "on localhost.")
    sv.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    sv.add_argument("--port", type=port_number, default=8000, help="port (default: 8000)")
    sv.add_argument("--max-sessions", type=positive_int, default=4, metavar="N",
                    help="dashboards (browser tabs) run at once, each a process of about 120 MB; "
                    "a tab past the limit is told why (default: 4)")
    add_data_dir_flag(sv)


def run(args: argparse.Namespace) -> int:
    try:
        loopback = ipaddress.ip_address(args.host).is_loopback
    except ValueError:
        loopback = args.host == "localhost"
    if not loopback:
        print(f"mnist-tui: warning: serving on {args.host}, which is not localhost. textual-serve "
              "has no authentication: anyone who can reach this port can use the dashboard.",
              file=sys.stderr)
    from ...serve import CappedServer  # textual-serve and aiohttp: only when serving

    # textual-serve runs this through /bin/sh; `exec` makes each app a direct child of the
    # server, so an app can tell when the server is gone (see MnistApp._exit_if_orphaned).
    command = f"exec {shlex.quote(sys.executable)} -m mnist_tui" + "".join(
        f" {name} {shlex.quote(str(value))}" for name, value in dashboard_flags(args))
    if args.autostart:
        command += " --autostart"
    try:
        CappedServer(command, host=args.host, port=args.port, title="mnist-tui",
                     max_sessions=args.max_sessions).serve()
    except OSError as e:  # the port is taken, or the host cannot be resolved or bound
        return fail(f"cannot serve on {args.host}:{args.port}: {e.strerror or e}", EXIT_DATA)
    return 0


def dashboard_flags(args: argparse.Namespace) -> list[tuple[str, object]]:
    """The flags given before `serve` that each served dashboard gets: --db, --load,
    --data-dir and every config value that differs from its default."""
    given = [(flag(f.name), getattr(args, f.name)) for f in fields(cfg.TrainConfig)
             if getattr(args, f.name) not in (None, f.default)]
    for name in ("db", "load", "data_dir"):
        if getattr(args, name, None):  # absolute: a session need not start in this directory
            given.append(("--" + name.replace("_", "-"), os.path.abspath(getattr(args, name))))
    return given
