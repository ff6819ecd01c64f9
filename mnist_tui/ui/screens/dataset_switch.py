"""The main screen's dataset switch: the form asks for the other dataset, it loads in a worker
(downloading it the first time), then every pane moves to it in a new engine."""

from __future__ import annotations

from textual import work

from ...core import data
from ...core.data import INFO
from ...core.engine import Engine
from ...core.history import RunHistory
from ..panes import DigitsPane, MistakesPane, RunsPane, SweepPane, TrainPane
from ..widgets.confusion_table import ConfusionTable
from ..widgets.mistakes_view import MistakesView
from ..widgets.runs_view import RunsView


class DatasetSwitch:
    """MainScreen's methods for switching dataset (a mixin: MainScreen holds the state)."""

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
