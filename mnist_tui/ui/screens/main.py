"""The dashboard's main screen: the eight tabs, the status bar, and the wiring to the engine.

A run lives in a child process (core.engine). Its reader thread adds each event to the run's
RunHistory, writes the history database, and posts a RunEvent; this screen turns the events into
the run state, and a timer redraws the shown pane from the history a few times a second.
"""

from __future__ import annotations

import enum
import time
from functools import partial
from pathlib import Path

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.reactive import reactive
from textual.screen import Screen
from textual.widgets import Input, TabbedContent, TabPane

from ...core import checkpoint, data
from ...core.config import TrainConfig, from_dict
from ...core.data import INFO
from ...core.engine import Engine, RunHandle, Started
from ...core.events import Diverged, Event, Failed, Finished
from ...core.history import RunHistory
from ...core.model import Perceptron
from ...core.race import MAX_RACERS, MIN_RACERS, differing_field, parse_race
from ...core.race import check as check_racers
from ...core.recording import status_of
from ...core.resources import check_run
from ...core.session import RunSession
from ...core.store import Store, StoreError, show_path
from ...core.train import Live
from ..messages import MERGEABLE, GhostFound, HistoryStatus, RunEvent
from ..panes import (
    PANES,
    TABS,
    CalibrationPane,
    DigitsPane,
    DrawPane,
    MatrixPane,
    MistakesPane,
    NetworkPane,
    RunsPane,
    SweepPane,
    TrainPane,
    WeightsPane,
)
from ..widgets.confusion_table import ConfusionTable
from ..widgets.hyper_form import HyperForm
from ..widgets.mistakes_view import MistakesView
from ..widgets.runs_view import RunsView
from ..widgets.status_bar import StatusBar
from ..widgets.steady_footer import SteadyFooter
from .load_dialog import LoadDialog

CHART_FPS = 2  # redraws of the shown pane per second at most: cheap over SSH and beside training


class FocusGuardedTabs(TabbedContent):
    """TabbedContent, except that a focus that has already moved on does not activate a tab.

    TabbedContent activates a pane when a widget in it is focused, by a message that arrives
    after the focus: by then a later key of the same burst may have opened another tab and
    focused its content. Activating the old pane then set two tabs re-activating each other,
    at 100% CPU, for ever (`8 9` in one burst)."""

    def _on_tab_pane_focused(self, event: TabPane.Focused) -> None:
        focused = self.screen.focused
        if focused is None or event.tab_pane not in focused.ancestors:
            event.stop()  # stale: the focus is elsewhere now
            event.prevent_default()  # Textual runs the base class's handler too, unless this


class RunState(str, enum.Enum):
    IDLE = "idle"
    TRAINING = "training"
    PAUSED = "paused"
    DONE = "done"
    STOPPED = "stopped"
    DIVERGED = "diverged"
    ERROR = "failed"

    @property
    def going(self) -> bool:
        return self in (RunState.TRAINING, RunState.PAUSED)


