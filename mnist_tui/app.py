"""The Textual dashboard: wiring only. Training runs in a thread worker that posts messages."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, Vertical
from textual.widgets import Button, Footer, Static, TabbedContent, TabPane

from .core import checkpoint
from .core.data import Dataset
from .core.model import Perceptron
from .core.train import (
    BatchProgress,
    Diverged,
    EpochEnd,
    Finished,
    Live,
    TrainConfig,
    check_run,
    train,
)
from .messages import TrainEvent, TrainingFailed
from .widgets.confusion_table import ConfusionTable
from .widgets.digit_view import DigitView
from .widgets.hyper_form import HyperForm
from .widgets.metric_chart import MetricChart
from .widgets.mistakes_view import MistakesView
from .widgets.status_bar import StatusBar

CHART_FPS = 2  # chart redraws per second at most: cheap over SSH and beside training
N_DIGITS = 6


class MnistApp(App):
    """Watch and steer the seed's perceptron learning MNIST."""

    CSS_PATH = "app.tcss"
    TITLE = "mnist-tui"
    AUTO_FOCUS = None  # no field focused at start, so the single-letter keys work at once
    BINDINGS = [
        Binding("s", "start", "Start"),
        Binding("p", "pause", "Pause/Resume"),
        Binding("x", "stop", "Stop"),
        Binding("w", "save", "Save"),
        Binding("q", "quit", "Quit"),
        Binding("escape", "leave_form", "Leave form", show=False),
        *(Binding(str(i), f"show_tab('{tab}')", tab.title(), show=False)
          for i, tab in enumerate(("train", "matrix", "digits", "mistakes"), start=1)),
    ]

    def __init__(
        self,
        dataset: Dataset,
        config: TrainConfig | None = None,
        autostart: bool = False,
        loaded: tuple[Perceptron, TrainConfig, dict] | None = None,
        load_path: str | None = None,
        progress_interval: float = 0.2,
        save_dir: str | Path = ".",
    ) -> None:
        super().__init__()
        self.theme = "textual-dark"  # fixed, so snapshots do not depend on the environment
        self.dataset = dataset
        self.config = loaded[1] if loaded else (config or TrainConfig())
        self.autostart = autostart
        self.loaded = loaded
        self.load_path = load_path
        self.progress_interval = progress_interval
        self.save_dir = Path(save_dir)
        self.run_id = 0
        self.state = "idle"
        self.stop_event = threading.Event()
        self.pause_event = threading.Event()
        self.worker_done = threading.Event()
        self.worker_done.set()
        self.live = Live()
        self.model: Perceptron | None = loaded[0] if loaded else None
        self.run_config = self.config
        self.history: dict[str, list[float]] = (
            {k: list(v) for k, v in loaded[2].items()} if loaded
            else {k: [] for k in checkpoint.HISTORY_KEYS}
        )
        self.running_loss: tuple[list[float], list[float]] = ([], [])
        self.epoch_offset = 0

    # --- layout ---------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        with TabbedContent(initial="train"):
            with TabPane("1 Train", id="train"):
                with Horizontal():
                    with Vertical(id="left"):
                        yield HyperForm(self.config, id="form")
                        with Horizontal(id="buttons"):
                            yield Button("Start", id="start", variant="success", compact=True)
                            yield Button("Pause", id="pause", compact=True)
                            yield Button("Stop", id="stop", variant="error", compact=True)
                        yield Static(id="summary")
                    with Vertical(id="charts"):
                        yield MetricChart("loss", "NLL (log)", log_y=True, id="loss-chart")
                        yield MetricChart("accuracy", "% right", id="acc-chart")
            with TabPane("2 Matrix", id="matrix"):
                yield ConfusionTable(id="confusion")
                yield Static("rows: true class · columns: predicted · diagonal: right · "
                             "Enter or click on a cell: its samples", id="matrix-help")
            with TabPane("3 Digits", id="digits"):
                with Grid(id="digit-grid"):
                    for i in range(N_DIGITS):
                        yield DigitView(id=f"digit-{i}")
            with TabPane("4 Mistakes", id="mistakes"):
                yield MistakesView(self.dataset.test_images, self.dataset.test_labels,
                                   id="mistakes-view")
        yield StatusBar(id="status")
        yield Footer()

    def on_mount(self) -> None:
        self.set_interval(1 / CHART_FPS, self._redraw_charts)
        self._plot_history()
        self._show_summary()
        for view in self.query(DigitView):
            view.show(None, None, None)
        if self.loaded:
            self.status.set(note=f"loaded {self.load_path}: Start continues from it")
        else:
            self.status.set(note="press s to start, or Tab into the form to edit")
        if self.autostart:
            self.call_after_refresh(self.action_start)

    def on_resize(self) -> None:
        cols = max(1, self.size.width // 60)
        self.query_one("#digit-grid", Grid).styles.grid_size_columns = cols

    @property
    def status(self) -> StatusBar:
        return self.query_one("#status", StatusBar)

    @property
    def form(self) -> HyperForm:
        return self.query_one("#form", HyperForm)

    @property
    def training(self) -> bool:
        return self.state in ("training", "paused")

    # --- actions --------------------------------------------------------------------------

    def action_start(self) -> None:
        if self.training:
            self.notify("A run is going: stop it first (x).", severity="warning")
            return
        config, errors = self.form.read()
        if config is None:
            self.status.set(note=f"fix {len(errors)} field(s) first")
            self.notify(next(iter(errors.values())), title="Cannot start", severity="error")
            return
        reason = check_run(config, self.dataset.n_train, self.dataset.n_test)
        if reason:
            self.notify(reason, title="Cannot start", severity="error")
            return
        model = self._take_loaded_model(config)
        self.run_id += 1
        self.run_config = config
        self.stop_event, self.pause_event = threading.Event(), threading.Event()
        self.live = Live()
        self.worker_done = threading.Event()
        self.model = model
        self.running_loss = ([], [])
        self.state = "training"
        self.form.set_training(True)
        self.status.set(state="training", epoch=self.epoch_offset + 1,
                        epochs=self.epoch_offset + config.epochs, fraction=0.0, rate=0.0,
                        elapsed=0.0, eta=None, note="")
        self._plot_history()
        self._show_summary()
        self._train_worker(self.run_id, config, model, self.stop_event, self.pause_event,
                           self.live, self.worker_done)

    def _take_loaded_model(self, config: TrainConfig) -> Perceptron:
        """The loaded checkpoint's model for the first Start after --load, else a fresh one."""
        if self.loaded and self.loaded[0].n_hidden == config.hidden:
            model, _, history = self.loaded
            self.loaded = None
            self.epoch_offset = len(history.get("epoch", []))
            return model
        self.loaded = None
        self.epoch_offset = 0
        self.history = {k: [] for k in checkpoint.HISTORY_KEYS}
        return Perceptron(config.hidden, seed=config.seed)

    def action_pause(self) -> None:
        if self.state == "training":
            self.pause_event.set()
            self.state = "paused"
        elif self.state == "paused":
            self.pause_event.clear()
            self.state = "training"
        else:
            return
        self.status.set(state=self.state)
        self.query_one("#pause", Button).label = "Resume" if self.state == "paused" else "Pause"

    def action_stop(self) -> None:
        if self.training:
            self.stop_event.set()
            self.pause_event.clear()
            self.status.set(note="stopping…")

    def action_save(self) -> None:
        if self.model is None or not self.history["epoch"]:
            self.notify("Nothing to save yet: train at least one epoch.", severity="warning")
            return
        if self.state == "training":
            self.notify("Pause (p) or stop (x) before saving.", severity="warning")
            return
        name = time.strftime("mnist-tui-%Y%m%d-%H%M%S.npz")
        try:
            path = checkpoint.save(self.save_dir / name, self.model, self.run_config, self.history)
        except checkpoint.CheckpointError as e:
            self.notify(str(e), title="Save failed", severity="error")
            return
        self.notify(f"saved {path}", title="Checkpoint")

    async def action_quit(self) -> None:
        self.stop_event.set()
        self.pause_event.clear()
        self.exit()

    def action_leave_form(self) -> None:
        self.set_focus(None)

    def action_show_tab(self, tab: str) -> None:
        self.query_one(TabbedContent).active = tab
        if tab == "mistakes":
            self.query_one("#mistakes-view").focus()
        elif tab == "matrix":
            self.query_one("#confusion").focus()

    @on(Button.Pressed, "#start")
    def _start_pressed(self) -> None:
        self.action_start()

    @on(Button.Pressed, "#pause")
    def _pause_pressed(self) -> None:
        self.action_pause()

    @on(Button.Pressed, "#stop")
    def _stop_pressed(self) -> None:
        self.action_stop()

    def on_hyper_form_submitted(self) -> None:
        self.action_start()

    def on_hyper_form_live_edited(self, event: HyperForm.LiveEdited) -> None:
        setattr(self.live, event.name, event.value)
        self.status.set(note=f"{event.name} → {event.value:g} from the next batch")

    def on_confusion_table_cell_chosen(self, event: ConfusionTable.CellChosen) -> None:
        self.query_one(MistakesView).set_filter(event.true_class, event.pred_class)
        self.action_show_tab("mistakes")

    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        if event.pane.id == "mistakes":
            self.query_one("#mistakes-view").focus()

    # --- the worker (runs in its own thread; only posts messages) -------------------------

    @work(thread=True, exclusive=True, exit_on_error=False, group="train")
    def _train_worker(self, run_id: int, config: TrainConfig, model: Perceptron,
                      stop: threading.Event, pause: threading.Event, live: Live,
                      done: threading.Event) -> None:
        try:
            for event in train(config, self.dataset, model=model, stop=stop, pause=pause,
                               live=live, progress_interval=self.progress_interval):
                self.post_message(TrainEvent(run_id, event))
        except Exception as e:  # shown in the app, which stays usable
            self.post_message(TrainingFailed(run_id, f"{type(e).__name__}: {e}"))
        finally:
            done.set()

    # --- events from the worker (UI thread) -----------------------------------------------

    def on_train_event(self, message: TrainEvent) -> None:
        if message.run_id != self.run_id:
            return  # a stopped or replaced run still finishing its last batch
        ev = message.event
        if isinstance(ev, BatchProgress):
            self._on_progress(ev)
        elif isinstance(ev, EpochEnd):
            self._on_epoch(ev)
        elif isinstance(ev, Diverged):
            self._end_run("diverged", ev.message)
            self.notify(ev.message, title="Diverged", severity="error", timeout=10)
        elif isinstance(ev, Finished):
            acc = "" if ev.test_acc is None else f"test accuracy {ev.test_acc:.2%}"
            self._end_run("stopped" if ev.stopped else "done", acc)

    def on_training_failed(self, message: TrainingFailed) -> None:
        if message.run_id == self.run_id:
            self._end_run("error", message.error)
            self.notify(message.error, title="Training failed", severity="error", timeout=10)

    def _on_progress(self, ev: BatchProgress) -> None:
        frac = ev.batch / ev.n_batches
        done = (ev.epoch - 1 + frac) / ev.epochs
        x = self.epoch_offset + ev.epoch - 1 + frac
        self.running_loss[0].append(x)
        self.running_loss[1].append(ev.running_loss)
        self.query_one("#loss-chart", MetricChart).set_series(
            "running", *self.running_loss, color="gray")
        self.status.set(epoch=self.epoch_offset + ev.epoch, fraction=frac,
                        rate=ev.samples_per_second, elapsed=ev.elapsed,
                        eta=ev.elapsed * (1 - done) / done if done > 0 else None)

    def _on_epoch(self, ev: EpochEnd) -> None:
        epoch = self.epoch_offset + ev.epoch
        for k in checkpoint.HISTORY_KEYS:
            self.history[k].append(float(epoch if k == "epoch" else getattr(ev, k)))
        self._plot_history()
        with self.batch_update():
            self.query_one(ConfusionTable).update_matrix(ev.confusion)
            self.query_one(MistakesView).set_proba(ev.test_proba)
            ds = self.dataset
            for view, i in zip(self.query(DigitView).results(DigitView), ev.sample_indices,
                               strict=False):
                if view.id and view.id.startswith("digit-"):
                    view.show(ds.test_images[i], ev.test_proba[i], int(ds.test_labels[i]),
                              caption=f"test #{i}, epoch {epoch}")
        self._show_summary()
        self.status.set(fraction=1.0, elapsed=ev.elapsed,
                        note=f"test acc {ev.test_acc:.2%}  loss {ev.test_loss:.3f}")

    def _show_summary(self) -> None:
        ds, h, c = self.dataset, self.history, self.run_config
        n = c.hidden
        lines = [f"784-{n}-10 · {784 * n + n + 10 * n + 10:,} params",
                 f"{ds.n_train:,} train · {ds.n_test:,} test"]
        if h["test_acc"]:
            best = max(range(len(h["test_acc"])), key=h["test_acc"].__getitem__)
            lines.append(f"best test {h['test_acc'][best]:.2%} @ {int(h['epoch'][best])}")
            lines.append(f"last epoch {h['seconds'][-1]:.2f}s · lr {h['lr'][-1]:.3g}")
        self.query_one("#summary", Static).update("\n".join(lines))

    def _end_run(self, state: str, note: str) -> None:
        self.state = state
        self.form.set_training(False)
        self.query_one("#pause", Button).label = "Pause"
        self.status.set(state=state, note=note, eta=None)
        self._redraw_charts()

    # --- charts ----------------------------------------------------------------------------

    def _plot_history(self) -> None:
        h = self.history
        loss = self.query_one("#loss-chart", MetricChart)
        acc = self.query_one("#acc-chart", MetricChart)
        loss.set_series("running", *self.running_loss, color="gray")
        loss.set_series("train", h["epoch"], h["train_loss"], color="blue")
        loss.set_series("test", h["epoch"], h["test_loss"], color="red")
        acc.set_series("train", h["epoch"], [100 * a for a in h["train_acc"]], color="blue")
        acc.set_series("test", h["epoch"], [100 * a for a in h["test_acc"]], color="red")

    def _redraw_charts(self) -> None:
        for chart in self.query(MetricChart):
            chart.replot()


def make_app(dataset: Dataset, **kwargs) -> MnistApp:
    """Build the app; tests hand in a tiny dataset and a short progress interval."""
    return MnistApp(dataset, **kwargs)



