"""Tab 2, Matrix: the confusion matrix of the last epoch; Enter on a cell opens its samples."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Static

from ...core.history import RunHistory
from ..widgets.confusion_table import ConfusionTable
from .base import Pane


class MatrixPane(Pane):
    TAB_ID, TITLE, FOCUS = "matrix", "Matrix", "#confusion"
    DEFAULT_CSS = """
    MatrixPane ConfusionTable { height: auto; max-height: 100%; width: auto; }
    MatrixPane #matrix-help { color: $text-muted; padding: 1 0 0 1; }
    """

    def compose(self) -> ComposeResult:
        yield ConfusionTable(id="confusion")
        yield Static("rows: true class · columns: predicted · diagonal: right · "
                     "Enter or click on a cell: its samples", id="matrix-help")

    def show(self, history: RunHistory) -> None:
        if history.last_epoch is not None:
            self.query_one(ConfusionTable).update_matrix(history.last_epoch.confusion)
