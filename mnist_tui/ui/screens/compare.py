"""CompareScreen: the runs marked in the Runs tab, side by side (core.compare's result)."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from ...core.compare import change_words, compare
from ...core.render import config_value
from ..widgets.metric_chart import MetricChart

COLORS = ("cyan", "magenta", "yellow", "green", "red", "blue")


class CompareScreen(Screen):
    """What differs, each run's best and its epoch, the overlaid curves, the changed cells."""

    BINDINGS = [Binding("escape,c", "app.pop_screen", "Back")]
    AUTO_FOCUS = "#compare-text"  # PageDown, End and Down scroll it from the moment it opens
    DEFAULT_CSS = """
    CompareScreen Horizontal { height: 1fr; }
    CompareScreen #compare-text { width: 1fr; min-width: 38; padding: 0 1; }
    CompareScreen #compare-chart { width: 1fr; }
    CompareScreen.-narrow Horizontal { layout: vertical; }
    CompareScreen.-narrow #compare-text { height: auto; max-height: 60%; }
    CompareScreen.-narrow #compare-chart { height: 1fr; min-height: 10; width: 1fr; }
    """

    def __init__(self, runs: list[dict]) -> None:
        super().__init__()
        self.runs = runs
        self.result = compare(runs)

    def compose(self) -> ComposeResult:
        with Horizontal():
            with VerticalScroll(id="compare-text"):
                yield Static(self.describe(), id="compare-body")
            yield MetricChart("test accuracy (val in grey)", "%", id="compare-chart")
        yield Footer()

    def on_mount(self) -> None:
        chart = self.query_one(MetricChart)
        for i, run in enumerate(self.runs):
            color, e = COLORS[i % len(COLORS)], run["epochs"]
            for key, suffix in (("test_acc", ""), ("val_acc", " val")):
                pts = [(x, 100 * y) for x, y in zip(e["epoch"], e.get(key, []), strict=False)
                       if x is not None and y is not None]
                if pts:
                    chart.set_series(f"#{run['id']}{suffix}", [p[0] for p in pts],
                                     [p[1] for p in pts], color=color, faint=bool(suffix))
        xs = [x for r in self.runs for x in r["epochs"]["epoch"] if x is not None]
        if xs:
            chart.set_x_range(min(xs) - 1 if min(xs) > 0 else 0, max(xs))
        # The text first, the curves a frame later: plotext's build was half of this screen's
        # first frame (25-30 ms of 55-65 ms), and `c` shows what differs within 100 ms.
        chart.styles.visibility = "hidden"  # keeps its place: nothing moves when it shows
        self.call_after_refresh(self._show_chart)

    def _show_chart(self) -> None:
        chart = self.query_one(MetricChart)
        chart.replot()
        chart.styles.visibility = "visible"

    def describe(self) -> Text:
        r, t = self.result, Text()
        ids = r["runs"]
        t.append("Compare " + ", ".join(f"#{i}" for i in ids), style="bold")
        t.append(f"  (baseline #{ids[0]}; c or Esc: back)\n\n", style="dim")
        if r["differing_config"]:
            t.append("differs\n", style="bold")
            for k, values in r["differing_config"].items():
                t.append(f" {k}: " + "  ".join(f"#{i}={config_value(v)}" for i, v in zip(ids, values,
                                                                              strict=True)) + "\n")
        else:
            t.append("the same config in every run\n", style="bold")
        t.append("\nbest test (epoch) · best val · last\n", style="bold")
        for i, s in enumerate(r["summary"]):
            color = COLORS[i % len(COLORS)]
            best = "--" if s["best_test_acc"] is None else f"{s['best_test_acc']:.2%} ({s['best_epoch']})"
            val = "--" if s["best_val_acc"] is None else f"{s['best_val_acc']:.2%}"
            last = "--" if s["last_test_acc"] is None else f"{s['last_test_acc']:.2%}"
            t.append(f" #{s['id']}", style=f"bold {color}")
            t.append(f" {best} · {val} · {last}\n")
        dataset = self.runs[0]["config"].get("dataset", "mnist")
        for block in r["confusion"]:
            t.append(f"\n#{block['b']} vs #{block['a']}\n", style="bold")
            if not block["changes"]:
                t.append(" no difference in mistakes to show\n", style="dim")
            for c in block["changes"]:
                t.append(" " + change_words(c, block["a"], block["b"], dataset) + "\n")
        return t
