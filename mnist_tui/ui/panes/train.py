"""Tab 1, Train: the form and the buttons, the loss and accuracy curves, and a summary."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Static

from ...core.config import TrainConfig
from ...core.data import Dataset
from ...core.history import RunHistory, best_of
from ...core.render import ema, format_duration
from ..widgets.capped_input import CappedInput
from ..widgets.confusion_table import ConfusionTable
from ..widgets.digit_view import DigitView
from ..widgets.hyper_form import HyperForm
from ..widgets.metric_chart import MetricChart
from .base import Pane, share_x_range

OVERLAY_COLORS = ("cyan", "green", "magenta", "white")
# Loss smoothing steps for [ and ]: an EMA over every batch's loss, across epochs.
SMOOTHINGS = (0.0, 0.5, 0.8, 0.9, 0.95, 0.98, 0.99)
DEFAULT_SMOOTHING = 0.9


class TrainPane(Pane):
    """Set up a run, start and steer it, and watch its curves."""

    TAB_ID, TITLE = "train", "Train"
    DEFAULT_CSS = """
    TrainPane #left { width: 32; height: 1fr; padding: 0 1 0 0; }
    TrainPane #buttons { height: 1; }
    TrainPane #usage { height: 1; color: $text-muted; }
    TrainPane #buttons Button { margin: 0 1 0 0; min-width: 6; }
    TrainPane #pause { width: 8; }  /* "Resume" whole: a label set later does not widen it */
    TrainPane #summary { color: $text-muted; padding: 1 0 0 0; height: auto; }
    TrainPane #charts { width: 1fr; }
    TrainPane MetricChart { height: 1fr; }
    TrainPane #wide-side { display: none; width: 70; padding: 0 0 0 1; }
    TrainPane #wide-side ConfusionTable { height: 12; }
    TrainPane #side-digit { margin: 1 0 0 0; }
    """

    def __init__(self, number: int, dataset: Dataset, config: TrainConfig) -> None:
        super().__init__(number)
        self.dataset = dataset
        self.config = config  # of the run shown (for the summary)
        self.smoothing = DEFAULT_SMOOTHING
        self.overlays: dict[int, dict] = {}  # stored runs drawn over the curves, by run id
        self.ghost = None  # core.insight.Ghost: the history's fastest run to the target
        self.show_ghost = True  # g toggles it

    def compose(self) -> ComposeResult:
        with Horizontal():
            with Vertical(id="left"):
                yield HyperForm(self.config, id="form")
                with Horizontal(id="buttons"):
                    yield Button("Start", id="start", variant="success", compact=True,
                                 action="screen.start")
                    yield Button("Pause", id="pause", compact=True, action="screen.pause")
                    yield Button("Stop", id="stop", variant="error", compact=True,
                                 action="screen.stop")
                    yield Button("Quit", id="quit", compact=True, action="app.quit")
                # The run's CPU, memory and threads, the machine's load and free memory: in
                # the row above the race field, so it shows at 80x24 too (core/machine.py).
                usage = Static(id="usage")
                usage.tooltip = ("the run's process: CPU % of one core, resident memory, threads "
                                 "· the machine: 1-minute load, free memory")
                yield usage
                yield CappedInput(placeholder="r: race lr 0.3,0.1,0.03", id="race", compact=True,
                                  max_length=120,
                                  tooltip="Race one field over 2 to 4 values, from the form's "
                                  "config: e.g. 'lr 0.3,0.1,0.03' or 'optimizer sgd,adam'. "
                                  "Enter starts.")
                yield Static(id="summary")
            with Vertical(id="charts"):
                yield MetricChart("loss", "NLL (log)", log_y=True, id="loss-chart")
                yield MetricChart("accuracy", "% right", id="acc-chart")
            with Vertical(id="wide-side"):
                yield ConfusionTable(id="confusion-side")
                yield DigitView(id="side-digit")

    def on_mount(self) -> None:
        self.query_one("#side-digit", DigitView).show(None, None, None)

    def set_running(self, running: bool, paused: bool = False) -> None:
        """Pause and Stop work only while a run is going; the form greys what a run fixes."""
        self.query_one(HyperForm).set_training(running)
        for button_id in ("#pause", "#stop"):
            self.query_one(button_id, Button).disabled = not running
        self.query_one("#pause", Button).label = "Resume" if paused else "Pause"

    def set_usage(self, usage) -> None:
        """What the run costs the machine (a core.machine.Usage), or nothing. Called once a
        second: the line is only touched when it changes (an update lays the screen out again,
        and an idle dashboard repainted every second)."""
        line = "" if usage is None else usage.line()
        if line != getattr(self, "_usage_line", None):
            self._usage_line = line
            self.query_one("#usage", Static).update(line)

    def step_smoothing(self, step: int) -> float:
        """Move the loss smoothing one step along SMOOTHINGS; returns the new value."""
        i = min(range(len(SMOOTHINGS)), key=lambda k: abs(SMOOTHINGS[k] - self.smoothing))
        self.smoothing = SMOOTHINGS[max(0, min(len(SMOOTHINGS) - 1, i + step))]
        return self.smoothing

    def show(self, history: RunHistory) -> None:
        h = history.epoch_columns()
        loss = self.query_one("#loss-chart", MetricChart)
        acc = self.query_one("#acc-chart", MetricChart)
        xs, ys = history.batch_losses()
        loss.set_series("batch", xs, ys, faint=True)
        loss.set_series("smoothed", xs, ema(ys, self.smoothing), color="yellow",
                        label=f"EMA {self.smoothing:g}")
        loss.set_series("train", h["epoch"], h["train_loss"], color="blue")
        loss.set_series("test", h["epoch"], h["test_loss"], color="red")
        acc.set_series("train", h["epoch"], [100 * a for a in h["train_acc"]], color="blue")
        acc.set_series("test", h["epoch"], [100 * a for a in h["test_acc"]], color="red")
        x, extras = history.extra_series()
        if any(v == v for v in extras["val_acc"]):  # NaN != NaN: a run without a split
            acc.set_series("val", x, [100 * a for a in extras["val_acc"]], color="green")
        elif "val" in acc.series:
            acc.remove_series("val")
        g = self.ghost if self.show_ghost else None
        if g is not None:
            acc.set_series("ghost", [history.offset + e for e in g.epochs],
                           [100 * a for a in g.test_acc], faint=True,
                           label=f"ghost #{g.run_id}: {g.target:.0%} in {g.reached_seconds:.1f}s")
        elif "ghost" in acc.series:
            acc.remove_series("ghost")
        for i, (run_id, run) in enumerate(self.overlays.items()):
            color, e = OVERLAY_COLORS[i % len(OVERLAY_COLORS)], run["epochs"]
            loss.set_series(f"#{run_id}", *_known(e["epoch"], e["test_loss"]), color=color)
            xs, ys = _known(e["epoch"], e["test_acc"])
            acc.set_series(f"#{run_id}", xs, [100 * a for a in ys], color=color)
        for chart in (loss, acc):
            for name in [n for n in chart.series if n.startswith("#")]:
                if int(name[1:]) not in self.overlays:
                    chart.remove_series(name)
        share_x_range(history, [loss, acc])
        self._show_summary(h)
        last = history.last_epoch
        if last is not None:
            self.query_one("#confusion-side", ConfusionTable).update_matrix(last.confusion)
            i, ds = last.sample_indices[0], self.dataset
            self.query_one("#side-digit", DigitView).show(
                ds.test_images[i], last.test_proba[i], int(ds.test_labels[i]),
                caption=f"test #{i}, epoch {history.offset + last.epoch}")

    def _show_summary(self, h: dict[str, list[float]]) -> None:
        ds, n, val = self.dataset, self.config.hidden, self.config.val_split
        lines = [f"784-{n}-10 · {784 * n + n + 10 * n + 10:,} params",
                 f"{ds.n_train - val:,} train · {val:,} val · {ds.n_test:,} test" if val
                 else f"{ds.n_train:,} train · {ds.n_test:,} test"]
        best = best_of(h)  # from the same snapshot as the curves: the run may move meanwhile
        if best:
            lines.append(f"best test {best[0]:.2%} @ {int(best[1])}")
            lines.append(f"last epoch {h['seconds'][-1]:.2f}s · lr {h['lr'][-1]:.3g}")
        g = self.ghost if self.show_ghost else None
        if g is not None:
            from ...core.insight import time_to_target

            mine = time_to_target(h["test_acc"], h["seconds"], g.target)
            if mine:  # the left column is 31 wide: two short lines, never cut
                gap = abs(mine[1] - g.reached_seconds)
                lines.append(f"to {g.target:.0%}: you {short_time(mine[1])}, ghost "
                             f"{short_time(g.reached_seconds)}")
                lines.append(f"{short_time(gap)} {'ahead of' if mine[1] < g.reached_seconds else 'behind'} "
                             f"the ghost (#{g.run_id})")
            else:
                lines.append(f"ghost #{g.run_id}: {g.target:.0%} @ {g.reached_epoch} in "
                             f"{short_time(g.reached_seconds)}")
        self.query_one("#summary", Static).update("\n".join(lines))


def short_time(seconds: float) -> str:
    """'8.2s' under 10 s, '42s' under a minute, '2m03s' above: at most 5 characters."""
    if seconds < 9.95:
        return f"{seconds:.1f}s"
    return f"{seconds:.0f}s" if seconds < 59.5 else format_duration(seconds)


def _known(xs: list, ys: list) -> tuple[list, list]:
    """The points of a stored series with both values present (a damaged row has gaps)."""
    pairs = [(x, y) for x, y in zip(xs, ys, strict=True) if x is not None and y is not None]
    return [x for x, _ in pairs], [y for _, y in pairs]
