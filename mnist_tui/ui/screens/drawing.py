"""What the main screen draws from the run's history: the shown pane on a timer (the others
catch up when shown), the status bar's progress and what q and D do now, the run's cost to the
machine."""

from __future__ import annotations

from textual.widgets import TabbedContent

from ..panes import PANES, TABS, TrainPane
from ..widgets.status_bar import leave_line

CHART_FPS = 2  # redraws of the shown pane per second at most: cheap over SSH and beside training


class Drawing:
    """MainScreen's drawing (a mixin: MainScreen holds the state and sets the timers)."""

    def redraw(self) -> None:
        """Redraw the pane on screen if the run moved on. The others catch up when shown, so
        a fast run (an epoch every tick) costs the UI one pane, not eight."""
        history = self.history
        if history.version == self._drawn_version:
            return
        self._drawn_version = history.version
        active = self._found(TabbedContent).active
        if active in TABS:
            self._found(f"#{active}").show(history)

    def show_leave_keys(self) -> None:
        """What q and D do now, at the status bar's right end (also once a second: a sweep or
        a race may have started or ended meanwhile)."""
        keys = leave_line(self.app)
        if keys != self.status.keys:
            self.status.set(keys=keys)

    def _show_usage(self) -> None:
        """The run's cost to the machine, once a second, while it goes (core/machine.py)."""
        self.show_leave_keys()
        if self.session is not None and self.is_attached:
            going = self.session.going
            self.pane(TrainPane).set_usage(self.session.usage() if going else None)

    def _show_progress(self) -> None:
        """The status bar, from the latest progress report and epoch."""
        h, p, e = self.history, self.history.progress, self.history.last_epoch
        if p is not None:
            done = (p.epoch - 1 + p.batch / p.n_batches) / p.epochs
            self.status.set(epoch=h.offset + p.epoch, fraction=p.batch / p.n_batches,
                            rate=p.samples_per_second, elapsed=p.elapsed,
                            eta=p.elapsed * (1 - done) / done if done > 0 else None,
                            **({"note": ""} if self.status.note == "starting…" else {}))
        if e is not None and (p is None or (p.epoch, p.batch) == (e.epoch, p.n_batches)):
            self.status.set(note=f"test acc {e.test_acc:.2%}  loss {e.test_loss:.3f}")

    def show_all(self) -> None:
        with self.app.batch_update():
            for kind in PANES:
                self.pane(kind).show(self.history)

    def freeze_timings(self, epoch_seconds: float, rate: float, elapsed: float) -> None:
        """Show fixed timings instead of measured ones (for screenshots that must not vary)."""
        with self.history.lock:
            self.history.epochs["seconds"] = [epoch_seconds] * len(self.history.epochs["seconds"])
        self.status.set(rate=rate, elapsed=elapsed)
        self.show_all()