class MainScreen(Screen):
    """Tabs for watching a run, keys for steering it."""

    # Also the palette's commands (ui/commands.py) and the help screen's rows (? or F1): the
    # description names the command, the tooltip says what it does.
    BINDINGS = [
        Binding("q", "app.quit", "Quit", tooltip="Quit (any run is stopped and recorded)"),
        Binding("s", "start", "Start", tooltip="Start a fresh run with the form's values"),
        Binding("p", "pause", "Pause", tooltip="Pause or resume the run"),
        Binding("x", "stop", "Stop", tooltip="Stop the run"),
        Binding("f", "edit_form", "Form", tooltip="Edit the form (Esc leaves it)"),
        Binding("w", "save", "Save", tooltip="Save a checkpoint (.npz in this directory)"),
        Binding("l", "load", "Load", tooltip="Load a checkpoint"),
        Binding("r", "race_field", "Race", show=False,
                tooltip="Race one field over 2-4 values: type e.g. lr 0.3,0.1 then Enter"),
        Binding("g", "toggle_ghost", "Ghost", show=False,
                tooltip="Show or hide the ghost: the fastest earlier run to the target"),
        Binding("left_square_bracket", "smoothing(-1)", "Smooth-", show=False,
                tooltip="Less smoothing of the batch-loss line"),
        Binding("right_square_bracket", "smoothing(1)", "Smooth+", show=False,
                tooltip="More smoothing of the batch-loss line"),
        Binding("escape", "leave_form", "Leave form", show=False,
                tooltip="Leave a field: the one-letter keys work again"),
        *(Binding(str(i % 10), f"show_tab('{tab}')", f"{tab.title()} tab", show=False,
                  tooltip=f"Show the {tab.title()} tab")
          for i, tab in enumerate(TABS, start=1)),  # 1-9, then 0 for the tenth
    ]
    run_state: reactive[RunState] = reactive(RunState.IDLE, init=False)

    def __init__(self, engine: Engine, config: TrainConfig, *, loaded=None, load_path=None,
                 progress_interval: float = 0.2, save_dir: Path = Path("."),
                 db_path=None) -> None:
        super().__init__()
        self.engine, self.dataset = engine, engine.dataset
        self.config = self.run_config = config
        self.loaded, self.load_path = loaded, load_path  # (model, config, epochs) from --load
        self.progress_interval = progress_interval
        self.save_dir, self.db_path = save_dir, db_path
        self.history = RunHistory(loaded[2] if loaded else None)
        self._loaded_model: Perceptron | None = loaded[0] if loaded else None
        self.session: RunSession | None = None  # the run: its process, history and record
        self.run_id = 0  # this screen's run number; events of older runs are dropped
        self.db_run_id: int | None = None
        self._save_on_weights = False
        self._weights_asked = None  # the weights we had when a save asked for fresh ones
        self._drawn_version = -1
        self._model_of = (None, None)  # (a Weights event, the Perceptron made from it)
        self._tab_opened = "train"  # the tab last drawn and focused by _opened

    @property
    def handle(self) -> RunHandle | None:
        """The run's process handle (None before the first run)."""
        return self.session.handle if self.session else None

    @property
    def live(self) -> Live:
        """The live values sent to the run (None: the config's)."""
        return self.session.live if self.session else Live()

    @property
    def state(self) -> RunState:
        return self.run_state

    @property
    def model(self) -> Perceptron | None:
        """The network as the run last sent it (each epoch end, the end, or on request), else
        the loaded checkpoint's."""
        w = self.history.weights
        if w is None:
            return self._loaded_model
        if self._model_of[0] is not w:
            self._model_of = (w, Perceptron.from_params(w.W1, w.b1, w.W2, w.b2))
        return self._model_of[1]

    def compose(self) -> ComposeResult:
        panes = (TrainPane(1, self.dataset, self.config), MatrixPane(2), DigitsPane(3, self.dataset),
                 MistakesPane(4, self.dataset),
                 NetworkPane(5, self.config.batch_size, self.config.hidden), WeightsPane(6),
                 DrawPane(7), RunsPane(8), SweepPane(9, self.engine, self.db_path),
                 CalibrationPane(0))
        assert tuple(type(p) for p in panes) == PANES
        with FocusGuardedTabs(initial="train"):
            yield from panes
        yield StatusBar(id="status")
        # The palette (ctrl+p) still works; its footer entry would push Quit off at 80 columns.
        yield SteadyFooter(show_command_palette=False)

    def on_mount(self) -> None:
        if not self.query(TrainPane):
            # A quit arrived during start-up (`serve` sends one when a tab closes while the app
            # is still loading): the tabs are gone already. Querying them here raised, and an
            # exception while Textual exits left the process spinning at 100% CPU.
            return
        self.set_interval(1 / CHART_FPS, self.redraw)
        self.pane(TrainPane).set_running(False)
        self.show_all()
        if self.loaded:
            self.pane(WeightsPane).query_one("WeightsGrid").set_weights(self.loaded[0].W1)
            self.pane(DrawPane).set_model(self.loaded[0])
            self.status.set(note=f"loaded {self.load_path}: Start continues from it")
        else:
            self.status.set(note="s: start · f: form · [ ]: smoothing · ?: every key · ctrl+p: commands")

    def pane(self, kind: type):
        return self.query_one(kind)

    @property
    def status(self) -> StatusBar:
        return self.query_one("#status", StatusBar)

    @property
    def form(self) -> HyperForm:
        return self.query_one("#form", HyperForm)

    def watch_run_state(self, state: RunState) -> None:
        self.pane(TrainPane).set_running(state.going, paused=state is RunState.PAUSED)
        self.status.set(state=state.value)
        if state in (RunState.TRAINING, RunState.PAUSED):
            self.status.set(eta=None if state is RunState.PAUSED else self.status.eta)

    # --- drawing ------------------------------------------------------------------------------

    def redraw(self) -> None:
        """Redraw the pane on screen if the run moved on. The others catch up when shown, so
        a fast run (an epoch every tick) costs the UI one pane, not eight."""
        history = self.history
        if history.version == self._drawn_version:
            return
        self._drawn_version = history.version
        active = self.query_one(TabbedContent).active
        if active in TABS:
            self.query_one(f"#{active}").show(history)

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

    # --- running ------------------------------------------------------------------------------

    def action_start(self) -> None:
        if not self.query("#form"):
            return  # the app is closing before it finished starting
        if self.run_state.going:
            self.notify("A run is going: stop it first (x).", severity="warning")
            return
        config, errors = self.form.read()
        if config is None:
            self.status.set(note=f"fix {len(errors)} field(s) first")
            self.notify(next(iter(errors.values())), title="Cannot start", severity="error")
            return
        if config.dataset != self.dataset.name:
            self._switch_dataset(config.dataset)  # loads (or downloads) it, then starts
            return
        reason = check_run(config, self.dataset.n_train, self.dataset.n_test)
        if reason:
            self.notify(reason, title="Cannot start", severity="error")
            return
        model = self.loaded[0] if self.loaded and self.loaded[0].n_hidden == config.hidden else None
        self.loaded = None
        self._loaded_model = model
        self.run_id += 1
        session = RunSession(self.engine, config, db_path=self.db_path, model=model,
                             history=RunHistory(self.history.epoch_columns() if model else None),
                             on_event=partial(self._session_event, self.run_id),
                             progress_interval=self.progress_interval)
        self.session, self.history, self.run_config, self.db_run_id = session, session.history, config, None
        self.pane(TrainPane).config = config
        self.pane(NetworkPane).set_shape(config.batch_size, config.hidden)
        self.run_state = RunState.TRAINING
        self.status.set(epoch=session.history.offset + 1, epochs=session.history.planned,
                        fraction=0.0, rate=0.0, elapsed=0.0, eta=None, note="starting…")
        self.show_all()
        self.pane(TrainPane).ghost = None
        session.start()

    def _session_event(self, run_id: int, session: RunSession, event: Event | Started) -> None:
        """The run's reader thread, after the session took the event into its history and
        the database: tell the screen."""
        if isinstance(event, Started):
            self.post_message(HistoryStatus(run_id, session.db_run_id, session.record_error))
            # The ghost to race, read here (the reader thread) before this run has an epoch.
            self.post_message(GhostFound(run_id, find_ghost(self.db_path, session.config.dataset,
                                                            session.db_run_id)))
        elif event is session.record_lost_at:  # the history failed during the run
            self.post_message(HistoryStatus(run_id, None, session.record_error))
        self.post_message(RunEvent(run_id, event))

    def on_ghost_found(self, message: GhostFound) -> None:
        if message.ghost is None or message.run_id != self.run_id or not self.query(TrainPane):
            return
        self.pane(TrainPane).ghost = message.ghost
        self.pane(TrainPane).show(self.history)

    def on_run_event(self, message: RunEvent) -> None:
        if message.run_id != self.run_id:
            return  # a stopped or replaced run still finishing
        ev = message.event
        if isinstance(ev, MERGEABLE):
            self._show_progress()
            if self._save_on_weights and self.history.weights is not self._weights_asked:
                self._save_on_weights = False
                self._save()
        elif isinstance(ev, (Finished, Diverged, Failed)):
            state = RunState(status_of(ev))
            note = ev.message if not isinstance(ev, Finished) else (
                "" if ev.test_acc is None else f"test accuracy {ev.test_acc:.2%}")
            self._end_run(state, note)
            if state is RunState.DIVERGED:
                self.notify(ev.message, title="Diverged", severity="error", timeout=10)
            elif state is RunState.ERROR:
                self.notify(ev.message, title="Training failed", severity="error", timeout=10)

    def on_history_status(self, message: HistoryStatus) -> None:
        if message.run_id != self.run_id:
            return
        if message.db_run_id is not None:
            self.db_run_id = message.db_run_id
        if message.error:
            self.notify(f"Training goes on, but this run is not being recorded: {message.error}",
                        title="Run history", severity="warning", timeout=8)

    def _end_run(self, state: RunState, note: str) -> None:
        self.run_state = state
        self.status.set(note=note, eta=None)
        self.show_all()

    def action_pause(self) -> None:
        if self.run_state is RunState.TRAINING and self.handle:
            self.session.pause()
            self.run_state = RunState.PAUSED
            self.session.request_weights()  # every view then shows the network where it paused
        elif self.run_state is RunState.PAUSED and self.handle:
            self.session.resume()
            self.run_state = RunState.TRAINING
        else:
            self.status.set(note=f"nothing to pause: no run is going ({self.run_state.value}); "
                                 "s starts one")

    def action_stop(self) -> None:
        if self.run_state.going and self.handle:
            self.session.stop()
            self.status.set(note="stopping…")
        else:
            self.status.set(note=f"nothing to stop: no run is going ({self.run_state.value})")

    def run_over(self, timeout: float | None = None) -> bool:
        """Wait until the run's process and its reader have ended; True if they have (or no
        run was ever started)."""
        return self.handle is None or self.handle.join(timeout)

    def freeze_timings(self, epoch_seconds: float, rate: float, elapsed: float) -> None:
        """Show fixed timings instead of measured ones (for screenshots that must not vary)."""
        with self.history.lock:
            self.history.epochs["seconds"] = [epoch_seconds] * len(self.history.epochs["seconds"])
        self.status.set(rate=rate, elapsed=elapsed)
        self.show_all()

    # --- switching dataset ----------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="dataset", exit_on_error=False)
    def _switch_dataset(self, name: str) -> None:
        """Load the other dataset off the UI thread (downloading it the first time, with
        progress in the status line), then swap it in and start the run."""
        title = INFO[name].title

        def note(text: str) -> None:  # on the UI thread, and only while the screen is there
            for bar in self.query("#status"):
                bar.set(note=text)

        self.app.call_from_thread(note, f"loading {title}…")

        def progress(file: str, done: int, total: int) -> None:
            if total:
                self.app.call_from_thread(note, f"downloading {title}: {file} {done / total:.0%}")

        try:
            dataset = data.load(None, progress=progress, dataset=name)
        except data.DataError as e:
            self.app.call_from_thread(self._dataset_failed, str(e))
            return
        self.app.call_from_thread(self._use_dataset, dataset)

    def _dataset_failed(self, error: str) -> None:
        if not self.query("#status"):
            return  # the app is leaving
        self.notify(error, title="Dataset not loaded", severity="error", timeout=15)
        self.status.set(note=f"still {INFO[self.dataset.name].title}: {error}")

    def _use_dataset(self, dataset) -> None:
        """Every pane switches to `dataset` (in a new engine); the old engine's block is freed."""
        if self.run_state.going or not self.query("#status"):
            return
        old, self.engine = self.engine, Engine(dataset)
        self.dataset = self.app.dataset = self.engine.dataset
        self.app.engine = self.engine
        for pane in (TrainPane, DigitsPane, MistakesPane):
            self.pane(pane).dataset = self.dataset
        self.pane(MistakesPane).query_one(MistakesView).set_data(self.dataset.test_images,
                                                                 self.dataset.test_labels)
        for table in self.query(ConfusionTable):
            table.set_classes(self.dataset.classes)
        self.pane(SweepPane).engine = self.engine
        had_checkpoint = self.loaded is not None or self._loaded_model is not None
        self.history, self.loaded, self._loaded_model = RunHistory(), None, None
        # The other dataset's runs drawn over the charts mean nothing here: drop them.
        self.pane(TrainPane).overlays = {}
        self.pane(RunsPane).query_one(RunsView).clear_overlay()
        old.close()
        self.notify(f"{self.dataset.n_train:,} training and {self.dataset.n_test:,} test images"
                    + (". The run starts fresh: the loaded checkpoint was trained on another "
                       "dataset." if had_checkpoint else ""),
                    title=INFO[self.dataset.name].title, timeout=8 if had_checkpoint else None)
        self.show_all()
        self.action_start()

    # --- races --------------------------------------------------------------------------------

    def action_race_field(self) -> None:
        self.action_show_tab("train")
        self.set_focus(self.query_one("#race", Input))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id != "race":
            return
        event.stop()
        config, errors = self.form.read()
        if config is None:
            self.notify(f"fix the form first: {next(iter(errors.values()))}", severity="error")
            return
        try:
            field, configs = parse_race(event.value, config)
        except ValueError as e:
            self.notify(str(e), title="Cannot race", severity="error")
            return
        self._race(configs, field)

    def on_runs_view_race(self, event: RunsView.Race) -> None:
        if not MIN_RACERS <= len(event.configs) <= MAX_RACERS:
            self.notify(f"Mark {MIN_RACERS} to {MAX_RACERS} runs with space to race them.",
                        severity="warning")
            return
        try:
            configs = [from_dict(c) for c in event.configs]
        except ValueError as e:
            self.notify(f"A marked run's config is not usable: {e}", severity="error")
            return
        self._race(configs, differing_field(configs))

    def _race(self, configs: list[TrainConfig], field: str | None) -> None:
        if self.run_state.going:
            self.notify("Stop the run (x) before starting a race.", severity="warning")
            return
        for c in configs:
            reason = check_run(c, self.dataset.n_train, self.dataset.n_test)
            if c.dataset != self.dataset.name:
                reason = (f"the dashboard holds {INFO[self.dataset.name].title}: start a run on "
                          f"{INFO[c.dataset].title} first (s), then race")
            if reason:
                self.notify(reason, title="Cannot race", severity="error")
                return
        reason = check_racers(configs, self.dataset.n_train, self.dataset.n_test)  # all at once
        if reason:
            self.notify(reason, title="Cannot race", severity="error")
            return
        from .race import RaceScreen

        # The race text is spent, and the focus leaves its field: back from the race, Esc
        # used to land in the field again (8 typed into it, Enter raced the same again).
        self.query_one("#race", Input).value = ""
        self.focus_tab_content()
        self.app.push_screen(RaceScreen(self.engine, configs, field, db_path=self.db_path,
                                        progress_interval=self.progress_interval))

    def on_hyper_form_submitted(self) -> None:
        self.action_start()

    def on_hyper_form_live_edited(self, event: HyperForm.LiveEdited) -> None:
        if not self.run_state.going or self.session is None:
            return
        self.session.set_live(event.name, event.value)
        self.status.set(note=f"{event.name} → {event.value:g} from the next batch")

    def on_hyper_form_validity(self, event: HyperForm.Validity) -> None:
        if event.n_errors == 0 and self.status.note.startswith("fix "):
            self.status.set(note="")  # the form is valid again: the old advice is stale
        if event.n_errors == 0 and not self.run_state.going:
            config, _ = self.form.read()  # idle: the Network tab shows the run to come
            if config is not None:
                self.pane(NetworkPane).set_shape(config.batch_size, config.hidden)

    # --- keys -----------------------------------------------------------------------------------

    def action_edit_form(self) -> None:
        """Go to the Train tab with the cursor in the form's first field."""
        self.action_show_tab("train")
        self.form.focus_first()

    def action_leave_form(self) -> None:
        """Leave a field for the shown tab's content, so the tab's keys (and the footer's)
        work again; never for nowhere."""
        self.focus_tab_content()

    def focus_tab_content(self) -> None:
        tabbed = self.query_one(TabbedContent)
        if tabbed.active:
            self.query_one(f"#{tabbed.active}").focus_content()
        else:
            self.set_focus(None)

    def action_toggle_ghost(self) -> None:
        pane = self.pane(TrainPane)
        pane.show_ghost = not pane.show_ghost
        pane.show(self.history)
        g = pane.ghost
        if g is None:
            note = "no ghost: no run in the history on this machine reached the target yet"
        else:
            note = (f"ghost #{g.run_id} {'shown' if pane.show_ghost else 'hidden'} (g): "
                    f"{g.target:.0%} in {g.reached_seconds:.1f}s")
        self.status.set(note=note)

    def action_smoothing(self, step: int) -> None:
        value = self.pane(TrainPane).step_smoothing(step)
        self.pane(TrainPane).show(self.history)
        self.status.set(note=f"loss smoothing {value:g} (EMA over batches; [ ] change it)")

    def action_show_tab(self, tab: str) -> None:
        self.query_one(TabbedContent).active = tab
        self._opened(tab)

    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        """A tab opened by a click (a key's tab is opened by action_show_tab). The message
        comes late: a tab that is no longer the active one, or that a key opened already, is
        left alone, so no stale message can take the focus or the tab back."""
        tab = event.pane.id
        if tab == self.query_one(TabbedContent).active and tab != self._tab_opened:
            self._opened(tab)

    def _opened(self, tab: str) -> None:
        """Draw the tab and focus its content, now: a deferred focus would land after the
        next key of a burst, in a pane no longer shown, and activate that pane again."""
        self._tab_opened = tab
        if tab == "runs":
            self._reload_runs()
        pane = self.query_one(f"#{tab}")
        pane.show(self.history)
        pane.focus_content()

    def on_weights_grid_unit_chosen(self, event) -> None:
        if self.model is None:
            return
        from .unit import UnitScreen

        self.app.push_screen(UnitScreen(self, event.unit))

    def on_mistakes_view_to_draw(self, event: MistakesView.ToDraw) -> None:
        i, ds = event.index, self.dataset
        label = int(ds.test_labels[i])
        self.pane(DrawPane).set_sample(ds.test_images[i], label, f"test #{i}")
        self.action_show_tab("draw")
        self.status.set(note=f"test #{i} in Draw: n then a class key nudges it toward that class")

    def on_mistakes_view_show_suspects(self) -> None:
        from .suspects import SuspectsScreen

        self.app.push_screen(SuspectsScreen(self.db_path, self.dataset))

    def on_confusion_table_cell_chosen(self, event: ConfusionTable.CellChosen) -> None:
        self.pane(MistakesPane).set_filter(event.true_class, event.pred_class)
        self.action_show_tab("mistakes")

    # --- checkpoints --------------------------------------------------------------------------

    def action_save(self) -> None:
        if self.model is None or not len(self.history):
            self.notify("Nothing to save yet: train at least one epoch.", severity="warning")
            return
        if self.run_state is RunState.TRAINING:
            self.notify("Pause (p) or stop (x) before saving.", severity="warning")
            return
        if self.run_state is RunState.PAUSED and self.handle:
            self._save_on_weights = True  # saved when the paused run's weights arrive
            self._weights_asked = self.history.weights
            self.session.request_weights()
            return
        self._save()

    def _save(self) -> None:
        name = time.strftime("mnist-tui-%Y%m%d-%H%M%S.npz")
        try:
            path = checkpoint.save(self.save_dir / name, self.model, self.run_config,
                                   self.history.epoch_columns(), exclusive=True)
        except checkpoint.CheckpointError as e:
            self.notify(str(e), title="Save failed", severity="error")
            return
        self.notify(f"saved {show_path(path)}", title="Checkpoint")
        if self.db_run_id is not None:
            try:
                with Store(self.db_path, timeout=1.0) as db:
                    db.set_checkpoint(self.db_run_id, str(path.resolve()))
            except StoreError:
                pass  # the checkpoint is saved; only its mention in the history is missing

    def action_load(self) -> None:
        if self.run_state.going:
            self.notify("Stop the run (x) before loading a checkpoint.", severity="warning")
            return
        typed, error = getattr(self, "_load_failed", ("", ""))  # kept after an error
        self.app.push_screen(LoadDialog(error, typed, db_path=self.db_path,
                                        save_dir=self.save_dir), self._load_path)

    def _load_path(self, path: str | None) -> None:
        if not self.query("#status"):
            return  # the dialog closed as the app was leaving: nothing left to load into
        if path:
            self._load_typed = path
            self.status.set(note=f"loading {path}…")
            self._read_checkpoint(path)

    @work(thread=True, exclusive=True, group="load", exit_on_error=False)
    def _read_checkpoint(self, path: str) -> None:
        """Read off the UI thread: a slow disk or a hostile file never freezes the keys."""
        try:
            loaded = checkpoint.load(Path(path).expanduser())
        except checkpoint.CheckpointError as e:
            self.app.call_from_thread(self._not_loaded, str(e))
        else:
            self.app.call_from_thread(self._loaded, path, loaded)

    def _not_loaded(self, error: str) -> None:
        """Say why, and keep everything as it was (the path typed too, for the next l)."""
        self._load_failed = (getattr(self, "_load_typed", ""), error)
        self.notify(error, title="Not loaded", severity="error", timeout=10)
        self.status.set(note=f"not loaded: {error}")

    def _loaded(self, path: str, loaded) -> None:
        if loaded[1].dataset != self.dataset.name:
            self._not_loaded(f"{path} was trained on {INFO[loaded[1].dataset].title}, and this "
                             f"dashboard holds {INFO[self.dataset.name].title}")
            return
        if self.run_state.going:
            self.notify("A run started meanwhile: the checkpoint was not loaded.",
                        severity="warning")
            return
        self.loaded, self.load_path = loaded, path
        self._load_failed = ("", "")
        self._loaded_model, self.run_config = loaded[0], loaded[1]
        self.history = RunHistory(loaded[2])
        self.form.set_config(loaded[1])
        self.pane(TrainPane).config = loaded[1]
        self.pane(NetworkPane).set_shape(loaded[1].batch_size, loaded[1].hidden)
        self.run_state = RunState.IDLE
        self.show_all()
        self.pane(WeightsPane).query_one("WeightsGrid").set_weights(loaded[0].W1)
        self.pane(DrawPane).set_model(loaded[0])
        self.status.set(state="idle", epoch=len(self.history), epochs=0, note=(
            f"loaded {path}: {len(self.history)} epochs; Start continues from it"))

    # --- the run history database ---------------------------------------------------------------

    def _reload_runs(self) -> None:
        """The Runs tab reads its page again, in a worker (the history may hold 10,000 runs)."""
        self.pane(RunsPane).query_one(RunsView).load(self.db_path)

    def on_screen_resume(self) -> None:
        """Back from a race (or any screen): the Runs tab lists what it added."""
        if self.query(TabbedContent) and self.query_one(TabbedContent).active == "runs":
            self._reload_runs()

    def on_runs_view_overlay_changed(self, event: RunsView.OverlayChanged) -> None:
        """Draw the marked runs over the curves: the ones already drawn stay, a new one's
        epochs are read in a worker; the table is not read again (a mark changes one cell)."""
        pane = self.pane(TrainPane)
        kept = {i: run for i, run in pane.overlays.items() if i in event.run_ids}
        missing = sorted(event.run_ids - kept.keys())
        if not missing:
            pane.overlays = kept
            pane.show(self.history)
            return
        self._read_overlays(event.run_ids, kept, missing)

    @work(thread=True, exclusive=True, group="overlays", exit_on_error=False)
    def _read_overlays(self, wanted: frozenset, kept: dict, missing: list[int]) -> None:
        try:
            with Store(self.db_path, timeout=1.0, readonly=True) as db:
                read = {i: db.run(i, forgetting=False) for i in missing}
        except (StoreError, KeyError) as e:
            self.app.call_from_thread(self.notify, f"Cannot read the run history: {e}",
                                      severity="error")
            read = {}
        self.app.call_from_thread(self._overlays_read, wanted, {**kept, **read})

    def _overlays_read(self, wanted: frozenset, overlays: dict) -> None:
        view = self.pane(RunsPane).query_one(RunsView)
        if frozenset(view.overlay) != wanted:
            return  # marked again meanwhile: that newer change reads what it needs
        pane = self.pane(TrainPane)
        pane.overlays = dict(sorted(overlays.items()))
        pane.show(self.history)

    def on_runs_view_compare(self, event: RunsView.Compare) -> None:
        self._read_compare(event.run_ids)

    @work(thread=True, exclusive=True, group="compare", exit_on_error=False)
    def _read_compare(self, run_ids: tuple[int, ...]) -> None:
        from .compare import CompareScreen

        try:
            with Store(self.db_path, timeout=1.0, readonly=True) as db:
                runs = [db.run(i, forgetting=False) for i in run_ids]
        except (StoreError, KeyError) as e:
            self.app.call_from_thread(self.notify, f"Cannot read the run history: {e}",
                                      severity="error")
            return
        self.app.call_from_thread(self.app.push_screen, CompareScreen(runs))

    def on_runs_view_run_again(self, event: RunsView.RunAgain) -> None:
        try:
            config = from_dict(event.config)
        except ValueError as e:
            self.notify(f"That run's config is not usable: {e}", severity="error")
            return
        self.form.set_config(config)
        self.action_show_tab("train")
        self.status.set(note="form filled from the run: press s to start")

    def on_runs_view_delete_run(self, event: RunsView.DeleteRun) -> None:
        try:
            with Store(self.db_path, timeout=1.0) as db:
                deleted = db.delete_run(event.run_id)
        except StoreError as e:
            self.notify(str(e), title="Not deleted", severity="error")
        else:
            self.notify(f"Deleted run {event.run_id}." if deleted else
                        f"Run {event.run_id} was already gone.", title="Run history")
        self.pane(TrainPane).overlays.pop(event.run_id, None)
        self._reload_runs()
        self.pane(TrainPane).show(self.history)


def find_ghost(db_path, dataset: str, exclude: int | None):
    """The history's fastest run on this machine to the dataset's target (not run `exclude`),
    or None; never raises (a locked or damaged history just means no ghost)."""
    from ...core.insight import fastest_to_target

    try:
        with Store(db_path, readonly=True) as db:
            return fastest_to_target(db, dataset, exclude=exclude)
    except (StoreError, OSError):
        return None
