"""`mnist-tui bench --history`: the dashboard and the CLI against a history of 10,000 runs.

`build_history` makes such a history in seconds: a few real runs recorded through the Store
(20 epochs each, with every epoch's predictions, as a run records them), then copied in SQL
until there are `runs` of them, each copy with its own id, start time and seed (so `configs`
distinct configs, as a user re-running a few recipes would have). The tests build theirs the
same way (tests/conftest.py `big_history`).

`run` measures, one after the other in this process (ratios compare like with like on a
shared machine), and prints figures; nothing here passes or fails:
  - the store's reads: every run at once (what the Runs tab did) against one page;
  - the dashboard's first frame in a terminal (`mnist-tui` in a pty, to the frame showing its
    tab bar and status bar), with an empty history and with this one;
  - `runs list --limit 50` and `suspects` as the CLI runs them (subprocesses, wall clock);
  - the app, headless: first frame, the Runs tab opening, each key there (down, space with its
    overlay, End, compare of two), and the process's RSS with that history open.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from ..core.config import TrainConfig
from ..core.events import EpochEnd
from ..core.store import Store

SEED_STATUSES = ("done", "done", "stopped", "done", "diverged")  # the real runs copied


def _epoch(epoch: int, epochs: int, labels: np.ndarray, rng: np.random.Generator,
           quality: float) -> EpochEnd:
    """A plausible epoch: accuracy rising towards `quality`, predictions to match."""
    n = len(labels)
    acc = quality * (1 - 0.6 * np.exp(-epoch / 3))
    right = rng.random(n) < acc
    classes = np.where(right, labels, (labels + rng.integers(1, 10, n)) % 10)
    proba = np.full((n, 10), 0.0, np.float32)
    confidence = np.clip(rng.normal(0.85 if epoch > 3 else 0.6, 0.12, n), 0.11, 1.0)
    proba[:] = ((1 - confidence) / 9)[:, None]
    proba[np.arange(n), classes] = confidence
    confusion = np.zeros((10, 10), np.int64)
    np.add.at(confusion, (labels, classes), 1)
    loss = float(1.5 * (1 - acc) + 0.05)
    return EpochEnd(epoch, epochs, loss, float(acc), loss * 1.1, float(right.mean()), 0.1,
                    1.5, 1.5 * epoch, confusion, proba, (), ece=0.02)


def build_history(path: str | os.PathLike, runs: int = 10_000, epochs: int = 20,
                  n_test: int = 500, seeds: int = len(SEED_STATUSES), configs: int = 125,
                  dataset: str = "mnist") -> Path:
    """A history database at `path` with `runs` runs (see the module's docstring); returns
    the path. An existing file there is replaced."""
    path = Path(path)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 10, n_test).astype(np.uint8)
    with Store(path) as store:
        for s in range(seeds):
            run_id = store.start_run(TrainConfig(seed=s, epochs=epochs, dataset=dataset))
            store.set_labels(run_id, labels)
            for e in range(1, epochs + 1):
                ev = _epoch(e, epochs, labels, rng, quality=0.9 + 0.015 * s)
                store.add_epoch(run_id, ev, e)
                store.add_predictions(run_id, ev, e)
            store.finish_run(run_id, SEED_STATUSES[s % len(SEED_STATUSES)])
        db = store.db
        copies = runs - seeds
        # no live process; the real runs first in time too, then a copy a minute (ids in order)
        db.execute("UPDATE runs SET pid = NULL, started_at = started_at - ? * 60.0, "
                   "finished_at = finished_at - ? * 60.0", (copies + 1, copies + 1))
        db.execute("BEGIN")
        # copy n (0-based) is run seeds + 1 + n, made from real run 1 + n % seeds
        k = ("WITH RECURSIVE k(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM k WHERE n + 1 < ?) ")
        db.execute(
            k + "INSERT INTO runs (id, started_at, finished_at, config, status, best_test_acc, "
            "seconds, checkpoint, confusion, pid, host, study, trial) "
            "SELECT ? + 1 + n, r.started_at + (n + 1) * 60.0, r.finished_at + (n + 1) * 60.0, "
            "json_set(r.config, '$.seed', n % ?), r.status, r.best_test_acc, r.seconds, NULL, "
            "r.confusion, NULL, r.host, NULL, NULL FROM k JOIN runs r ON r.id = 1 + n % ?",
            (copies, seeds, configs, seeds))
        db.execute(
            k + "INSERT INTO epochs (run_id, epoch, train_loss, train_acc, test_loss, test_acc, "
            "lr, seconds, val_loss, val_acc, ece) "
            "SELECT ? + 1 + n, e.epoch, e.train_loss, e.train_acc, "
            "e.test_loss, e.test_acc, e.lr, e.seconds, e.val_loss, e.val_acc, e.ece "
            "FROM k JOIN epochs e ON e.run_id = 1 + n % ?", (copies, seeds, seeds))
        db.execute(
            k + "INSERT INTO predictions (run_id, epoch, classes, confidence) "
            "SELECT ? + 1 + n, p.epoch, p.classes, p.confidence "
            "FROM k JOIN predictions p ON p.run_id = 1 + n % ?", (copies, seeds, seeds))
        db.execute(
            k + "INSERT INTO test_labels SELECT ? + 1 + n, t.labels "
            "FROM k JOIN test_labels t ON t.run_id = 1 + n % ?", (copies, seeds, seeds))
        db.execute("COMMIT")
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path


def _median_ms(times: list[float]) -> str:
    return f"{statistics.median(times) * 1000:7.1f} ms (median of {len(times)}, max {max(times) * 1000:.1f})"


def _cli_seconds(args: list[str], env: dict) -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "mnist_tui", *args], env=env, check=False,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0


def measure_store(path: Path) -> None:
    with Store(path, readonly=True) as store:
        t0 = time.perf_counter()
        every = store.runs()
        t_all = time.perf_counter() - t0
        page_times = []
        for _ in range(5):
            t0 = time.perf_counter()
            page = store.runs(limit=100, offset=len(every) - 100) if _pages(store) else every[-100:]
            page_times.append(time.perf_counter() - t0)
    print(f"store: every run at once ({len(every)}): {t_all * 1000:.0f} ms")
    print(f"store: one page of {len(page)} (the last):  {_median_ms(page_times)}")


def _pages(store: Store) -> bool:
    import inspect

    return "limit" in inspect.signature(store.runs).parameters


def measure_cli(path: Path) -> None:
    env = {**os.environ, "XDG_DATA_HOME": str(path.parent / "xdg")}
    listing = [_cli_seconds(["runs", "list", "--db", str(path), "--limit", "50"], env)
               for _ in range(3)]
    print(f"cli: runs list --limit 50:  {statistics.median(listing):.2f} s (median of 3)")
    full = _cli_seconds(["runs", "list", "--db", str(path)], env)
    print(f"cli: runs list (default):   {full:.2f} s")
    sus = [_cli_seconds(["suspects", "--db", str(path)], env) for _ in range(3)]
    print(f"cli: suspects:              {statistics.median(sus):.2f} s (median of 3)")


def first_frame_seconds(db: Path, env: dict, size=(100, 30), limit: float = 60.0) -> float | None:
    """Seconds from exec of `mnist-tui --db DB` in a pseudo-terminal to the first frame that
    shows the tab bar and the status bar (None if none came within `limit` seconds); then q."""
    import pty
    import select
    import struct
    import termios
    from fcntl import ioctl

    t0 = time.perf_counter()
    pid, fd = pty.fork()
    if pid == 0:  # the child: the dashboard, as a user starts it
        try:
            ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", size[1], size[0], 0, 0))
            os.execve(sys.executable, [sys.executable, "-m", "mnist_tui", "--db", str(db)], env)
        finally:
            os._exit(127)
    shown, first = b"", None
    try:
        while first is None and time.perf_counter() - t0 < limit:
            if select.select([fd], [], [], 0.05)[0]:
                try:
                    shown += os.read(fd, 65536)
                except OSError:  # the child ended
                    break
                if b"Matrix" in shown and b"s: start" in shown:
                    first = time.perf_counter() - t0
        os.write(fd, b"q")
        deadline = time.perf_counter() + 10
        while time.perf_counter() < deadline and os.waitpid(pid, os.WNOHANG) == (0, 0):
            if select.select([fd], [], [], 0.05)[0]:
                try:
                    os.read(fd, 65536)
                except OSError:
                    pass
        else:
            if time.perf_counter() >= deadline:
                os.kill(pid, 9)
                os.waitpid(pid, 0)
    finally:
        os.close(fd)
    return first


def measure_first_frame(path: Path, rounds: int = 5) -> None:
    """The first frame of the dashboard in a terminal (a pty, 100x30), with an empty history and
    with this one, taken in turns."""
    try:
        import pty  # noqa: F401
    except ImportError:
        print("first frame: needs a pty (not on this platform)")
        return
    env = {**os.environ, "XDG_DATA_HOME": str(path.parent / "xdg"), "TERM": "xterm-256color"}
    env.pop("TEXTUAL_DRIVER", None)
    empty = path.parent / "empty.sqlite"
    times: dict[str, list[float]] = {"an empty history": [], f"{path.name}": []}
    for _ in range(rounds):
        for got, db in zip(times.values(), (empty, path), strict=True):
            seconds = first_frame_seconds(db, env)
            if seconds is not None:
                got.append(seconds)
    for name, got in times.items():
        shown = (f"{statistics.median(got):.2f} s (median of {len(got)}, max {max(got):.2f})"
                 if got else "never shown")
        print(f"first frame of the dashboard in a terminal, {name}: {shown}")


async def _measure_app(path: Path, dataset, size=(100, 30), presses: int = 7) -> None:
    """Each figure runs from the key (sent as a terminal sends it: through the driver, every
    key of a burst at once) to its effect, plus the time the app then takes to run one more
    message (so work a handler leaves on the UI thread, a reload or a rebuild, counts).
    Pilot's own press() waits for the whole process to go idle, which on a loaded machine
    is most of what it measures."""
    import asyncio

    import psutil
    from textual import events
    from textual.widgets import DataTable

    from ..ui.app import make_app
    from ..ui.widgets.runs_view import RunsView

    chars = {"space": " "}

    async def timed(pilot, keys, condition, limit=60.0) -> float:
        t0 = time.perf_counter()
        for key in keys:
            event = events.Key(key, chars.get(key, key if len(key) == 1 else None))
            event.set_sender(app)
            app._driver.send_message(event)
        while not condition():
            if time.perf_counter() - t0 > limit:
                raise TimeoutError(f"{keys}: the app did not get there in {limit:.0f} s")
            await asyncio.sleep(0.001)
        free = asyncio.Event()
        app.call_later(free.set)
        await free.wait()
        return time.perf_counter() - t0

    t0 = time.perf_counter()
    app = make_app(dataset, db_path=path)
    async with app.run_test(size=size) as pilot:
        print(f"app: ready (headless {size[0]}x{size[1]}, run_test entered): "
              f"{time.perf_counter() - t0:.2f} s")
        view = app.query_one(RunsView)
        table = app.query_one("#runs-table", DataTable)
        t = await timed(pilot, ["8"], lambda: table.row_count > 0 and view.current is not None)
        print(f"app: Runs tab open (rows shown):  {t:.2f} s")
        times = []
        for _ in range(presses):
            run = view.current["id"]
            times.append(await timed(pilot, ["down"], lambda r=run: view.current["id"] == r - 1))
        print(f"app: down:                        {_median_ms(times)}")
        train = app.main.query_one("TrainPane")
        marked, drawn = [], []
        for _ in range(presses):
            run = view.current["id"]
            marked.append(await timed(pilot, ["space"], lambda r=run: r in view.overlay and str(
                table.get_cell(str(r), "mark")) == "●"))
            t0 = time.perf_counter()
            while run not in train.overlays:
                await asyncio.sleep(0.001)
            drawn.append(marked[-1] + time.perf_counter() - t0)
            await timed(pilot, ["down"], lambda r=run: view.current["id"] == r - 1)
        print(f"app: space (mark: the row's ●):   {_median_ms(marked)}")
        print(f"app: space (its overlay drawn):   {_median_ms(drawn)}")
        times = []
        for _ in range(presses):
            run = view.current["id"]
            await timed(pilot, ["up"], lambda r=run: view.current["id"] == r + 1)
            run = view.current["id"]
            times.append(await timed(pilot, ["space"], lambda r=run: r not in train.overlays))
        print(f"app: space (unmark):              {_median_ms(times)}")
        ends, homes = [], []
        for _ in range(presses):  # each a page read and the table rebuilt
            ends.append(await timed(pilot, ["ctrl+end"],
                                    lambda: view.current is not None and view.current["id"] == 1))
            homes.append(await timed(pilot, ["ctrl+home"], lambda: view.current["id"] == max(
                r["id"] for r in view.runs)))
        print(f"app: ctrl+End (to the oldest):    {_median_ms(ends)}")
        print(f"app: ctrl+Home (to the newest):   {_median_ms(homes)}")
        await timed(pilot, ["space", "down"], lambda: len(train.overlays) == 1)
        t = await timed(pilot, ["space", "c"], lambda: type(app.screen).__name__ == "CompareScreen")
        print(f"app: space, c (compare of 2):     {t * 1000:.1f} ms")
        await timed(pilot, ["escape"], lambda: app.screen is app.main)
        rss = psutil.Process().memory_info().rss / 2**20
        print(f"app: RSS with the history open:   {rss:.0f} MB (this process: the app, MNIST "
              f"loaded, and the bench)")


def run(runs: int = 10_000, n_test: int = 500, directory: str | None = None,
        app: bool = True, cli: bool = True) -> None:
    """Build (or reuse) the big history and print the figures."""
    import asyncio
    import tempfile

    base = Path(directory or tempfile.mkdtemp(prefix="mnist-tui-history-"))
    base.mkdir(parents=True, exist_ok=True)
    path = base / f"runs-{runs}.sqlite"
    if not path.exists():
        t0 = time.perf_counter()
        build_history(path, runs=runs, n_test=n_test)
        print(f"built {path}: {runs} runs x 20 epochs with predictions of {n_test} test "
              f"samples, {path.stat().st_size / 2**20:.0f} MB in {time.perf_counter() - t0:.1f} s")
    else:
        print(f"reusing {path} ({path.stat().st_size / 2**20:.0f} MB)")
    measure_store(path)
    if app:
        measure_first_frame(path)
    if cli:
        measure_cli(path)
    if app:
        from ..core import data

        dataset = data.load()  # the real one: its memory is part of what the user's app holds
        asyncio.run(_measure_app(path, dataset))


if __name__ == "__main__":
    run(runs=int(sys.argv[1]) if len(sys.argv) > 1 else 10_000,
        directory=sys.argv[2] if len(sys.argv) > 2 else None)
