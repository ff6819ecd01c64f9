"""What serving a run to viewers costs (issue 24; `mnist-tui bench --attach`).

- The transport's cost on a default run: the same run, back to back, not served, served with
  no viewer, and served to one viewer in another process (as `mnist-tui attach` is); the
  median epoch seconds of each (the first epoch left out: the viewer connects during it).
- The viewer's receive delay: for each progress report, the time from the host's reader
  thread taking it to the viewer process receiving it (CLOCK_MONOTONIC is one clock for every
  process on Linux), median and 95th percentile.
- The batch-to-screen delay in an attached dashboard: one more run, watched by a real dashboard
  (headless, in another process, as `mnist-tui attach` opens it): for each progress report,
  the time from the host's reader thread taking it to the dashboard's status bar showing it
  (every report) and to its charts drawing it (at most CHART_FPS times a second).
- The memory of a detached run: the real program in a pseudo-terminal, D pressed mid-run, then
  the resident (RSS) and unique (USS) memory of each of its processes, from psutil.

Printed figures only; nothing here passes or fails.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import pty
import select
import signal
import sqlite3
import statistics
import sys
import tempfile
import time

from ..core import host
from ..core.config import TrainConfig
from ..core.engine import Engine
from ..core.events import BatchProgress
from ..core.session import RunSession
from .params import BenchParams

MODES = ("not served", "served, no viewer", "served, 1 viewer")


def _viewer(run_id: int, db: str, conn) -> None:
    """A viewer process: every progress report's (epoch, batch) and when it arrived."""
    from ..core.remote import RemoteSession

    seen: dict[tuple[int, int], float] = {}

    def took(_session, ev) -> None:
        if isinstance(ev, BatchProgress):
            seen[(ev.epoch, ev.batch)] = time.monotonic()

    try:
        remote = RemoteSession(run_id, on_event=took, db_path=db).start()
        conn.send(("attached", os.getpid()))
        remote.wait(3600)
    except host.HostError as e:
        conn.send(("error", str(e)))
        return
    conn.send(("seen", seen))


def _dashboard_viewer(run_id: int, db: str, conn, p: BenchParams) -> None:
    """A viewer process with the dashboard attached (headless, 100x30): when its status bar
    and its charts took each progress report (epoch, batch), by CLOCK_MONOTONIC."""
    import asyncio

    from ..core.remote import RemoteSession
    from ..ui.app import make_app
    from .speed import load

    status: dict[tuple[int, int], float] = {}
    charts: dict[tuple[int, int], float] = {}

    async def watch() -> None:
        remote = RemoteSession(run_id, db_path=db)
        app = make_app(load(p), config=remote.config, db_path=db, attach=remote)
        async with app.run_test(size=(100, 30)) as pilot:
            screen = app.main
            train = screen.query_one("TrainPane")  # the tab shown: its charts are redrawn
            show_progress, show_train = screen._show_progress, train.show

            def progress_shown() -> None:
                show_progress()
                pr = screen.history.progress
                if pr is not None:
                    status.setdefault((pr.epoch, pr.batch), time.monotonic())

            def drawn(history) -> None:
                show_train(history)
                pr = history.progress
                if pr is not None:
                    charts.setdefault((pr.epoch, pr.batch), time.monotonic())

            screen._show_progress, train.show = progress_shown, drawn
            await pilot.pause()
            conn.send(("attached", os.getpid()))
            while remote.going:
                await asyncio.sleep(0.05)
        remote.close()

    try:
        asyncio.run(watch())
    except host.HostError as e:
        conn.send(("error", str(e)))
        return
    conn.send(("seen", (status, charts)))


def _drawn_delays(taken: dict, drawn: dict) -> list[float]:
    """Each report's delay to the first draw at or after it (a draw shows every report before
    it): reports in (epoch, batch) order, draws likewise."""
    draws = sorted(drawn.items())
    out, i = [], 0
    for key, t in sorted(taken.items()):
        while i < len(draws) and draws[i][0] < key:
            i += 1
        if i < len(draws):
            out.append(draws[i][1] - t)
    return out


def _one_run(engine: Engine, config: TrainConfig, db: str, mode: str,
             p: BenchParams | None = None) -> tuple[list, list]:
    """One run in `mode`: (its epoch seconds after the first, the viewer's receive delays)."""
    taken: dict[tuple[int, int], float] = {}

    def took(_session, ev) -> None:
        if isinstance(ev, BatchProgress):
            taken[(ev.epoch, ev.batch)] = time.monotonic()

    session = RunSession(engine, config, db_path=db, on_event=took,
                         serve=mode != "not served").start()
    viewer = conn = None
    if mode in ("served, 1 viewer", "served, 1 dashboard"):
        end = time.monotonic() + 60
        while session.host is None and session.going and time.monotonic() < end:
            time.sleep(0.01)
        if session.host is None:
            session.end()
            raise RuntimeError(f"the run was not served: {session.serve_error or session.error}")
        if mode == "served, 1 dashboard":
            session.pause()  # a dashboard takes seconds to open: the run waits for it
        ctx = multiprocessing.get_context("spawn")
        conn, child = ctx.Pipe()
        target, args = ((_viewer, (session.db_run_id, db, child)) if mode == "served, 1 viewer"
                        else (_dashboard_viewer, (session.db_run_id, db, child,
                                                  p.with_(progress=None))))
        viewer = ctx.Process(target=target, args=args, daemon=True)
        viewer.start()
        if not conn.poll(120) or conn.recv()[0] != "attached":
            session.end()
            raise RuntimeError("the viewer could not attach")
        if mode == "served, 1 dashboard":
            session.resume()
    if not session.wait(3600):
        session.end()
        raise RuntimeError("the run did not end within an hour")
    delays = []
    if viewer is not None:
        if conn.poll(60):
            kind, seen = conn.recv()
            if mode == "served, 1 viewer":
                delays = [seen[k] - taken[k] for k in seen.keys() & taken.keys()]
            else:  # (the status bar's delays, the charts')
                status, charts = seen
                delays = ([status[k] - taken[k] for k in status.keys() & taken.keys()],
                          _drawn_delays(taken, charts))
        viewer.join(10)
        if viewer.is_alive():
            viewer.kill()
    return list(session.history["seconds"])[1:], delays


