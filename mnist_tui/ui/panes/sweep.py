"""Tab 9, Sweep: an Optuna study from a form; live trials, best so far, parallel coordinates,
parameter importances. The search itself is core.sweep's (Optuna's TPE and MedianPruner)."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import Button, DataTable, Input, Label, Static

from ...core import sweep as sw
from ...core.render import plural
from ..widgets.capped_input import CappedInput
from ..widgets.metric_chart import MetricChart
from .base import Pane

FIELDS = (  # (id, label, default, what it is)
    ("lr", "lr", "0.001:0.5", "learning rate range LOW:HIGH, log-uniform"),
    ("hidden", "hidden n", "64,128,256", "hidden units to try, comma-separated"),
    ("batch", "batch", "32,64,128", "batch sizes to try"),
    ("momentum", "momentum", "0:0.95", "momentum range LOW:HIGH"),
    ("decay", "decay", "0:0.001", "weight decay range LOW:HIGH"),
    ("optimizer", "optimizer", "momentum,adam", "optimizers to try"),
    ("trials", "trials", "30", "finished trials wanted"),
    ("workers", "workers", "2", "processes at once"),
    ("epochs", "epochs", "4", "epochs per trial"),
    ("val", "val split", "10000", "training samples held out to score trials"),
    ("study", "study", "mnist-tui", "study name (the same name resumes it)"),
)
AXES = ("lr", "hidden", "batch_size", "momentum", "weight_decay", "optimizer")
AXIS_NAMES = ("lr", "n", "b", "m", "wd", "opt")
FORM_NAMES = {"hidden": "hidden", "batch_size": "batch", "weight_decay": "decay"}  # as in FIELDS
# The trials' thirds by validation accuracy: (key, colour, marker without colour), worst first.
THIRDS = (("worst", "red", "x"), ("mid", "yellow", "+"), ("best", "green", "*"))


@dataclass
class SweepUpdate(Message):
    rows: list
    importances: dict
    done: bool = False
    error: str | None = None
    stopped: bool = False  # ended by Stop: its running trials were recorded as stopped


READY = "Optuna's TPE sampler and median pruner; trials are scored on validation accuracy only."


def whole(name: str, text: str) -> int:
    if not (text.strip().isascii() and text.strip().isdigit()) or int(text) < 1:
        raise sw.SweepError(f"{name} must be a whole number >= 1 (got {text!r})")
    return int(text)


CHECKS = {  # each form field's own check, as _plan applies them on Start
    "lr": lambda t: sw.parse_range("lr", t), "hidden": lambda t: sw.parse_choices("hidden", t),
    "batch": lambda t: sw.parse_choices("batch_size", t),
    "momentum": lambda t: sw.parse_range("momentum", t),
    "decay": lambda t: sw.parse_range("weight_decay", t),
    "optimizer": lambda t: sw.parse_choices("optimizer", t),
    "trials": lambda t: whole("trials", t), "workers": lambda t: whole("workers", t),
    "epochs": lambda t: whole("epochs", t), "val": lambda t: whole("val split", t),
}


class SweepFields(VerticalScroll):
    """The sweep's form: Esc leaves it for the trials table (the footer says so, as in the
    main form), Enter in a field starts the sweep."""

    BINDINGS = [Binding("escape", "leave", "Leave form")]

    def action_leave(self) -> None:
        self.app.set_focus(self.screen.query_one("#sw-table"))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        for pane in self.ancestors:
            if isinstance(pane, SweepPane):
                pane.start()
                return


class SweepPane(Pane):
    TAB_ID, TITLE, FOCUS = "sweep", "Sweep", "#sw-table"  # not a field: q and the tab keys work
    DEFAULT_CSS = """
    SweepPane #sw-left { width: 34; padding: 0 1 0 0; }
    SweepPane .sw-row { height: 1; }
    SweepPane .sw-row Label { width: 10; }
    SweepPane .sw-row Input { width: 1fr; }
    SweepPane #sw-buttons { height: 1; margin: 1 0 0 0; }
    SweepPane #sw-buttons Button { margin: 0 1 0 0; min-width: 8; }
    SweepPane #sw-message { height: auto; color: $text-muted; }
    SweepPane #sw-message.-error { color: $error; }
    SweepPane #sw-table { height: 1fr; min-height: 4; }
    SweepPane #sw-charts { height: 12; }
    SweepPane #sw-charts MetricChart { width: 2fr; }
    SweepPane #sw-charts #sw-parallel { width: 3fr; }
    SweepPane #sw-importance { height: auto; max-height: 7; }
    """

    def __init__(self, number: int, engine, db_path=None) -> None:
        super().__init__(number)
        self.engine, self.db_path = engine, db_path
        self.stop_event: threading.Event | None = None
        self.rows: list[sw.TrialRow] = []
        self._importances: dict = {}
        self._importances_width = 0  # the box's width they were written for

    def compose(self) -> ComposeResult:
        with Horizontal():
            # can_focus=False: it scrolls with its fields, and is no invisible Tab stop
            with SweepFields(id="sw-left", can_focus=False):
                for key, label, default, help_text in FIELDS:
                    with Horizontal(classes="sw-row"):
                        yield Label(label)
                        yield CappedInput(default, id=f"sw-{key}", compact=True, max_length=100,
                                          tooltip=help_text)
                with Horizontal(id="sw-buttons"):
                    yield Button("Start sweep", id="sweep-start", variant="success", compact=True)
                    yield Button("Stop", id="sweep-stop", variant="error", compact=True,
                                 disabled=True)
                yield Static(READY, id="sw-message")
            with Vertical():
                yield DataTable(cursor_type="row", id="sw-table")
                with Horizontal(id="sw-charts"):
                    yield MetricChart("best val", "%", xlabel="trial", id="sw-best")
                    yield MetricChart("parallel", "scaled", xlabel="", id="sw-parallel")
                yield Static("", id="sw-importance")

    def on_mount(self) -> None:
        parallel = self.query_one("#sw-parallel", MetricChart)
        parallel.x_labels = AXIS_NAMES  # the key under each axis, at every width
        parallel.key = list(THIRDS[::-1])
        table = self.query_one("#sw-table", DataTable)
        table.cell_padding = 0
        for name, width in (("#", 4), ("state", 9), ("val", 8), ("test", 8), ("ep", 3),
                            ("params", 60)):
            table.add_column(name, width=width, key=name)

    def on_unmount(self) -> None:
        if self.stop_event is not None:  # the app is closing: end the workers with it
            self.stop_event.set()

    # --- starting and stopping ----------------------------------------------------------------

    def _plan(self) -> sw.Sweep:
        v = {key: self.query_one(f"#sw-{key}", Input).value for key, *_ in FIELDS}

        space = sw.Space(
            lr=sw.parse_range("lr", v["lr"]), hidden=sw.parse_choices("hidden", v["hidden"]),
            batch_size=sw.parse_choices("batch_size", v["batch"]),
            momentum=sw.parse_range("momentum", v["momentum"]),
            weight_decay=sw.parse_range("weight_decay", v["decay"]),
            optimizer=sw.parse_choices("optimizer", v["optimizer"]))
        return sw.Sweep(space=space, trials=whole("trials", v["trials"]),
                        workers=min(whole("workers", v["workers"]), 8),
                        epochs=whole("epochs", v["epochs"]), val_split=whole("val split", v["val"]),
                        study=v["study"].strip() or "mnist-tui", dataset=self.engine.dataset.name,
                        db_path=str(self.db_path) if self.db_path else None)

    def on_input_changed(self, event: Input.Changed) -> None:
        """Each field is checked as it is typed, as the main form's are: the line under the
        buttons says what is wrong with the field being edited, and the field is marked."""
        key = (event.input.id or "").removeprefix("sw-")
        if key not in CHECKS:
            return
        event.stop()
        try:
            CHECKS[key](event.value)
        except sw.SweepError as e:
            event.input.add_class("-invalid")
            self._say(str(e), error=True)
            return
        event.input.remove_class("-invalid")
        bad = [i for i in self.query(".sw-row Input").results(Input) if i.has_class("-invalid")]
        if bad:
            try:
                CHECKS[bad[0].id.removeprefix("sw-")](bad[0].value)
            except sw.SweepError as e:
                self._say(str(e), error=True)
        elif self.query_one("#sw-message", Static).has_class("-error"):
            self._say(READY)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "sweep-start":
            self.start()
        elif event.button.id == "sweep-stop" and self.stop_event is not None:
            self.stop_event.set()
            self.query_one("#sweep-stop", Button).disabled = True
            self._focus_table()
            self._say("stopping: the running trials are being recorded as stopped…")

    def _focus_table(self) -> None:
        """A button that is disabled while focused leaves the focus nowhere, and the letters
        typed next went to the app's keys (s started a run, p paused it): the trials table
        takes it, where the tab's keys and the footer's work."""
        self.app.set_focus(self.query_one("#sw-table", DataTable))

    def start(self) -> None:
        if self.stop_event is not None:
            return
        try:
            plan = self._plan()
        except sw.SweepError as e:
            self._say(str(e), error=True)
            return
        ds = self.engine.dataset
        reason = sw.check(plan, ds.n_train, ds.n_test)
        if reason:
            self._say(reason, error=True)
            return
        self.stop_event = threading.Event()
        self.query_one("#sweep-start", Button).disabled = True
        self.query_one("#sweep-stop", Button).disabled = False
        self._focus_table()
        self._say(f"study {plan.study!r}: {plural(plan.trials, 'trial')}, "
                  f"{plural(plan.workers, 'worker')}, {plural(plan.epochs, 'epoch')} each…")
        self._run(plan, self.stop_event)

    @work(thread=True, exclusive=True, group="sweep", exit_on_error=False)
    def _run(self, plan: sw.Sweep, stop: threading.Event) -> None:
        study = None

        def update(rows) -> None:
            self.post_message(SweepUpdate(rows, sw.importances(study) if study else {}))

        try:
            study, plan = sw.open_study(plan)
            study = sw.run(plan, on_update=update, stop=stop, shared=self.engine.shared)
            self.post_message(SweepUpdate(sw.rows(study), sw.importances(study), done=True,
                                          stopped=stop.is_set()))
        except sw.SweepError as e:
            self.post_message(SweepUpdate([], {}, done=True, error=str(e)))
        except Exception as e:  # a sweep that breaks is a message, not a crash
            self.post_message(SweepUpdate(self.rows, {}, done=True,
                                          error=f"{type(e).__name__}: {e}"))

    def on_sweep_update(self, message: SweepUpdate) -> None:
        if message.rows:
            self.rows = message.rows
            self._show_rows(message.rows)
        if message.importances:
            self._show_importances(message.importances)
        if message.done:
            self.stop_event = None
            self.query_one("#sweep-start", Button).disabled = False
            self.query_one("#sweep-stop", Button).disabled = True
            if message.error:
                self._say(message.error, error=True)
            elif message.stopped:
                stopped = sum(r.state == "stopped" for r in self.rows)
                self._say(f"stopped: {stopped} running trial{'s' * (stopped != 1)} recorded as "
                          "stopped and queued again; Start with the same study resumes it.")
            else:
                finished = [r for r in self.rows if r.state == "complete"]
                best = max(finished, key=lambda r: r.val_acc or 0, default=None)
                pruned = sum(r.state == "pruned" for r in self.rows)
                self._say("done" + (f": best trial {best.number}, val {best.val_acc:.2%}, test "
                                    f"{best.test_acc:.2%}" if best else "") +
                          f"; {pruned} pruned. Its trials are runs in the Runs tab.")

    def _say(self, text: str, error: bool = False) -> None:
        message = self.query_one("#sw-message", Static)
        message.update(text)
        message.set_class(error, "-error")

    # --- showing ------------------------------------------------------------------------------

    def _show_rows(self, rows: list[sw.TrialRow]) -> None:
        table = self.query_one("#sw-table", DataTable)
        table.clear()
        for r in sorted(rows, key=lambda r: -r.number):
            table.add_row(str(r.number), r.state,
                          "" if r.val_acc is None else f"{r.val_acc:.2%}",
                          "" if r.test_acc is None else f"{r.test_acc:.2%}", str(r.epochs),
                          sw.params_words(r.params), key=str(r.number))
        # best so far, in trial order
        done = sorted((r for r in rows if r.val_acc is not None and r.state == "complete"),
                      key=lambda r: r.number)
        xs, ys, best = [], [], 0.0
        for r in done:
            best = max(best, r.val_acc)
            xs.append(r.number)
            ys.append(100 * best)
        chart = self.query_one("#sw-best", MetricChart)
        chart.set_series("best", xs, ys, color="green")
        if xs:
            chart.set_x_range(0, max(xs) + 1)
        chart.replot()
        self._show_parallel(rows)

    def _show_parallel(self, rows: list[sw.TrialRow]) -> None:
        """One line per finished trial across the parameter axes (each scaled to 0..1),
        coloured by its validation accuracy: green the best third, yellow, red the worst."""
        chart = self.query_one("#sw-parallel", MetricChart)
        for name in list(chart.series):
            chart.remove_series(name)
        finished = [r for r in rows if r.val_acc is not None and r.params]
        if not finished:
            chart.replot()
            return
        lows, highs = {}, {}
        for axis in AXES:
            values = [_axis_value(axis, r.params.get(axis)) for r in finished]
            values = [v for v in values if v is not None]
            lows[axis], highs[axis] = (min(values), max(values)) if values else (0.0, 1.0)
        ranked = sorted(finished, key=lambda r: r.val_acc)
        for rank, r in enumerate(ranked):
            third = 3 * rank // max(1, len(ranked))
            _, color, marker = THIRDS[min(2, third)]
            ys = []
            for axis in AXES:
                v = _axis_value(axis, r.params.get(axis))
                span = highs[axis] - lows[axis]
                ys.append(0.5 if v is None or span == 0 else (v - lows[axis]) / span)
            chart.set_series(f"t{r.number}", list(range(len(AXES))), ys, color=color,
                             plain_marker=marker)
        chart.set_x_range(0, len(AXES) - 1)
        chart.replot()

    def _show_importances(self, importances: dict) -> None:
        """Two columns, so six parameters take three rows (all of them fit at 80x24), named
        as in the form; a bar only for what rounds above 0 (a 0.00 gets none)."""
        box = self.query_one("#sw-importance", Static)
        width = box.size.width or 46
        if (importances, width) == (self._importances, self._importances_width):
            return  # every Show brings a Resize: the same text would lay the screen out again
        self._importances, self._importances_width = importances, width
        bar = 10 if width >= 52 else 5
        t = Text("parameter importance (Optuna, fANOVA)", style="bold")
        ranked = sorted(importances.items(), key=lambda kv: -kv[1])
        half = (len(ranked) + 1) // 2
        for i in range(half):
            t.append("\n")
            for name, value in ranked[i::half][:2]:
                cells = round(bar * value)
                t.append(f"{FORM_NAMES.get(name, name)[:9]:<10}{'█' * cells:<{bar}} {value:.2f}  ")
        box.update(t)

    def on_resize(self) -> None:
        if self._importances:
            self._show_importances(self._importances)


def _axis_value(axis: str, value) -> float | None:
    import math

    if value is None:
        return None
    if axis == "optimizer":
        from ...core.config import OPTIMIZERS

        return float(OPTIMIZERS.index(value)) if value in OPTIMIZERS else None
    if axis in ("lr",) and value > 0:
        return math.log10(value)
    return float(value)
