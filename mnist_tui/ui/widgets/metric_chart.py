"""MetricChart: a titled legend line over a plotext chart; keeps its series, redraws on demand.

plotext keeps state between builds, and Textual re-renders a chart on every resize without a
replot. Its log scale is not idempotent (a second build takes the log of values already
logged), so this chart never uses it: a log axis is drawn as log10(y) on a linear axis with
tick labels written here. Every axis gets round ticks (1-2-5 steps) and an explicit range.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widget import Widget
from textual_plotext import PlotextPlot

from ...core.render import axis_ticks, downsample, log_ticks, nice_ticks, tick_label

# Series colours as RGB, given to plotext and to the legend alike: plotext's named colours go
# through the terminal's palette and came out differently from the legend's (blue as purple).
PALETTE = {"blue": (80, 140, 255), "red": (240, 80, 70), "gray": (150, 150, 150),
           "green": (80, 200, 100), "cyan": (60, 210, 230), "magenta": (220, 100, 220),
           "yellow": (240, 200, 40), "white": (230, 230, 230), "faint": (95, 95, 95)}


def rich_color(name: str) -> str:
    r, g, b = PALETTE.get(name, PALETTE["gray"])
    return f"rgb({r},{g},{b})"


# Without colour every braille line looks alike: each series then gets its own marker,
# shown in the legend too. Taken in order of the chart's series.
PLAIN_MARKERS = ("•", "x", "+", "o", "*", "#", "%", "@")


@dataclass
class Series:
    xs: list[float]
    ys: list[float]
    color: str = "blue"
    faint: bool = False  # drawn first and dim, beneath the others (raw batch losses)
    label: str = ""  # legend text; the series name if empty
    unit: str = ""  # after the latest value in the legend ("0.38%")
    plain_marker: str = ""  # its marker without colour, if not its place in the list


class Legend(Widget):
    """One line of text; updating it repaints only this line (no layout pass)."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.text = Text()

    def set(self, text: Text) -> None:
        self.text = text
        self.refresh()

    def render(self) -> Text:
        return self.text


