"""MetricChart: a titled legend line over a plotext chart; keeps its series, redraws on demand."""

from __future__ import annotations

import numpy as np
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widget import Widget
from textual_plotext import PlotextPlot

from ..core.render import downsample

# plotext colour name -> Rich colour name, for the legend line
LEGEND_COLORS = {"blue": "blue", "red": "red", "gray": "grey62", "green": "green", "cyan": "cyan",
                 "magenta": "magenta", "yellow": "yellow"}


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
    the top-left corner, which is exactly where falling loss curves start.
    """

    DEFAULT_CSS = """
    MetricChart { height: 1fr; }
    MetricChart > .chart-legend { height: 1; }
    MetricChart > PlotextPlot { height: 1fr; }
    """

    def __init__(self, title: str, ylabel: str, log_y: bool = False, **kwargs) -> None:
        super().__init__(**kwargs)
        self.chart_title = title
        self.chart_ylabel = ylabel
        self.log_y = log_y
        self.series: dict[str, tuple[list[float], list[float]]] = {}
        self.series_colors: dict[str, str] = {}
        self.dirty = True
        self.plotted_points = 0  # handed to plotext at the last replot, after downsampling

    def compose(self) -> ComposeResult:
        yield Legend(classes="chart-legend")
        yield PlotextPlot()

    @property
    def plot(self) -> PlotextPlot:
        return self.query_one(PlotextPlot)

    def set_series(self, name: str, xs, ys, color: str = "blue") -> None:
        self.series[name] = (list(xs), list(ys))
        self.series_colors[name] = color
        self.dirty = True

    def remove_series(self, name: str) -> None:
        if self.series.pop(name, None) is not None:
            self.dirty = True

    def replot(self) -> None:
        """Rebuild the plot from the stored series (only finite points, ~2 per column)."""
        if not self.dirty or not self.is_mounted:
            return
        self.dirty = False
        plot = self.plot
        plt = plot.plt
        plt.clear_data()
        plt.clear_figure()
        plt.xlabel("epoch")
        plt.ylabel(self.chart_ylabel)
        max_points = max(2 * plot.size.width, 20)
        legend = Text(f" {self.chart_title} ", style="bold")
        short = legend.copy()  # the same without the latest values, for narrow terminals
        drawn = False
        self.plotted_points = 0
        for name, (xs, ys) in self.series.items():
            x, y = downsample(np.asarray(xs, float), np.asarray(ys, float), max_points)
            if self.log_y:
                keep = y > 0
                x, y = x[keep], y[keep]
            self.plotted_points += len(x)
            if len(x):
                color = self.series_colors[name]
                plt.plot(x.tolist(), y.tolist(), marker="braille", color=color)
                for text in (legend, short):
                    text.append(f" ━ {name}", style=LEGEND_COLORS.get(color, color))
                legend.append(f" {y[-1]:.3g}", style="dim")
                drawn = True
        if not drawn:
            legend.append(" waiting for the first batch", style="dim")
            plt.xlim(0, 1)
            plt.ylim(0, 1)
        else:
            plt.yscale("log" if self.log_y else "linear")
        fits = legend.cell_len <= self.size.width
        self.query_one(Legend).set(legend if fits else short)
        plot.refresh()
