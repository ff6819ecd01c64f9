"""Tab 8, Runs: every run in the history; overlay, run again, delete."""

from __future__ import annotations

from textual.app import ComposeResult

from ..widgets.runs_view import RunsView
from .base import Pane


class RunsPane(Pane):
    TAB_ID, TITLE, FOCUS = "runs", "Runs", "#runs-table"
    DEFAULT_CSS = """
    RunsPane RunsView #runs-table { height: 1fr; }
    RunsPane #runs-help { color: $text-muted; height: auto; }
    RunsPane #runs-position { color: $text-muted; height: 1; }
    RunsPane #runs-position.-hidden { display: none; }
    """

    def compose(self) -> ComposeResult:
        yield RunsView(id="runs-view")

    def set_runs(self, runs: list[dict], error: str | None = None) -> None:
        self.query_one(RunsView).set_runs(runs, error=error)
