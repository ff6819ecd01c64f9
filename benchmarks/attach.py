"""What serving a run to viewers costs (issue 24's closing figures), printed, not asserted.

    python benchmarks/attach.py [--data-dir DIR] [--epochs 2] [--repeats 3]

1. Epoch time of a default run (784-128-10, batch 64, real MNIST) with and without a viewer
   attached: runs back to back, alternating, medians of each run's epochs, then the median
   of the runs.
2. The transport's delay: from the host's publishing a progress report to a viewer's having
   it (the same clock, CLOCK_MONOTONIC, in one process, through the Unix socket); a
   dashboard then draws it at its next redraw (at most 1/CHART_FPS = 0.5 s later).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time

from mnist_tui.core import data
from mnist_tui.core.config import TrainConfig
from mnist_tui.core.engine import Engine
from mnist_tui.core.events import BatchProgress
from mnist_tui.core.remote import RemoteSession
from mnist_tui.core.session import RunSession


def one_run(engine, config, db, attach: bool):
    published, delays = {}, []
    session = RunSession(engine, config, db_path=db)
    session.start()
    deadline = time.monotonic() + 60
    while session.host is None and session.going:
        assert time.monotonic() < deadline, session.serve_error
        time.sleep(0.01)
    viewer = None
    if attach:
        publish = session.host.publish

        def timed(event):
            if isinstance(event, BatchProgress):
                published[(event.epoch, event.batch)] = time.monotonic()
            publish(event)

        session.host.publish = timed

        def seen(_, event):
            if isinstance(event, BatchProgress):
                t = published.get((event.epoch, event.batch))
                if t is not None:
                    delays.append(time.monotonic() - t)

        viewer = RemoteSession(session.db_run_id, on_event=seen).start()
    session.wait()
    if viewer is not None:
        viewer.wait(10)
    seconds = [e for e in session.history["seconds"]]
    return statistics.median(seconds), delays


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--data-dir")
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args()
    os.environ.setdefault("XDG_RUNTIME_DIR", tempfile.mkdtemp(prefix="attach-bench-"))
    ds = data.load(args.data_dir)
    config = TrainConfig(epochs=args.epochs)
    db = os.path.join(tempfile.mkdtemp(prefix="attach-bench-"), "h.sqlite")
    times = {False: [], True: []}
    delays: list[float] = []
    with Engine(ds) as engine:
        for i in range(args.repeats):
            for attach in (False, True):
                t, d = one_run(engine, config, db, attach)
                times[attach].append(t)
                delays += d
                print(f"run {i + 1} {'with' if attach else 'without'} a viewer: median epoch "
                      f"{t:.3f}s", flush=True)
    alone, watched = statistics.median(times[False]), statistics.median(times[True])
    print(f"epoch time, medians of {args.repeats}: without a viewer {alone:.3f}s, with one "
          f"{watched:.3f}s ({(watched / alone - 1):+.1%})")
    if delays:
        delays.sort()
        print(f"host -> viewer delay of a progress report: median {1000 * statistics.median(delays):.2f} "
              f"ms, p95 {1000 * delays[int(0.95 * (len(delays) - 1))]:.2f} ms, max "
              f"{1000 * delays[-1]:.2f} ms over {len(delays)} reports")
    return 0


if __name__ == "__main__":
    sys.exit(main())
