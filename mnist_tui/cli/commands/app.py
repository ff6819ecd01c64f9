"""`mnist-tui` with no command: the dashboard. Its flags are the top level's.

Textual is imported only here, and only when the dashboard opens.
"""

from __future__ import annotations

import argparse
import os
import sys

from ...core import checkpoint, data
from ..options import config_from_args
from ..output import EXIT_USAGE, fail, start_loading


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--autostart", action="store_true",
                   help="start training at once with the values given (default: wait for Start)")
    p.add_argument("--no-mouse", action="store_true",
                   help="do not capture the mouse; saves bandwidth over SSH (default: mouse on)")
    p.add_argument("--load", metavar="PATH",
                   help="open with the weights and curves of a saved .npz checkpoint "
                   "(default: none)")


def terminal_problem(env=os.environ) -> str | None:
    """Why the dashboard cannot run here, or None. Textual reads keys from stdin and draws on
    stderr; with stdin not a terminal it reads nothing and spins, and with stdout or stderr
    in a file the UI goes into the file. A driver chosen in TEXTUAL_DRIVER (textual-serve's
    web driver: pipes, not a terminal) brings its own input and output."""
    if env.get("TEXTUAL_DRIVER"):
        return None
    missing = []
    for name, stream in (("stdin", sys.stdin), ("stdout", sys.stdout), ("stderr", sys.stderr)):
        try:
            if stream is None or not stream.isatty():
                missing.append(name)
        except (ValueError, OSError):  # closed
            missing.append(name)
    if not missing:
        return None
    which = " and ".join(missing) + (" is not a terminal" if len(missing) == 1 else " are not terminals")
    return (f"the dashboard needs a terminal, but {which}: run it in one, or train without one "
            "with 'mnist-tui train'")


def run(args: argparse.Namespace) -> int:
    parent_pid = os.getppid()  # before the slow start-up, so a server that dies meanwhile shows
    config = config_from_args(args)
    # Load what can fail before the screen switches, so errors stay one plain line.
    loaded = checkpoint.load(args.load) if args.load else None
    if loaded and config.dataset != "mnist" and loaded[1].dataset != config.dataset:
        return fail(f"{args.load} was trained on {data.INFO[loaded[1].dataset].title}, not "
                    f"{data.INFO[config.dataset].title}: drop --dataset or load another "
                    "checkpoint", EXIT_USAGE)
    problem = terminal_problem()
    if problem:  # before the data loads: one line, not a UI drawn into a file or a spin
        return fail(problem, EXIT_USAGE)
    # The files are found (or downloaded) now; they are parsed in a thread while Textual is
    # imported (only when the dashboard opens), and a bad file is still one line and exit 1.
    dataset = start_loading(args.data_dir, loaded[1].dataset if loaded else config.dataset)
    from ...ui.app import make_app

    ds = dataset()
    app = make_app(dataset=ds, config=config, autostart=args.autostart, loaded=loaded,
                   load_path=args.load, db_path=args.db, parent_pid=parent_pid)
    del ds  # the app holds the dataset in shared memory now: free the first copy
    app.run(mouse=not args.no_mouse)
    return outlive_if_detached(app)


def outlive_if_detached(app) -> int:
    """After the UI ended: if it detached (D, a hangup), say so and host the runs to their end
    (also for `attach`, whose dashboard may have started runs of its own); the exit code."""
    if app.detached:  # the runs go on without a terminal; this process hosts them to the end
        from ...core.session import deaf_to_the_terminal
        from ...ui.compat.input_thread import end_input_thread

        end_input_thread(app)  # else it could read the /dev/null stdin becomes, at 100% CPU

        deaf_to_the_terminal()
        runs = [s.db_run_id for s in getattr(app, "_sessions_at_detach", []) if s.db_run_id]
        if runs:
            try:  # the terminal may be gone (a hangup): then nobody reads this
                many = len(runs) > 1
                print(f"mnist-tui: detached: run{'s' * many} {', '.join(map(str, runs))} "
                      f"train{'' if many else 's'} on in process {os.getpid()} and save"
                      f"{'' if many else 's'} a checkpoint at the end; 'mnist-tui attach' "
                      f"watches, 'mnist-tui runs stop ID' stops; neither Ctrl-C nor closing "
                      f"this terminal stops {'them' if many else 'it'} (Ctrl-Z, then 'bg', "
                      f"gives the terminal back)", file=sys.stderr, flush=True)
            except OSError:
                pass
        return app.outlive(app.return_code or 0)
    return app.return_code or 0
