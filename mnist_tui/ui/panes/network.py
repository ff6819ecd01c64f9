"""Tab 5, Network: the seven backward steps with live shapes, lr, norms and dead ReLUs."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical

from ...core.history import RunHistory
from ..widgets.metric_chart import MetricChart
from ..widgets.steps_panel import StepsPanel
from .base import Pane, share_x_range


class NetworkPane(Pane):
    TAB_ID, TITLE = "network", "Network"
    DEFAULT_CSS = """
    NetworkPane #steps { width: 52; padding: 0 1; }  /* dW1 at m=128, n=800 fits whole */
    NetworkPane #net-charts { width: 1fr; }
    NetworkPane MetricChart { height: 1fr; }
    """

    def __init__(self, number: int, batch_size: int, hidden: int) -> None:
        super().__init__(number)
        self.shape = (batch_size, hidden)

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield StepsPanel(id="steps")
            with Vertical(id="net-charts"):
                yield MetricChart("learning rate", "lr", id="lr-chart")
                yield MetricChart("norms", "log", log_y=True, id="norm-chart")
                yield MetricChart("dead ReLUs", "%", id="dead-chart")

    def on_mount(self) -> None:
        self.set_shape(*self.shape)

    def set_shape(self, batch_size: int, hidden: int) -> None:
        """The m and n of the run to come or going, shown in the steps at once."""
        self.query_one(StepsPanel).set(m=batch_size, n=hidden)

    def show(self, history: RunHistory) -> None:
        steps = self.query_one(StepsPanel)
        if history.progress is not None:
            p = history.progress
            steps.set(m=p.batch_size or None, grad_norms=p.grad_norms)
        if history.last_epoch is not None:
            steps.set(dead=history.last_epoch.dead_fraction)
        b = history.batch_series()
        lr = self.query_one("#lr-chart", MetricChart)
        if b["x"]:
            lr.set_series("lr", b["x"], b["lr"], color="green")
        else:  # no batches this session (a loaded checkpoint): the per-epoch lr
            cols = history.epoch_columns()
            lr.set_series("lr", cols["epoch"], cols["lr"], color="green")
        norms = self.query_one("#norm-chart", MetricChart)
        norms.set_series("dW1", b["x"], b["dW1"], color="red")
        norms.set_series("dW2", b["x"], b["dW2"], color="gray")
        x, extras = history.extra_series()
        norms.set_series("W1", x, extras["w1_norm"], color="blue")
        norms.set_series("W2", x, extras["w2_norm"], color="cyan")
        dead = self.query_one("#dead-chart", MetricChart)
        dead.set_series("dead", x, extras["dead"], color="red")
        share_x_range(history, [lr, norms, dead])
