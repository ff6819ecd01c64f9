"""The dashboard's main screen: the ten tabs, the status bar, and the wiring to a run.

A run is a core.session.RunSession (its process, history and record; or a RemoteSession, a run
another process hosts). Its reader thread takes each event into the history and the database
and posts a RunEvent; this screen turns the events into the run state, and a timer redraws the
shown pane from the history a few times a second. This module composes, routes keys and
messages, and starts runs; the rest lives beside it, each in its own mixin: drawing (the
timer's redraw, the status bar's progress), run_keys (pause, stop, live edits, the form's
events), view_keys (tabs, the form's focus, moves between views), race_start; and what reads or
writes files, always in a worker: checkpoint_keys (w, l), history_views (the Runs tab's
database, following a live run), dataset_switch.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

from textual.app import ComposeResult
from textual.binding import Binding
from textual.reactive import Reactive, reactive
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import TabbedContent

from ...core.config import TrainConfig
from ...core.engine import Engine, RunHandle, Started
from ...core.events import Diverged, EpochEnd, Event, Failed, Finished
from ...core.history import RunHistory
from ...core.model import Perceptron
from ...core.recording import status_of
from ...core.resources import check_run
from ...core.session import RunSession
from ...core.train import Live
from ..compat import StyledOnMount
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
from ..widgets.guarded_tabs import FocusGuardedTabs
from ..widgets.hyper_form import HyperForm
from ..widgets.status_bar import StatusBar
from ..widgets.steady_footer import SteadyFooter
from .checkpoint_keys import CheckpointKeys
from .dataset_switch import DatasetSwitch
from .drawing import CHART_FPS, Drawing
from .history_views import HistoryViews, find_ghost
from .race_start import RaceStart
from .run_keys import RunKeys
from .run_state import RunState
from .view_keys import ViewKeys


class MainScreen(Drawing, RunKeys, CheckpointKeys, HistoryViews, RaceStart, DatasetSwitch, ViewKeys,
                 StyledOnMount, Screen):
    """Tabs for watching a run, keys for steering it."""

    # Also the palette's commands (ui/commands.py) and the help screen's rows (? or F1): the
    # description names the command, the tooltip says what it does.
    BINDINGS = [
        Binding("q", "app.quit", "Quit",
                tooltip="Quit: this process's runs stop, recorded (a run attached to goes on)"),
        Binding("D", "app.detach", "Detach",
                tooltip="Quit and leave the runs training (mnist-tui attach follows one)"),
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
    # Textual's Screen repaints itself whole when the focus moves (its `focused` repaints by
    # default), so each tab key drew every line twice: the widgets whose look follows the
    # focus repaint themselves (:focus styles, a cursor), and the footer follows the keys.
    focused: Reactive[Widget | None] = Reactive(None, repaint=False)

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
        self.breakpoints_now()  # before the panes mount: the first Resize then restyles nothing
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
        self.set_interval(1.0, self._show_usage)
        self.pane(TrainPane).set_running(False)
        self.show_all()
        if self.loaded:
            self.pane(WeightsPane).query_one("WeightsGrid").set_weights(self.loaded[0].W1)
            self.pane(DrawPane).set_model(self.loaded[0])
            self.status.set(note=f"loaded {self.load_path}: Start continues from it")
        elif self.attaching:
            self.status.set(note=f"attaching to run {self.app.attach_to.run_id}…")
        else:
            self.status.set(note="s: start · f: form · ?: every key")
        self.show_leave_keys()

    @property
    def attaching(self) -> bool:
        """`mnist-tui attach` opened us and the run is not shown yet (see `attach`)."""
        return getattr(self.app, "attach_to", None) is not None and self.session is None

    def pane(self, kind: type):
        return self._found(kind)

    @property
    def status(self) -> StatusBar:
        return self._found("#status")

    @property
    def form(self) -> HyperForm:
        return self._found("#form")

    def _found(self, selector):
        """query_one, kept: these are asked for many times a second (the status bar, the
        panes), and each query walks the whole screen (hundreds of widgets): it was most of
        what an idle second and a tab key cost. Raises NoMatches as query_one does."""
        found = self.__dict__.setdefault("_found_widgets", {}).get(selector)
        if found is None or not found.is_attached:
            found = self._found_widgets[selector] = self.query_one(selector)
        return found

    def watch_run_state(self, state: RunState) -> None:
        self.pane(TrainPane).set_running(state.going, paused=state is RunState.PAUSED)
        self.status.set(state=state.value)
        self.show_leave_keys()
        if state in (RunState.TRAINING, RunState.PAUSED):
            self.status.set(eta=None if state is RunState.PAUSED else self.status.eta)

    # --- running ------------------------------------------------------------------------------

    def action_start(self) -> None:
        if not self.query("#form"):
            return  # the app is closing before it finished starting
        if self.run_state.going:
            self.notify("A run is going: stop it first (x).", severity="warning")
            return
        if self.attaching:
            return  # `s` typed while `mnist-tui attach` connects would start a run of ours
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
        if isinstance(ev, tuple) and ev[0] == "state" and self.run_state.going:
            self.run_state = RunState(ev[1])  # paused or resumed from another dashboard
        elif isinstance(ev, MERGEABLE):
            self._show_progress()
            if isinstance(ev, EpochEnd):
                self._runs_moved()
            if self._save_on_weights and self.history.weights is not self._weights_asked:
                self._save_on_weights = False
                self._save()
        elif isinstance(ev, (Finished, Diverged, Failed)):
            state = (RunState.LOST if getattr(self.session, "gone", False)
                     else RunState(status_of(ev)))
            note = ev.message if not isinstance(ev, Finished) else (
                "" if ev.test_acc is None else f"test accuracy {ev.test_acc:.2%}")
            self._end_run(state, note)
            self._runs_moved()
            if state is RunState.DIVERGED:
                self.notify(ev.message, title="Diverged", severity="error", timeout=10)
            elif state in (RunState.ERROR, RunState.LOST):
                self.notify(ev.message, title="Training failed" if state is RunState.ERROR
                            else "Run lost", severity="error", timeout=10)

    def _runs_moved(self) -> None:
        """The run's row changed (an epoch, its end): the Runs tab, if shown, reads its page
        again (in a worker); a run's row read 'running 0 epochs' until the tab was left."""
        if self.query_one(TabbedContent).active == "runs":
            self._reload_runs()

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

    def run_over(self, timeout: float | None = None) -> bool:
        """Wait until the run's process and its reader have ended; True if they have (or no
        run was ever started)."""
        return self.handle is None or self.handle.join(timeout)
