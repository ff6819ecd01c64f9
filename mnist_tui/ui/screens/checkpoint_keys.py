"""The main screen's checkpoints: w saves (exclusively, never over another file; in a worker),
l loads (read and checked in a worker; a bad file changes nothing)."""

from __future__ import annotations

import time
from pathlib import Path

from textual import work

from ...core import checkpoint
from ...core.data import INFO
from ...core.history import RunHistory
from ...core.store import Store, StoreError, show_path
from ..panes import DrawPane, NetworkPane, TrainPane, WeightsPane
from .load_dialog import LoadDialog
from .run_state import RunState


class CheckpointKeys:
    """MainScreen's methods for saving and loading (a mixin: MainScreen holds the state)."""

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
        """Save the weights shown now, in a worker: a slow disk never freezes the keys."""
        name = time.strftime("mnist-tui-%Y%m%d-%H%M%S.npz")
        self._write_checkpoint(self.save_dir / name, self.model, self.run_config,
                               self.history.epoch_columns(), self.db_run_id)

    @work(thread=True, group="save", exit_on_error=False)
    def _write_checkpoint(self, target: Path, model, config, epochs, db_run_id) -> None:
        try:
            path = checkpoint.save(target, model, config, epochs, exclusive=True)
        except checkpoint.CheckpointError as e:
            self.app.call_from_thread(self.notify, str(e), title="Save failed", severity="error")
            return
        self.app.call_from_thread(self.notify, f"saved {show_path(path)}", title="Checkpoint")
        if db_run_id is not None:
            try:
                with Store(self.db_path, timeout=1.0) as db:
                    db.set_checkpoint(db_run_id, str(path.resolve()))
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
