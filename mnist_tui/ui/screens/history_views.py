"""The main screen and the run history database: the Runs tab's page, overlays, compare, run
again, delete, following a live run; every read and write in a worker, never on the UI thread."""

from __future__ import annotations

from functools import partial

from textual import work
from textual.widgets import TabbedContent

from ...core import host
from ...core.config import from_dict
from ...core.store import Store, StoreError
from ..panes import NetworkPane, RunsPane, TrainPane
from ..widgets.runs_view import RunsView
from .run_state import RunState


class HistoryViews:
    """MainScreen's methods for the run history (a mixin: MainScreen holds the state)."""

    def attach(self, remote) -> None:
        """Show and steer a run that another process hosts (a core.remote.RemoteSession), as
        if it were this dashboard's own: every tab reads its history."""
        self.run_id += 1
        remote.on_event = partial(self._session_event, self.run_id)
        self.session, self.history, self.run_config = remote, remote.history, remote.config
        self.db_run_id = remote.db_run_id
        self.pane(TrainPane).config = remote.config
        self.pane(NetworkPane).set_shape(remote.config.batch_size, remote.config.hidden)
        self.form.set_config(remote.config)
        self.run_state = RunState(remote.state) if remote.state in RunState._value2member_map_ \
            else RunState.TRAINING
        self.status.set(epochs=remote.history.planned, note=f"attached to run {remote.run_id} "
                        f"({remote.info['host']}, pid {remote.info['pid']})")
        self.show_all()
        remote.start()
        self.show_leave_keys()  # q and D leave it going

    def _reload_runs(self) -> None:
        """The Runs tab reads its page again, in a worker (the history may hold 10,000 runs)."""
        self.pane(RunsPane).query_one(RunsView).load(self.db_path)

    def on_screen_resume(self) -> None:
        """Back from a race (or any screen): the Runs tab lists what it added."""
        if self.query(TabbedContent) and self.query_one(TabbedContent).active == "runs":
            self._reload_runs()
        if self.query("#status"):
            self.show_leave_keys()

    def on_data_table_row_selected(self, event) -> None:
        """Enter on a live run in the Runs tab: follow it here (core/remote.py)."""
        if event.data_table.id != "runs-table":
            return
        run = self.query_one(RunsView).current
        if run is None or run["status"] != "live":
            return
        if self.session is not None and run["id"] == self.db_run_id and self.run_state.going:
            self.action_show_tab("train")  # it is this dashboard's own run
            return
        if self.run_state.going:
            self.notify("Stop this dashboard's run (x) before following another.",
                        severity="warning")
            return
        from ...core.remote import RemoteSession

        try:
            remote = RemoteSession(run["id"], db_path=self.db_path)
        except host.HostError as e:
            self.notify(str(e), severity="error")
            return
        self.attach(remote)
        self.action_show_tab("train")

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
        self._delete_run(event.run_id)

    @work(thread=True, group="delete", exit_on_error=False)
    def _delete_run(self, run_id: int) -> None:
        try:
            with Store(self.db_path, timeout=1.0) as db:
                deleted = db.delete_run(run_id)
        except StoreError as e:
            self.app.call_from_thread(self.notify, str(e), title="Not deleted", severity="error")
        else:
            self.app.call_from_thread(
                self.notify, f"Deleted run {run_id}." if deleted else
                f"Run {run_id} was already gone.", title="Run history")
        self.app.call_from_thread(self._run_deleted, run_id)

    def _run_deleted(self, run_id: int) -> None:
        if not self.query(TrainPane):
            return  # the app is leaving
        self.pane(TrainPane).overlays.pop(run_id, None)
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
