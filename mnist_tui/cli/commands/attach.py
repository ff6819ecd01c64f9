"""`mnist-tui attach [RUN]`: the dashboard on a run that another process hosts (core/host.py),
whoever started it: a dashboard (detached or not), `mnist-tui train`, a racer, a sweep trial."""

from __future__ import annotations

import argparse

from ...core import host
from ..options import add_data_dir_flag, add_db_flag, run_id
from ..output import EXIT_DATA, fail, load_data


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.description = ("Open the dashboard on a run that is going (its live mark in 'runs list'): "
                     "every tab shows it, and p, x and the live fields steer it. q leaves it "
                     "going.")
    p.add_argument("run", type=run_id, nargs="?", metavar="RUN",
                   help="run id, from 'runs list' (default: the newest run going)")
    p.add_argument("--no-mouse", action="store_true",
                   help="do not capture the mouse; saves bandwidth over SSH (default: mouse on)")
    add_data_dir_flag(p)
    add_db_flag(p)


def run(args: argparse.Namespace) -> int:
    from ...core.remote import RemoteSession

    if args.run is None:
        try:  # another user's folder says "permission denied", not "no run is going"
            host.folder(create=False)
        except host.HostError as e:
            return fail(str(e), EXIT_DATA)
    db = getattr(args, "db", None)
    wanted = args.run if args.run is not None else host.newest_live(db)
    if wanted is None:
        return fail("no run is going (see 'mnist-tui runs list')", EXIT_DATA)
    try:
        remote = RemoteSession(wanted, db_path=db)
    except host.HostError as e:
        return fail(str(e), EXIT_DATA)
    ds = load_data(getattr(args, "data_dir", None), remote.config.dataset)
    from ...ui.app import make_app  # Textual is imported only when the dashboard opens

    app = make_app(dataset=ds, config=remote.config, db_path=db,
                   attach=remote)
    del ds
    try:
        app.run(mouse=not args.no_mouse)
    finally:
        remote.close()  # the run attached to goes on: a viewer takes nothing with it
    from .app import outlive_if_detached

    return outlive_if_detached(app)  # runs this dashboard started itself train on after D
