"""RaceScreen: 2 to 4 runs at once, differing in one field, overlaid live with a leaderboard.

Each racer is a run of the engine (its own process, one BLAS thread, the same seed and data
order) and a run of its own in the history. The screen redraws at most twice a second from the
racers' histories, which their reader threads fill.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from ...core.config import TrainConfig
from ...core.engine import Engine
from ...core.history import best_of
from ...core.machine import machine_line
from ...core.race import label
from ...core.render import ema
from ...core.session import Race, RunSession
from ..widgets.metric_chart import MetricChart
from ..widgets.status_bar import StatusBar, leave_words

COLORS = ("cyan", "magenta", "yellow", "green")


def race_keys(app) -> tuple[str, str]:
    """What q and D do on the race screen: (long, short) forms, in racers' words."""
    short, q, d = leave_words(app)
    if short.startswith("q: stop run"):
        short = "q: stop racers · D: detach"
        q, d = "quit, stopping the racers", "detach, the racers train on"
    return (f"q/D: {q}" if q == d else f"q: {q} · D: {d}"), short


def drawn_key(racers) -> tuple:
    """What the race screen last drew: each racer's history version and state. (A sum of
    them let two changes cancel out: a racer's end and four reports of another left its row
    at the last epoch but one, for good, while the status bar said the race was over.)"""
    return tuple((r.history.version, r.state) for r in racers)


RACER_WIDTH = 18  # columns for a racer's name in the leaderboard, its space included


