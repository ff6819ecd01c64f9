"""ConfusionTable: the 10x10 confusion matrix with per-class recall, updated in place."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from rich.text import Text
from textual.message import Message
from textual.widgets import DataTable

from ...core.metrics import recall_per_class

CELL = 5  # wide enough for "1135" and a space
SHADES = ("", "on #3a2a10", "on #5a3a10", "on #7a3a10", "on #9a2a10")


class ConfusionTable(DataTable):
    """Rows are true classes, columns predicted classes; Enter or a click opens the samples."""

    @dataclass
    class CellChosen(Message):
        """The user chose a cell: show the test samples with this (true, predicted) pair."""

        true_class: int
        pred_class: int

    def __init__(self, **kwargs) -> None:
        super().__init__(cursor_type="cell", zebra_stripes=False, cell_padding=0, **kwargs)
        self._counts: np.ndarray | None = None  # the matrix the cells show

    def on_mount(self) -> None:
        self.set_classes(getattr(getattr(self.app, "dataset", None), "classes", None))

    def set_classes(self, names) -> None:
        """(Re)build the grid with these class names (digits when None), every cell empty."""
        names = list(names or (str(k) for k in range(10)))
        self._counts = None
        self.clear(columns=True)
        self.add_column(Text("true\\pred", style="dim"), width=10, key="label")
        for k in range(10):  # a column header holds 4 characters: "Trou", "Pull", "Boot"
            self.add_column(Text(f"{names[k][:CELL - 1]} ", justify="right"), width=CELL, key=str(k))
        self.add_column(Text("recall", justify="right"), width=8, key="recall")
        for k in range(10):
            self.add_row(Text(f" {names[k][:9]}", style="bold"),
                         *[Text("· ", style="dim", justify="right")] * 10, Text(""), key=str(k))
        self.move_cursor(row=0, column=1)

    def update_matrix(self, cm: np.ndarray) -> None:
        """Write each count and recall into its existing cell (nothing if they show it)."""
        if self._counts is not None and np.array_equal(self._counts, cm):
            return  # a tab shown again: 110 cell updates would repaint the same table
        self._counts = np.array(cm, copy=True)
        recall = recall_per_class(cm)
        off = cm.copy()
        np.fill_diagonal(off, 0)
        top = max(int(off.max()), 1)
        for t in range(10):
            for p in range(10):
                n = int(cm[t, p])
                if t == p:
                    cell = Text(f"{n} ", style="bold reverse green", justify="right")
                elif n == 0:
                    cell = Text("· ", style="dim", justify="right")
                else:
                    level = 1 + min(3, int(4 * n / (top + 1)))
                    style = SHADES[level] + (" bold" if level >= 3 else "")
                    cell = Text(f"{n} ", style=style, justify="right")
                self.update_cell(str(t), str(p), cell)
            r = recall[t]
            self.update_cell(str(t), "recall",
                             Text("--" if np.isnan(r) else f"{r:.1%}", justify="right"))

    def on_data_table_cell_selected(self, event: DataTable.CellSelected) -> None:
        event.stop()
        row, col = event.coordinate.row, event.coordinate.column
        if 1 <= col <= 10:
            self.post_message(self.CellChosen(row, col - 1))
