"""Tab 0, Calib: is the network as sure as it is right? (core/calibration.py)

Left, the reliability diagram of the latest epoch: the test samples in 10 confidence bins, each
bin's mean confidence against its accuracy; a calibrated network sits on the diagonal. Right,
the expected calibration error (ECE) of every epoch. `t` fits a temperature on the run's
validation split (a run needs --val-split) and draws the diagram again after it.
"""

from __future__ import annotations

import numpy as np
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Button, Static

from ...core import calibration
from ...core.history import RunHistory
from ...core.train import split_indices
from ..widgets.metric_chart import MetricChart
from .base import Pane


class CalibrationPane(Pane):
    TAB_ID, TITLE, FOCUS = "calib", "Calib", "#calib-fit"
    DEFAULT_CSS = """
    CalibrationPane #calib-charts { height: 1fr; }
    CalibrationPane MetricChart { width: 1fr; height: 1fr; }
    CalibrationPane #calib-bottom { height: auto; }
    CalibrationPane #calib-fit { margin: 0 1 0 0; min-width: 10; }
    CalibrationPane #calib-text { width: 1fr; height: auto; color: $text-muted; }
    """
    BINDINGS = [
        Binding("t", "fit", "Fit temperature"),
        Binding("left", "epoch(-1)", "Prev epoch", key_display="←"),
        Binding("right", "epoch(1)", "Next epoch", key_display="→"),
    ]

    def __init__(self, number: int) -> None:
        super().__init__(number)
        self._shown = None
        self.fitted: calibration.Calibration | None = None
        self._fitted_for = None  # the Weights the temperature was fitted to
        self._fitted_epoch: int | None = None  # and the epoch they are of
        self.chosen: int | None = None  # index into the run's epochs; None follows the latest
        self._history: RunHistory | None = None

    def compose(self) -> ComposeResult:
        with Horizontal(id="calib-charts"):
            yield MetricChart("reliability", "accuracy %", xlabel="confidence %",
                              id="reliability-chart")
            yield MetricChart("ECE", "%", id="ece-chart")
        with Horizontal(id="calib-bottom"):
            yield Button("Fit T (t)", id="calib-fit", compact=True, action="fit_here")
            yield Static("", id="calib-text")

    def show(self, history: RunHistory) -> None:
        self._history = history
        ev = history.last_epoch
        rel = self.query_one("#reliability-chart", MetricChart)
        ece = self.query_one("#ece-chart", MetricChart)
        series = history.reliability_series()
        if series:
            i = len(series) - 1 if self.chosen is None else min(self.chosen, len(series) - 1)
            epoch, bins = series[i]
            conf, acc, count = bins
            keep = count > 0
            rel.set_series("perfect", [0, 100], [0, 100], faint=True, label="ideal")
            rel.set_series("now", 100 * conf[keep], 100 * acc[keep], color="red",
                           label=f"epoch {epoch}")
            x, extras = history.extra_series()
            ece.set_series("ece", x, [100 * v for v in extras["ece"]], color="yellow",
                           label="test ECE", unit="%")
            if self.fitted is not None and self._fitted_for is not history.weights:
                rel.remove_series("fitted")  # an old fit, for other weights
                self.fitted = None
            # A fit belongs to the weights it was fitted to: the latest epoch's. Browsing to
            # another epoch shows that epoch alone, and says where the fit is.
            fit_here = self.fitted is not None and epoch == self._fitted_epoch
            if fit_here:
                a = self.fitted.after
                keep_a = a.count > 0
                rel.set_series("fitted", 100 * a.confidence[keep_a], 100 * a.accuracy[keep_a],
                               color="green", label=f"T={self.fitted.temperature:.2f}")
            else:
                rel.remove_series("fitted")
            if ev is not self._shown or self.chosen is not None:
                self._shown = ev
            self._describe(calibration.Reliability(conf, acc, count.astype(int),
                                                   calibration.ece_of_bins(conf, acc, count)),
                           epoch, len(series), fit_here)
        else:
            for chart in (rel, ece):
                for name in list(chart.series):
                    chart.remove_series(name)
            self._describe(None)
        rel.set_x_range(0, 100)
        ece.set_x_range(0, max(1.0, ece.data_x_max(), float(history.planned)))
        for chart in (rel, ece):
            chart.replot()

    def action_epoch(self, step: int) -> None:
        if self._history is None:
            return
        n = len(self._history.reliability_series())
        if not n:
            return
        i = n - 1 if self.chosen is None else self.chosen
        i = max(0, min(n - 1, i + step))
        self.chosen = None if i == n - 1 else i  # at the end it follows new epochs again
        self.show(self._history)

    def _describe(self, r, epoch: int = 0, epochs: int = 0, fit_here: bool = False) -> None:
        text = self.query_one("#calib-text", Static)
        if r is None:
            text.update("no epoch yet: train, and each epoch's calibration shows here")
            return
        busiest = int(np.argmax(r.count))
        words = (f"epoch {epoch} (←/→ of {epochs}): ECE {r.ece:.2%} (mean |accuracy − "
                 f"confidence| over 10 bins, weighted). Most samples ({r.count[busiest]:,}) "
                 f"are {busiest * 10}–{busiest * 10 + 10}% sure, and {r.accuracy[busiest]:.1%} "
                 "right.")
        if self.fitted is not None and fit_here:
            c = self.fitted
            words += (f"\nT = {c.temperature:.3f}, fitted on {c.val_samples:,} validation "
                      f"samples: validation ECE {c.val_ece_before:.2%} → {c.val_ece_after:.2%}, "
                      f"test ECE {c.before.ece:.2%} → {c.after.ece:.2%}")
            if c.val_ece_after > c.val_ece_before:
                words += (". ECE got worse: T minimises the validation NLL (log loss), not ECE, "
                          "and with few errors the two can disagree.")
        elif self.fitted is not None:
            words += (f"\nthe temperature was fitted to epoch {self._fitted_epoch}'s weights: "
                      "→ goes back to it")
        text.update(words)

    def action_fit_here(self) -> None:
        self.action_fit()

    def action_fit(self) -> None:
        main = self.screen
        config, model = getattr(main, "run_config", None), getattr(main, "model", None)
        if model is None or main.history.last_epoch is None:
            self.app.notify("Train at least one epoch first.", severity="warning")
            return
        if not config.val_split:
            self.app.notify("A temperature is fitted on a validation split, and this run has "
                            "none: set 'val split' in the form (e.g. 5000), then train again.",
                            title="No validation split", severity="warning", timeout=8)
            return
        self.query_one("#calib-text", Static).update("fitting a temperature…")
        self._fit(model, config, main.history.weights)

    @work(thread=True, exclusive=True, group="calibration", exit_on_error=False)
    def _fit(self, model, config, weights) -> None:
        ds = self.app.dataset
        _, val_idx, _ = split_indices(ds.n_train, config.val_split, config.seed)
        result = calibration.calibrate(model, ds.train_images[val_idx], ds.train_labels[val_idx],
                                       ds.test_images, ds.test_labels)
        self.app.call_from_thread(self._fitted, result, weights)

    def _fitted(self, result: calibration.Calibration, weights) -> None:
        if not self.is_attached:
            return
        self.fitted, self._fitted_for = result, weights
        series = self._history.reliability_series() if self._history is not None else []
        self._fitted_epoch = series[-1][0] if series else None  # fitted to the latest weights
        if self._history is not None:
            self.show(self._history)

