"""MetricChart: a plotext line chart that keeps its own series and redraws on demand."""

from __future__ import annotations

import numpy as np
from textual_plotext import PlotextPlot

from ..core.render import downsample


class MetricChart(PlotextPlot):
    """Named series against epoch. `set_series` stores data; `replot` draws it once."""

    def __init__(self, title: str, ylabel: str, log_y: bool = False, **kwargs) -> None:
        super().__init__(**kwargs)
        self.log_y = log_y
        self.chart_title = title
        self.chart_ylabel = ylabel
        self.series: dict[str, tuple[list[float], list[float]]] = {}
        self.series_colors: dict[str, str] = {}
        self.chart_ylim: tuple[float, float] | None = None
        self.dirty = True

    def set_series(self, name: str, xs, ys, color: str = "blue") -> None:
        self.series[name] = (list(xs), list(ys))
        self.series_colors[name] = color
        self.dirty = True

    def clear_series(self) -> None:
        self.series.clear()
        self.dirty = True

    def replot(self) -> None:
        """Rebuild the plot from the stored series (only finite points, ~2 per column)."""
        if not self.dirty:
            return
        self.dirty = False
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        plt.title(self.chart_title)
        plt.xlabel("epoch")
        plt.ylabel(self.chart_ylabel)
        max_points = max(2 * self.size.width, 20)
        drawn = False
        for name, (xs, ys) in self.series.items():
            x, y = downsample(np.asarray(xs, float), np.asarray(ys, float), max_points)
            if self.log_y:
                keep = y > 0
                x, y = x[keep], y[keep]
            if len(x):
                plt.plot(x.tolist(), y.tolist(), label=name, marker="braille",
                         color=self.series_colors[name])
                drawn = True
        if not drawn:
            plt.text("waiting for the first epoch", x=0.5, y=0.5, alignment="center")
            plt.xlim(0, 1)
            plt.ylim(0, 1)
        else:
            plt.yscale("log" if self.log_y else "linear")
            if self.chart_ylim:
                plt.ylim(*self.chart_ylim)
        self.refresh()
