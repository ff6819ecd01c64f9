"""The Textual dashboard: wiring only. Training runs in a thread worker that posts messages."""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time
from pathlib import Path

import numpy as np
from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, ScrollableContainer, Vertical
from textual.widgets import Button, Footer, Static, TabbedContent, TabPane

from .core import checkpoint
from .core.data import Dataset
from .core.draw import preprocess
from .core.model import Perceptron
from .core.render import ema
from .core.store import Recorder, Store, StoreError
from .core.train import (
    BatchProgress,
    Diverged,
    EpochEnd,
    Finished,
    Live,
    LiveChanged,
    TrainConfig,
    check_run,
    train,
)
from .messages import HistoryStatus, TrainEvent, TrainingFailed
from .widgets.confusion_table import ConfusionTable
from .widgets.digit_view import DigitView
from .widgets.draw_canvas import DrawCanvas
from .widgets.hyper_form import HyperForm
from .widgets.load_dialog import LoadDialog
from .widgets.metric_chart import MetricChart
from .widgets.mistakes_view import MistakesView
from .widgets.runs_view import RunsView
from .widgets.status_bar import StatusBar
from .widgets.steps_panel import StepsPanel
from .widgets.weights_grid import WeightsGrid

CHART_FPS = 2  # chart redraws per second at most: cheap over SSH and beside training
N_DIGITS = 6
TABS = ("train", "matrix", "digits", "mistakes", "network", "weights", "draw", "runs")
OVERLAY_COLORS = ("cyan", "green", "magenta", "white")
BATCH_SERIES = ("lr", "‖dW1‖", "‖dW2‖")  # throttled per-batch series of a run
# Loss smoothing steps for [ and ]: an EMA over every batch's loss, across epochs.
SMOOTHINGS = (0.0, 0.5, 0.8, 0.9, 0.95, 0.98, 0.99)
DEFAULT_SMOOTHING = 0.9
DIGIT_CELL_WIDTH = 50  # a compact digit view (49) and its gutter, for flowing the Digits grid
TAB_CHARTS = {"train": ("#loss-chart", "#acc-chart"),
              "network": ("#lr-chart", "#norm-chart", "#dead-chart")}


class DigitGrid(ScrollableContainer):
    """The Digits tab's samples, flowed into as many columns as fit; scrolls by keyboard."""