class RaceScreen(Screen):
    """p: pause or resume all · x: stop all · space / d: pause / stop the racer selected."""

    AUTO_FOCUS = "#leaderboard"

    BINDINGS = [
        Binding("p", "pause_all", "Pause all"),
        Binding("x", "stop_all", "Stop all"),
        Binding("space", "pause_one", "Pause one", key_display="␣"),
        Binding("d", "stop_one", "Stop one"),
        Binding("escape", "leave", "Back"),
    ]
    DEFAULT_CSS = """
    RaceScreen #race-left { width: 66; }
    RaceScreen #leaderboard { height: auto; max-height: 8; }
    RaceScreen #race-help { height: auto; color: $text-muted; padding: 1 0 0 0; }
    RaceScreen #race-status { height: 1; background: $panel; }
    RaceScreen #race-charts { width: 1fr; }
    RaceScreen MetricChart { height: 1fr; }
    RaceScreen.-narrow Horizontal { layout: vertical; }
    RaceScreen.-narrow #race-left { width: 1fr; height: auto; }
    /* below 150 columns the leaderboard sits on top: the two charts go side by side, so each
       keeps its height (stacked, at 80x24 each had 2 plot rows) */
    RaceScreen.-narrow #race-charts { layout: horizontal; height: 1fr; }
    RaceScreen.-narrow #race-charts MetricChart { width: 1fr; height: 1fr; }
    RaceScreen.-narrow #race-help { padding: 0; }
    """

    def __init__(self, engine: Engine, configs: list[TrainConfig], field: str | None,
                 db_path=None, progress_interval: float = 0.2) -> None:
        super().__init__()
        self.engine, self.db_path, self.field = engine, db_path, field
        self.progress_interval = progress_interval
        self.race = Race(engine, configs, [label(c, field) for c in configs], db_path=db_path,
                         progress_interval=progress_interval)
        self.racers: list[RunSession] = list(self.race)
        self.racer_colors = {id(r): COLORS[i % len(COLORS)] for i, r in enumerate(self.racers)}
        self._drawn = -1

    def compose(self) -> ComposeResult:
        with Horizontal():
            with Vertical(id="race-left"):
                yield DataTable(cursor_type="row", id="leaderboard")
                yield Static(self._help(), id="race-help")
            with Vertical(id="race-charts"):
                yield MetricChart("test accuracy", "% right", id="race-acc")
                yield MetricChart("batch loss (EMA 0.9)", "NLL (log)", log_y=True, id="race-loss")
        yield StatusBar(id="race-status")  # the machine's load and memory; what q and D do
        yield Footer()

    def _help(self) -> str:
        what = f"racing {self.field}" if self.field else "racing the runs picked"
        return (f"{what}: same seed and data order; each racer is a process of its own (one "
                "BLAS thread) and a run in the history. p/x: all · ␣/d: the selected · Esc: "
                "back once over")

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.cell_padding = 0
        # Each racer's process: its speed, CPU, resident memory and threads (psutil).
        # The racer's name whole and a space after it, or cut with an ellipsis: cut bare, the
        # next column's digits read as its own ("batch-size=64" and ep 1 read "batch-size=61").
        name_width = min(max([len(r.label) for r in self.racers] + [5]) + 1, RACER_WIDTH)
        for name, width in (("", 2), ("racer", name_width), ("ep", 4), ("acc", 8), ("best", 8),
                            ("/s", 8), ("cpu", 5), ("rss", 6), ("thr", 4), ("state", 8)):
            table.add_column(name, width=width, key=name or "mark")
        for i, r in enumerate(self.racers):
            label = (r.label if len(r.label) < name_width
                     else r.label[:name_width - 2] + "…")
            table.add_row(Text("●", style=f"bold {self.racer_colors[id(r)]}"), label, "", "", "", "",
                          "", "", "", r.state, key=str(i))
            r.start()  # a racer whose process cannot start fails; the rest go on
            if r.error:
                self.notify(f"{r.label}: {r.error}", severity="error")
        self.set_interval(0.5, self.redraw)
        self.set_interval(1.0, self.show_status)
        self.show_status()

    def show_status(self) -> None:
        """The machine's load and free memory, and what q and D do now, once a second."""
        status = self.query_one("#race-status", StatusBar)
        status.set(state=("racing" if not self.over else "over"), note=machine_line(),
                   keys=race_keys(self.app))

    @property
    def over(self) -> bool:
        return self.race.over

    def redraw(self) -> None:
        version = drawn_key(self.racers)
        if version == self._drawn:
            return
        self._drawn = version
        table = self.query_one(DataTable)
        acc = self.query_one("#race-acc", MetricChart)
        loss = self.query_one("#race-loss", MetricChart)
        for i, r in enumerate(self.racers):
            h = r.history
            cols = h.epoch_columns()
            accs = cols["test_acc"]
            p = h.progress
            state = r.state
            table.update_cell(str(i), "ep", str(len(accs)))
            table.update_cell(str(i), "acc", f"{accs[-1]:7.2%}" if accs else "")
            best = best_of(cols)
            table.update_cell(str(i), "best", f"{best[0]:7.2%}" if best else "")
            table.update_cell(str(i), "/s", f"{p.samples_per_second:7,.0f}" if p else "")
            usage = r.usage() if r.going else None  # its process's CPU and memory (psutil)
            if usage is not None:
                table.update_cell(str(i), "cpu", f"{usage.cpu_percent:.0f}%")
                table.update_cell(str(i), "rss", f"{usage.rss_mb:.0f}M")
                table.update_cell(str(i), "thr", str(usage.threads))
            table.update_cell(str(i), "state", state)
            acc.set_series(r.label, cols["epoch"], [100 * a for a in accs], color=self.racer_colors[id(r)])
            xs, ys = h.batch_losses()
            if len(ys):
                loss.set_series(r.label, xs, ema(ys, 0.9), color=self.racer_colors[id(r)])
        top = max((r.config.epochs for r in self.racers), default=1)
        for chart in (acc, loss):
            chart.set_x_range(0, top)
            chart.replot()
        if self.over:
            self.query_one("#race-help", Static).update(
                "the race is over: Esc goes back; the racers are in the Runs tab (8), where "
                "c compares them")

    def _selected(self) -> RunSession | None:
        row = self.query_one(DataTable).cursor_row
        return self.racers[row] if 0 <= row < len(self.racers) else None

    def action_pause_all(self) -> None:
        going = [r for r in self.racers if r.going]
        if going and all(r.paused for r in going):
            self.race.resume_all()
        else:
            self.race.pause_all()
        self._drawn = -1
        self.redraw()

    def action_pause_one(self) -> None:
        r = self._selected()
        if r is not None:
            r.toggle_pause()
            self._drawn = -1
            self.redraw()

    def action_stop_all(self) -> None:
        self.race.stop_all()

    def action_stop_one(self) -> None:
        r = self._selected()
        if r is not None:
            r.stop()

    def action_leave(self) -> None:
        if not self.over:
            self.notify("The race is still running: x stops it, then Esc goes back.",
                        severity="warning")
            return
        if self.app.screen is self:  # pop_screen pops the top one, whichever it is
            self.app.pop_screen()