def _detached_memory(config: TrainConfig, data_dir: str | None, tmp: str) -> dict:
    """The real program in a pty, D pressed once it has an epoch: each process's memory, MB."""
    import psutil

    db = os.path.join(tmp, "detached.sqlite")
    argv = [sys.executable, "-m", "mnist_tui", "--autostart", "--db", db,
            "--hidden", str(config.hidden), "--batch-size", str(config.batch_size),
            "--epochs", "1000"]
    if data_dir:
        argv += ["--data-dir", data_dir]
    pid, fd = pty.fork()
    if pid == 0:
        os.environ.update(TERM="xterm-256color")
        os.execvp(argv[0], argv)

    def drain(seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            if select.select([fd], [], [], 0.05)[0]:
                try:
                    os.read(fd, 1 << 16)
                except OSError:
                    return

    def epochs() -> int:
        try:
            with sqlite3.connect(db, timeout=0.1) as con:
                return con.execute("SELECT count(*) FROM epochs").fetchone()[0]
        except sqlite3.Error:
            return 0

    try:
        end = time.monotonic() + 600
        while epochs() < 1 and time.monotonic() < end:
            drain(0.2)
        os.write(fd, b"D")
        drain(3.0)  # the UI ends; the run trains on in the same process
        run_id = host.newest_live(db)
        info = host.command(run_id, "info", db_path=db)
        parent = psutil.Process(pid)
        rows = {}
        for p in [parent, *parent.children(recursive=True)]:
            try:
                mem = p.memory_full_info()
                line = " ".join(p.cmdline())
                name = ("the host (the detached app)" if p.pid == pid else
                        "the run's process" if p.pid == info["child_pid"] else
                        "the fork server" if "forkserver" in line else
                        "the socket's janitor (sh)" if host.JANITOR in line else
                        "the resource tracker" if "resource_tracker" in line else
                        line[:40] or p.name())
                rows[name] = {"pid": p.pid, "rss_mb": mem.rss / 2**20, "uss_mb": mem.uss / 2**20}
            except psutil.Error:
                continue
        host.command(run_id, "stop", db_path=db)
        end = time.monotonic() + 30
        while time.monotonic() < end and os.waitpid(pid, os.WNOHANG) == (0, 0):
            time.sleep(0.1)
        return rows
    finally:
        try:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
        os.close(fd)


def attach_costs(p: BenchParams, say) -> dict:
    """The three figures of the module docstring; `say` gets a line per run as it goes."""
    from .speed import load

    ds = load(p)
    config = TrainConfig(hidden=p.hidden, batch_size=min(p.batch_size, ds.n_train),
                         epochs=max(2, p.epochs or 3))
    seconds: dict[str, list[float]] = {m: [] for m in MODES}
    delays: list[float] = []
    with tempfile.TemporaryDirectory() as tmp, Engine(ds) as engine:
        db = os.path.join(tmp, "h.sqlite")
        total = p.rounds * len(MODES)
        for r in range(p.rounds):
            for k, mode in enumerate(MODES):
                p.step(f"round {r + 1}: {mode}", r * len(MODES) + k, total)
                epoch_s, d = _one_run(engine, config, db, mode)
                seconds[mode].append(statistics.median(epoch_s))
                delays += d
                say(f"  round {r + 1}  {mode:<18} {statistics.median(epoch_s):.3f} s/epoch")
        p.step("a run watched by a dashboard", total, total + 2)
        dash_s, (status, charts) = _one_run(engine, config, db, "served, 1 dashboard", p)
        say(f"  a dashboard attached       {statistics.median(dash_s):.3f} s/epoch")
        p.step("the memory of a detached run", total + 1, total + 2)
        memory = _detached_memory(config, p.data_dir, tmp)
    med = {m: statistics.median(v) for m, v in seconds.items()}
    delays.sort()
    return {"network": f"784-{config.hidden}-10", "batch_size": config.batch_size,
            "samples": ds.n_train, "epochs_per_run": config.epochs, "rounds": p.rounds,
            "epoch_seconds": med,
            "viewer_vs_not_served": med["served, 1 viewer"] / med["not served"],
            "served_vs_not_served": med["served, no viewer"] / med["not served"],
            "receive_delay_ms": {
                "reports": len(delays),
                "median": 1000 * statistics.median(delays) if delays else None,
                "p95": 1000 * delays[max(0, math.ceil(0.95 * len(delays)) - 1)] if delays else None,
                "max": 1000 * delays[-1] if delays else None},
            "dashboard": {"epoch_seconds": statistics.median(dash_s),
                          "status_delay_ms": _spread(status), "chart_delay_ms": _spread(charts)},
            "detached_memory_mb": memory}


def _spread(delays: list[float]) -> dict:
    """Median, 95th percentile and max of `delays` (seconds), in ms."""
    d = sorted(delays)
    if not d:
        return {"reports": 0, "median": None, "p95": None, "max": None}
    return {"reports": len(d), "median": 1000 * statistics.median(d),
            "p95": 1000 * d[max(0, math.ceil(0.95 * len(d)) - 1)], "max": 1000 * d[-1]}