class MnistApp(App):
    """Watch and steer the seed's perceptron learning MNIST."""

    CSS_PATH = "app.tcss"
    TITLE = "mnist-tui"
    AUTO_FOCUS = None  # no field focused at start, so the single-letter keys work at once
    # A large terminal (160x50, say) also shows the matrix and a digit beside the charts.
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (150, "-wide")]
    VERTICAL_BREAKPOINTS = [(0, "-short"), (40, "-tall")]
    BINDINGS = [
        Binding("q", "quit", "Quit"),
        Binding("s", "start", "Start"),
        Binding("p", "pause", "Pause"),
        Binding("x", "stop", "Stop"),
        Binding("f", "edit_form", "Form"),
        Binding("w", "save", "Save"),
        Binding("l", "load", "Load"),
        Binding("left_square_bracket", "smoothing(-1)", "Smooth-", show=False),
        Binding("right_square_bracket", "smoothing(1)", "Smooth+", show=False),
        Binding("escape", "leave_form", "Leave form", show=False),
        *(Binding(str(i), f"show_tab('{tab}')", tab.title(), show=False)
          for i, tab in enumerate(TABS, start=1)),
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
        db_path: str | Path | None = None,
        parent_pid: int | None = None,
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
        self.db_path = db_path  # None: the default history database
        self.parent_pid = parent_pid or os.getppid()
        self.db_run_id: int | None = None
        self.overlay_runs: dict[int, dict] = {}
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
        self.batch_series: dict[str, tuple[list[float], list[float]]] = {
            k: ([], []) for k in BATCH_SERIES}
        # Every batch's (x, loss) of the current run, appended by the worker thread (a
        # progress message may be merged with the next, so the losses cannot ride on it).
        self.loss_log: list[tuple[float, float]] = []
        self.smoothing = DEFAULT_SMOOTHING
        self.live_changes: list[LiveChanged] = []
        self.epoch_extras: dict[str, list[float]] = {"‖W1‖": [], "‖W2‖": [], "dead": []}
        self.ink = np.zeros((28, 28), np.float32)
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
                            yield Button("Quit", id="quit", compact=True)
                        yield Static(id="summary")
                    with Vertical(id="charts"):
                        yield MetricChart("loss", "NLL (log)", log_y=True, id="loss-chart")
                        yield MetricChart("accuracy", "% right", id="acc-chart")
                    with Vertical(id="wide-side"):
                        yield ConfusionTable(id="confusion-side")
                        yield DigitView(id="side-digit")
            with TabPane("2 Matrix", id="matrix"):
                yield ConfusionTable(id="confusion")
                yield Static("rows: true class · columns: predicted · diagonal: right · "
                             "Enter or click on a cell: its samples", id="matrix-help")
            with TabPane("3 Digits", id="digits"):
                with DigitGrid(id="digit-grid"):
                    for i in range(N_DIGITS):
                        yield DigitView(compact=True, id=f"digit-{i}")
            with TabPane("4 Mistakes", id="mistakes"):
                yield MistakesView(self.dataset.test_images, self.dataset.test_labels,
                                   id="mistakes-view")
            with TabPane("5 Network", id="network"):
                with Horizontal():
                    yield StepsPanel(id="steps")
                    with Vertical(id="net-charts"):
                        yield MetricChart("learning rate", "lr", id="lr-chart")
                        yield MetricChart("norms", "log", log_y=True, id="norm-chart")
                        yield MetricChart("dead ReLUs", "%", id="dead-chart")
            with TabPane("6 Weights", id="weights"):
                yield WeightsGrid(id="weights-grid")
            with TabPane("7 Draw", id="draw"):
                with Horizontal():
                    with Vertical(id="draw-left"):
                        yield DrawCanvas(id="canvas")
                        yield Static("drag: draw · right-drag: erase\narrows+space: draw\n"
                                     "e: erase · c: clear", id="draw-help")
                    yield DigitView(bars_only=True, id="draw-digit")
            with TabPane("8 Runs", id="runs"):
                yield RunsView(id="runs-view")
        yield StatusBar(id="status")
        # The palette (ctrl+p) still works; its footer entry would push Quit off at 80 columns.
        yield Footer(show_command_palette=False)

    def on_mount(self) -> None:
        if not self.is_headless:
            # SIGTERM, or SIGHUP when an SSH connection drops: stop the worker and leave through
            # the normal exit, so the terminal is restored and the run's history is closed.
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGTERM, signal.SIGHUP):
                try:
                    loop.add_signal_handler(sig, self._exit_on_signal, sig)
                except (NotImplementedError, RuntimeError, ValueError):
                    pass  # not the main thread, or a platform without these signals
        if "web_driver" in os.environ.get("TEXTUAL_DRIVER", ""):
            # Under `mnist-tui serve` each browser tab gets its own app process. If the server
            # dies, nothing closes us (stdin just ends): notice the orphaning and leave.
            self.set_interval(1.0, self._exit_if_orphaned)
            self._exit_if_orphaned()
        self.set_interval(1 / CHART_FPS, self._redraw_charts)
        self._plot_history()
        self._show_summary()
        for view in self.main.query(DigitView):
            view.show(None, None, None)
        if self.loaded:
            self.main.query_one(WeightsGrid).set_weights(self.loaded[0].W1)
            self.status.set(note=f"loaded {self.load_path}: Start continues from it")
        else:
            self.status.set(note="s: start · f: edit the form · [ ]: loss smoothing · w/l: save/load")
        if self.autostart:
            self.call_after_refresh(self.action_start)

    def on_resize(self) -> None:
        cols = max(1, self.size.width // DIGIT_CELL_WIDTH)
        self.main.query_one("#digit-grid", DigitGrid).styles.grid_size_columns = cols
        self._sync_buttons()

    @property
    def main(self):
        """The dashboard's own screen: queried even while a dialog or the palette is on top."""
        return self.screen_stack[0] if self.screen_stack else self.screen

    @property
    def status(self) -> StatusBar:
        return self.main.query_one("#status", StatusBar)

    @property
    def form(self) -> HyperForm:
        return self.main.query_one("#form", HyperForm)

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
        self.batch_series = {k: ([], []) for k in BATCH_SERIES}
        self.loss_log = []
        self.live_changes = []
        if not self.epoch_offset:
            self.epoch_extras = {k: [] for k in self.epoch_extras}
        self.main.query_one(StepsPanel).set(m=config.batch_size, n=config.hidden)
        self.state = "training"
        self.form.set_training(True)
        self._sync_buttons()
        self.status.set(state="training", epoch=self.epoch_offset + 1,
                        epochs=self.epoch_offset + config.epochs, fraction=0.0, rate=0.0,
                        elapsed=0.0, eta=None, note="")
        self._plot_history()
        self._show_summary()
        self.db_run_id = None
        self._train_worker(self.run_id, config, model, self.stop_event, self.pause_event,
                           self.live, self.worker_done, self.epoch_offset, self.loss_log)

    def _sync_buttons(self) -> None:
        """Pause and Stop are enabled only while a run is going."""
        for button_id in ("#pause", "#stop"):
            self.main.query_one(button_id, Button).disabled = not self.training

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

    def action_load(self) -> None:
        if self.training:
            self.notify("Stop the run (x) before loading a checkpoint.", severity="warning")
            return
        self.push_screen(LoadDialog(), self._load_path)

    def _load_path(self, path: str | None) -> None:
        """Load a checkpoint; on any error, say so and keep everything as it was."""
        if not path:
            return
        try:
            loaded = checkpoint.load(Path(path).expanduser())
        except checkpoint.CheckpointError as e:
            self.notify(str(e), title="Not loaded", severity="error", timeout=10)
            self.status.set(note=f"not loaded: {e}")
            return
        self.loaded, self.load_path = loaded, path
        self.model, self.run_config = loaded[0], loaded[1]
        self.history = {k: list(v) for k, v in loaded[2].items()}
        self.batch_series = {k: ([], []) for k in BATCH_SERIES}
        self.loss_log = []
        self.epoch_extras = {k: [] for k in self.epoch_extras}
        self.form.set_config(loaded[1])
        self.state = "idle"
        self._plot_history()
        self._show_summary()
        self.main.query_one(WeightsGrid).set_weights(loaded[0].W1)
        self._predict_drawing()
        self.status.set(state="idle", epoch=len(self.history["epoch"]), epochs=0, note=(
            f"loaded {path}: {len(self.history['epoch'])} epochs; Start continues from it"))

    def action_pause(self) -> None:
        if self.state == "training":
            self.pause_event.set()
            self.state = "paused"
        elif self.state == "paused":
            self.pause_event.clear()
            self.state = "training"
        else:
            self.status.set(note=f"nothing to pause: no run is going ({self.state}); s starts one")
            return
        self.status.set(state=self.state)
        self.main.query_one("#pause", Button).label = "Resume" if self.state == "paused" else "Pause"

    def action_stop(self) -> None:
        if self.training:
            self.stop_event.set()
            self.pause_event.clear()
            self.status.set(note="stopping…")
        else:
            self.status.set(note=f"nothing to stop: no run is going ({self.state})")

    def action_edit_form(self) -> None:
        """Go to the Train tab with the cursor in the form's first field."""
        self.main.query_one(TabbedContent).active = "train"
        self.form.focus_first()

    def action_smoothing(self, step: int) -> None:
        """Move the loss chart's smoothing one step along SMOOTHINGS."""
        i = min(range(len(SMOOTHINGS)), key=lambda k: abs(SMOOTHINGS[k] - self.smoothing))
        self.smoothing = SMOOTHINGS[max(0, min(len(SMOOTHINGS) - 1, i + step))]
        self._plot_batch_series()
        self._redraw_charts()
        self.status.set(note=f"loss smoothing {self.smoothing:g} (EMA over batches; [ ] change it)")

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
        if self.db_run_id is not None:
            try:
                with Store(self.db_path, timeout=1.0) as db:
                    db.set_checkpoint(self.db_run_id, str(path.resolve()))
            except StoreError:
                pass  # the checkpoint is saved; only its mention in the history is missing

    def _exit_on_signal(self, sig: int) -> None:
        self.stop_event.set()
        self.pause_event.clear()
        # If the clean exit cannot finish (say the terminal is gone and a write blocks),
        # leave anyway after a few seconds rather than linger as an orphan.
        watchdog = threading.Timer(3.0, os._exit, (128 + sig,))
        watchdog.daemon = True
        watchdog.start()
        self.exit(return_code=128 + sig)

    def _exit_if_orphaned(self) -> None:
        if os.getppid() != self.parent_pid or self.parent_pid == 1:
            self._exit_on_signal(signal.SIGHUP)

    async def action_quit(self) -> None:
        self.stop_event.set()
        self.pause_event.clear()
        self.exit()

    def action_leave_form(self) -> None:
        self.set_focus(None)

    def action_show_tab(self, tab: str) -> None:
        self.main.query_one(TabbedContent).active = tab
        self._focus_tab(tab)

    def _focus_tab(self, tab: str) -> None:
        if tab == "runs":
            self._reload_runs()
        target = {"mistakes": "#mistakes-view", "matrix": "#confusion", "weights": "#weights-grid",
                  "draw": "#canvas", "runs": "#runs-table", "digits": "#digit-grid"}.get(tab)
        if target:
            self.main.query_one(target).focus()

    @on(Button.Pressed, "#start")
    def _start_pressed(self) -> None:
        self.action_start()

    @on(Button.Pressed, "#pause")
    def _pause_pressed(self) -> None:
        self.action_pause()

    @on(Button.Pressed, "#stop")
    def _stop_pressed(self) -> None:
        self.action_stop()

    @on(Button.Pressed, "#quit")
    async def _quit_pressed(self) -> None:
        await self.action_quit()

    def on_hyper_form_submitted(self) -> None:
        self.action_start()

    def on_hyper_form_live_edited(self, event: HyperForm.LiveEdited) -> None:
        if not self.training:
            return
        setattr(self.live, event.name, event.value)
        self.status.set(note=f"{event.name} → {event.value:g} from the next batch")

    def on_hyper_form_validity(self, event: HyperForm.Validity) -> None:
        if event.n_errors == 0 and self.status.note.startswith("fix "):
            self.status.set(note="")  # the form is valid again: the old advice is stale

    def on_confusion_table_cell_chosen(self, event: ConfusionTable.CellChosen) -> None:
        self.main.query_one(MistakesView).set_filter(event.true_class, event.pred_class)
        self.action_show_tab("mistakes")

    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        self._focus_tab(event.pane.id)

    def on_draw_canvas_changed(self, event: DrawCanvas.Changed) -> None:
        self.ink = event.ink
        self._predict_drawing()

    def _predict_drawing(self) -> None:
        """Show the drawing as the network sees it, with the current model's probabilities."""
        image = preprocess(self.ink)
        proba = None
        if self.model is not None and image.any():
            # The worker may be mid-update; a read of half-updated weights is harmless here.
            proba = self.model.forward(image[None].astype(np.float32) / 255)[0]
        caption = ("the current model's guess, live" if self.model is not None
                   else "no model yet: start training")
        self.main.query_one("#draw-digit", DigitView).show(image, proba, None, caption=caption)

    # --- the worker (runs in its own thread; only posts messages) -------------------------

    @work(thread=True, exclusive=True, exit_on_error=False, group="train")
    def _train_worker(self, run_id: int, config: TrainConfig, model: Perceptron,
                      stop: threading.Event, pause: threading.Event, live: Live,
                      done: threading.Event, epoch_offset: int,
                      loss_log: list[tuple[float, float]]) -> None:
        # The history has its own connection here: sqlite connections stay in their thread,
        # and a locked database then slows this thread, never the UI.
        recorder = Recorder(self.db_path, config)
        self.post_message(HistoryStatus(run_id, recorder.run_id, recorder.error))
        status = "error"
        try:
            for event in train(config, self.dataset, model=model, stop=stop, pause=pause,
                               live=live, progress_interval=self.progress_interval):
                if isinstance(event, BatchProgress):
                    k, base = len(event.losses), epoch_offset + event.epoch - 1
                    loss_log.extend((base + (event.batch - k + 1 + i) / event.n_batches, loss)
                                    for i, loss in enumerate(event.losses))
                elif isinstance(event, LiveChanged):
                    recorder.live_change(event, epoch_offset + event.epoch)
                elif isinstance(event, EpochEnd) and recorder.store is not None:
                    if not recorder.epoch(event, epoch_offset + event.epoch):
                        self.post_message(HistoryStatus(run_id, None, recorder.error))
                elif isinstance(event, Diverged):
                    status = "diverged"
                elif isinstance(event, Finished):
                    status = "stopped" if event.stopped else "done"
                self.post_message(TrainEvent(run_id, event))
        except Exception as e:  # shown in the app, which stays usable
            self.post_message(TrainingFailed(run_id, f"{type(e).__name__}: {e}"))
        finally:
            recorder.finish(status)
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
        elif isinstance(ev, LiveChanged):
            self.live_changes.append(ev)
        elif isinstance(ev, Diverged):
            self._end_run("diverged", ev.message)
            self.notify(ev.message, title="Diverged", severity="error", timeout=10)
        elif isinstance(ev, Finished):
            acc = "" if ev.test_acc is None else f"test accuracy {ev.test_acc:.2%}"
            self._end_run("stopped" if ev.stopped else "done", acc)

    def on_history_status(self, message: HistoryStatus) -> None:
        if message.run_id != self.run_id:
            return
        if message.db_run_id is not None:
            self.db_run_id = message.db_run_id
        if message.error:
            self.notify(f"Training goes on, but this run is not being recorded: {message.error}",
                        title="Run history", severity="warning", timeout=8)

    def _reload_runs(self) -> None:
        view = self.main.query_one(RunsView)
        try:
            with Store(self.db_path, timeout=1.0) as db:
                view.set_runs(db.runs())
        except StoreError as e:
            view.set_runs([], error=str(e))

    def on_runs_view_overlay_changed(self, event: RunsView.OverlayChanged) -> None:
        try:
            with Store(self.db_path, timeout=1.0) as db:
                self.overlay_runs = {i: db.run(i) for i in sorted(event.run_ids)}
        except (StoreError, KeyError) as e:
            self.notify(f"Cannot read the run history: {e}", severity="error")
        self._reload_runs()
        self._plot_history()
        self._redraw_charts()

    def on_runs_view_run_again(self, event: RunsView.RunAgain) -> None:
        known = {k: v for k, v in event.config.items() if k in TrainConfig.__dataclass_fields__}
        try:
            config = TrainConfig(**known)
        except (TypeError, ValueError) as e:
            self.notify(f"That run's config is not usable: {e}", severity="error")
            return
        self.form.set_config(config)
        self.action_show_tab("train")
        self.status.set(note="form filled from the run: press s to start")

    def on_runs_view_delete_run(self, event: RunsView.DeleteRun) -> None:
        try:
            with Store(self.db_path, timeout=1.0) as db:
                db.delete_run(event.run_id)
        except StoreError as e:
            self.notify(str(e), title="Not deleted", severity="error")
        self.overlay_runs.pop(event.run_id, None)
        self._reload_runs()
        self._plot_history()

    def on_training_failed(self, message: TrainingFailed) -> None:
        if message.run_id == self.run_id:
            self._end_run("error", message.error)
            self.notify(message.error, title="Training failed", severity="error", timeout=10)

    def _on_progress(self, ev: BatchProgress) -> None:
        frac = ev.batch / ev.n_batches
        done = (ev.epoch - 1 + frac) / ev.epochs
        x = self.epoch_offset + ev.epoch - 1 + frac
        for name, value in zip(BATCH_SERIES, (ev.lr, *ev.grad_norms), strict=True):
            self.batch_series[name][0].append(x)
            self.batch_series[name][1].append(value)
        self.main.query_one(StepsPanel).set(m=ev.batch_size or None, grad_norms=ev.grad_norms)
        self.status.set(epoch=self.epoch_offset + ev.epoch, fraction=frac,
                        rate=ev.samples_per_second, elapsed=ev.elapsed,
                        eta=ev.elapsed * (1 - done) / done if done > 0 else None)

    def _on_epoch(self, ev: EpochEnd) -> None:
        epoch = self.epoch_offset + ev.epoch
        for k in checkpoint.HISTORY_KEYS:
            self.history[k].append(float(epoch if k == "epoch" else getattr(ev, k)))
        for name, value in (("‖W1‖", ev.weight_norms[0]), ("‖W2‖", ev.weight_norms[1]),
                            ("dead", 100 * ev.dead_fraction)):
            self.epoch_extras[name].append(value)
        with self.batch_update():  # every widget below, painted in one pass
            self._plot_history()
            self.main.query_one(StepsPanel).set(dead=ev.dead_fraction)
            if self.model is not None:
                self.main.query_one(WeightsGrid).set_weights(self.model.W1)
                self._predict_drawing()
            for table in self.main.query(ConfusionTable):
                table.update_matrix(ev.confusion)
            self.main.query_one(MistakesView).set_proba(ev.test_proba)
            ds = self.dataset
            for view, i in zip(self.main.query("#digit-grid DigitView").results(DigitView),
                               ev.sample_indices, strict=False):
                view.show(ds.test_images[i], ev.test_proba[i], int(ds.test_labels[i]),
                          caption=f"test #{i}, epoch {epoch}")
            i = ev.sample_indices[0]
            self.main.query_one("#side-digit", DigitView).show(
                ds.test_images[i], ev.test_proba[i], int(ds.test_labels[i]),
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
        self.main.query_one("#summary", Static).update("\n".join(lines))

    def _end_run(self, state: str, note: str) -> None:
        self.state = state
        self.form.set_training(False)
        self.main.query_one("#pause", Button).label = "Pause"
        self._sync_buttons()
        self.status.set(state=state, note=note, eta=None)
        self._plot_batch_series()  # the last batches since the final redraw
        self._redraw_charts()

    # --- charts ----------------------------------------------------------------------------

    def _plot_history(self) -> None:
        h = self.history
        loss = self.main.query_one("#loss-chart", MetricChart)
        acc = self.main.query_one("#acc-chart", MetricChart)
        self._plot_batch_series()
        loss.set_series("train", h["epoch"], h["train_loss"], color="blue")
        loss.set_series("test", h["epoch"], h["test_loss"], color="red")
        acc.set_series("train", h["epoch"], [100 * a for a in h["train_acc"]], color="blue")
        acc.set_series("test", h["epoch"], [100 * a for a in h["test_acc"]], color="red")
        for i, (run_id, run) in enumerate(self.overlay_runs.items()):
            color, e = OVERLAY_COLORS[i % len(OVERLAY_COLORS)], run["epochs"]
            loss.set_series(f"#{run_id}", e["epoch"], e["test_loss"], color=color)
            acc.set_series(f"#{run_id}", e["epoch"], [100 * a for a in e["test_acc"]], color=color)
        for chart in (loss, acc):
            for name in [n for n in chart.series if n.startswith("#")]:
                if int(name[1:]) not in self.overlay_runs:
                    chart.remove_series(name)
        x = h["epoch"][len(h["epoch"]) - len(self.epoch_extras["dead"]):]
        norms = self.main.query_one("#norm-chart", MetricChart)
        norms.set_series("W1", x, self.epoch_extras["‖W1‖"], color="blue")
        norms.set_series("W2", x, self.epoch_extras["‖W2‖"], color="cyan")
        self.main.query_one("#dead-chart", MetricChart).set_series(
            "dead", x, self.epoch_extras["dead"], color="red")
        if not self.batch_series["lr"][0]:
            self.main.query_one("#lr-chart", MetricChart).set_series("lr", h["epoch"], h["lr"], color="green")

    def _plot_batch_series(self) -> None:
        b = self.batch_series
        loss = self.main.query_one("#loss-chart", MetricChart)
        log = list(self.loss_log)  # a snapshot: the worker thread appends to it
        xs = [x for x, _ in log]
        ys = np.array([y for _, y in log], dtype=float)
        loss.set_series("batch", xs, ys, faint=True)
        loss.set_series("smoothed", xs, ema(ys, self.smoothing), color="yellow",
                        label=f"EMA {self.smoothing:g}")
        if b["lr"][0]:
            self.main.query_one("#lr-chart", MetricChart).set_series("lr", *b["lr"], color="green")
        norms = self.main.query_one("#norm-chart", MetricChart)
        norms.set_series("dW1", *b["‖dW1‖"], color="red")
        norms.set_series("dW2", *b["‖dW2‖"], color="gray")

    def _redraw_charts(self) -> None:
        if not self.main.is_mounted or not self.main.query("#loss-chart"):
            return  # starting up or shutting down
        # One x range for all charts of a tab: the run's planned epochs, or further if data is.
        planned = self.epoch_offset + self.run_config.epochs if self.training else 0
        for selectors in TAB_CHARTS.values():
            charts = [self.main.query_one(sel, MetricChart) for sel in selectors]
            hi = max([planned, 1.0] + [c.data_x_max() for c in charts])
            for chart in charts:
                chart.set_x_range(0.0, float(hi))
        if self.training:
            self._plot_batch_series()
        for chart in self.main.query(MetricChart):
            chart.replot()


def make_app(dataset: Dataset, **kwargs) -> MnistApp:
    """Build the app; tests hand in a tiny dataset and a short progress interval."""
    return MnistApp(dataset, **kwargs)