class MetricChart(Vertical):
    """Named series against epoch. `set_series` stores data; `replot` draws it once.

    The legend is a line of its own above the plot, because plotext's legend box sits in
    the top-left corner, which is exactly where falling loss curves start. `x_range` is set
    by the owner so that the charts of one tab share their x axis.
    """

    DEFAULT_CSS = """
    MetricChart { height: 1fr; }
    MetricChart > .chart-legend { height: 1; }
    MetricChart > PlotextPlot { height: 1fr; }
    """

    def __init__(self, title: str, ylabel: str, log_y: bool = False, xlabel: str = "epoch",
                 **kwargs) -> None:
        super().__init__(**kwargs)
        self.chart_xlabel = xlabel
        self.chart_title = title
        self.chart_ylabel = ylabel
        self.log_y = log_y
        self.series: dict[str, Series] = {}
        self.x_range: tuple[float, float] | None = None
        self.dirty = True
        self.plotted_points = 0  # handed to plotext at the last replot, after downsampling
        # Named x positions (0, 1, 2…), for axes that are categories (parallel coordinates).
        self.x_labels: tuple[str, ...] | None = None
        # A fixed legend, (text, colour, plain marker), instead of one entry per series:
        # for charts with a line per trial, where the colour is what the key explains.
        self.key: list[tuple[str, str, str]] | None = None
        self._size_drawn: tuple = ()  # (its size, its plot's) at the last replot

    def compose(self) -> ComposeResult:
        yield Legend(classes="chart-legend")
        yield PlotextPlot()

    @property
    def plot(self) -> PlotextPlot:
        return self.query_one(PlotextPlot)

    @property
    def plain(self) -> bool:
        """No colour: series are told apart by marker."""
        return bool(getattr(self.app, "no_color", False))

    def set_series(self, name: str, xs, ys, color: str = "blue", faint: bool = False,
                   label: str = "", unit: str = "", plain_marker: str = "") -> None:
        series = Series(list(xs), list(ys), color, faint, label, unit, plain_marker)
        if self.series.get(name) != series:  # a tab shown again redraws nothing that is drawn
            self.series[name] = series
            self.dirty = True

    def remove_series(self, name: str) -> None:
        if self.series.pop(name, None) is not None:
            self.dirty = True

    def set_x_range(self, lo: float, hi: float) -> None:
        if self.x_range != (lo, hi):
            self.x_range = (lo, hi)
            self.dirty = True

    def data_x_max(self) -> float:
        """The largest finite x of any series, or 0."""
        best = 0.0
        for s in self.series.values():
            xs = np.asarray(s.xs, float)
            xs = xs[np.isfinite(xs)]
            if len(xs):
                best = max(best, float(xs.max()))
        return best

    def on_resize(self) -> None:
        # Every widget of a tab being shown gets a Resize, its size changed or not: only a
        # new size (more or fewer columns: downsample and ticks again) needs a replot.
        if self._drawn_size() != self._size_drawn:
            self.dirty = True
            self.call_after_refresh(self.replot)

    def _drawn_size(self) -> tuple:
        return (self.size, self.plot.size)

    def marker(self, index: int, series: Series) -> str:
        if self.plain:
            return "·" if series.faint else (
                series.plain_marker or PLAIN_MARKERS[index % len(PLAIN_MARKERS)])
        return "braille"

    def replot(self) -> None:
        """Rebuild the plot from the stored series (only finite points, ~2 per column)."""
        if not self.dirty or not self.is_mounted:
            return
        self.dirty = False
        self._size_drawn = self._drawn_size()
        plot = self.plot
        plt = plot.plt
        plt.clear_data()
        plt.clear_figure()
        plt.xlabel(self.chart_xlabel)
        plt.ylabel(self.chart_ylabel)
        max_points = max(2 * plot.size.width, 20)
        legend = Text(f" {self.chart_title} ", style="bold")
        short = legend.copy()  # the same without the latest values, for narrow terminals
        self.plotted_points = 0
        drawn: list[tuple[np.ndarray, np.ndarray]] = []
        ordered = sorted(self.series.items(), key=lambda kv: not kv[1].faint)  # faint first
        solid = 0  # markers go to the solid series in order; faint ones all get "·"
        for name, s in ordered:
            index = solid
            solid += not s.faint
            x, y = downsample(np.asarray(s.xs, float), np.asarray(s.ys, float), max_points)
            if self.log_y:
                keep = y > 0
                x, y = x[keep], np.log10(y[keep])
            self.plotted_points += len(x)
            if not len(x):
                continue
            marker = self.marker(index, s)
            color = "faint" if s.faint else s.color
            plt.plot(x.tolist(), y.tolist(), marker=marker,
                     color=PALETTE.get(color, PALETTE["gray"]))
            drawn.append((x, y))
            sign = marker if self.plain else "━"
            style = rich_color(color)
            if self.key is not None:
                continue
            for text in (legend, short):
                text.append(f" {sign} {s.label or name}", style=style)
            if not s.faint:
                last = 10 ** y[-1] if self.log_y else y[-1]
                legend.append(f" {last:.3g}{s.unit}", style="dim")
        height = max(plot.size.height, 4)
        x_lo, x_hi = self.x_range or (0.0, 1.0)
        if drawn:
            x_hi = max(x_hi, max(float(x.max()) for x, _ in drawn))
        if x_hi <= x_lo:
            x_hi = x_lo + 1
        plt.xlim(x_lo, x_hi)
        if self.x_labels:
            plt.xticks(list(range(len(self.x_labels))), list(self.x_labels))
        else:
            xt = nice_ticks(x_lo, x_hi, max(2, min(8, plot.size.width // 10)))
            plt.xticks(xt, [tick_label(t) for t in xt])
        if self.key is not None and drawn:
            for text, color, plain_marker in self.key:
                for line in (legend, short):
                    line.append(f" {plain_marker if self.plain else '━'}{text}",
                                style=rich_color(color))
        if not drawn:
            legend.append(" waiting for the first batch", style="dim")
            plt.ylim(0, 1)
            plt.yticks([0, 1], ["", ""])
        else:
            lo = min(float(y.min()) for _, y in drawn)
            hi = max(float(y.max()) for _, y in drawn)
            max_y_ticks = max(2, min(6, height // 3))
            if self.log_y:
                if hi - lo < 0.05:  # nearly flat: show some range around it
                    lo, hi = lo - 0.05, hi + 0.05
                ticks = log_ticks(10**lo, 10**hi, max_y_ticks)
                plt.ylim(lo, hi)
                plt.yticks([float(np.log10(t)) for t in ticks], [tick_label(t) for t in ticks])
            else:  # widened to round ticks: never a lone tick (or none) on a short chart
                lo, hi, ticks = axis_ticks(lo, hi, max_y_ticks)
                plt.ylim(lo, hi)
                plt.yticks(ticks, [tick_label(t) for t in ticks])
        fits = legend.cell_len <= self.size.width
        self.query_one(Legend).set(legend if fits else short)
        plot.refresh()
