"""SuspectsScreen: test samples several runs get confidently wrong alike (core/suspects.py),
with their counts and agreement; each can be marked "label looks wrong" or "model is wrong"."""

from __future__ import annotations

import numpy as np
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from ...core import suspects
from ...core.data import INFO, Dataset
from ...core.store import MARKS, Store, StoreError
from ..widgets.digit_view import DigitView

SHORT = {MARKS[0]: "label wrong", MARKS[1]: "model wrong"}


class SuspectsScreen(Screen):
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("l", "mark(0)", "Label looks wrong"),
        Binding("m", "mark(1)", "Model is wrong"),
        Binding("u", "mark(-1)", "Unmark"),
    ]
    DEFAULT_CSS = """
    SuspectsScreen #suspects-head { height: auto; padding: 0 1; color: $text-muted; }
    SuspectsScreen Horizontal { height: 1fr; }
    SuspectsScreen DataTable { width: 1fr; min-width: 40; }
    SuspectsScreen #suspect-side { width: 53; padding: 0 1; }
    SuspectsScreen.-slim #suspect-side { width: 30; }
    """

    def __init__(self, db_path, dataset: Dataset) -> None:
        super().__init__()
        self.db_path, self.dataset = db_path, dataset
        self.found: list[suspects.Suspect] = []

    def compose(self) -> ComposeResult:
        yield Static("looking through the run history…", id="suspects-head")
        with Horizontal():
            yield DataTable(id="suspects-table", cursor_type="row", zebra_stripes=True)
            with Vertical(id="suspect-side"):
                yield DigitView(compact=True, id="suspect-digit")
                yield Static("", id="suspect-runs")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.cell_padding = 0  # each width keeps a space after its longest value instead
        label = max(6, 1 + max(len(c) for c in self.dataset.classes))
        for name, key, width in (("sample", "sample", 7), ("label", "label", label),
                                 ("says", "says", label), ("mark", "mark", 12),
                                 ("agree", "agree", 10), ("mean p", "p", 6)):  # "17/21 81%" and a space
            table.add_column(name, key=key, width=width)  # fixed: a mark never reads "labe"
        self.query_one("#suspect-digit", DigitView).show(None, None, None)
        self.on_resize()
        self.load()

    def on_resize(self, event=None) -> None:
        """Below 120 columns the digit and bars do not both fit beside the table: the digit
        stays (it is what a person judges), the numbers go into words under it."""
        narrow = (event.size if event is not None else self.app.size).width < 120
        self.set_class(narrow, "-slim")
        self.query_one(DigitView).set_digit_only(narrow)
        self._show_current()

    @work(thread=True, exclusive=True, exit_on_error=False)
    def load(self) -> None:
        try:
            with Store(self.db_path, readonly=True) as db:
                found, evidence = suspects.find(db, self.dataset.name)
        except StoreError as e:
            self.app.call_from_thread(self._head, f"cannot read the run history: {e}")
            return
        self.app.call_from_thread(self._fill, found, evidence)

    def _head(self, text: str) -> None:
        if self.is_attached:
            self.query_one("#suspects-head", Static).update(text)

    def _fill(self, found, evidence) -> None:
        if not self.is_attached:
            return
        self.found = found
        n, title = len(evidence.run_ids), INFO[self.dataset.name].title
        if n < suspects.MIN_RUNS:
            self._head(f"{n} usable {title} run{'s' * (n != 1)} in the history: suspects need "
                       f"{suspects.MIN_RUNS} that differ (seed or config). Train more (change "
                       "the seed in the form), then come back.")
        else:
            self._head(f"{len(found)} suspect label{'s' * (len(found) != 1)}: test samples "
                       f"{suspects.MIN_RUNS}+ of {n} runs call the same other class with p >= "
                       f"{suspects.MIN_CONF:g} · l: label looks wrong · m: model is wrong · "
                       "u: unmark · also 'mnist-tui suspects'")
        table = self.query_one(DataTable)
        table.clear()
        names = self.dataset.classes
        for s in found:
            table.add_row(str(s.index), names[s.label], names[s.runs_say], SHORT.get(s.mark, ""),
                          f"{s.agree}/{s.runs} {s.agreement:.0%}", f"{s.mean_confidence:.3f}",
                          key=str(s.index))
        table.focus()
        self._show_current()

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_current()

    def _current(self) -> suspects.Suspect | None:
        table = self.query_one(DataTable)
        if not self.found or not 0 <= table.cursor_row < len(self.found):
            return None
        return self.found[table.cursor_row]

    def _show_current(self) -> None:
        s = self._current()
        digit = self.query_one("#suspect-digit", DigitView)
        if s is None:
            digit.show_message("no suspects")
            return
        proba = np.zeros(10)
        proba[s.runs_say] = s.mean_confidence
        digit.show(self.dataset.test_images[s.index], proba, s.label,
                   caption=f"#{s.index} runs' mean p")
        names = self.dataset.classes
        words = "runs: " + ", ".join(f"#{r}" for r in s.run_ids)
        if digit.digit_only:
            words = (f"#{s.index}: labelled {names[s.label]}, {s.agree} of {s.runs} runs say "
                     f"{names[s.runs_say]} (mean p {s.mean_confidence:.2f})\n" + words)
        self.query_one("#suspect-runs", Static).update(words)

    def action_mark(self, which: int) -> None:
        s = self._current()
        if s is None:
            return
        mark = None if which < 0 else MARKS[which]
        try:
            with Store(self.db_path, timeout=2.0) as db:
                db.set_mark(self.dataset.name, s.index, mark)
        except StoreError as e:
            self.notify(str(e), title="Mark not saved", severity="error")
            return
        row = self.query_one(DataTable).cursor_row
        self.found[row] = suspects.Suspect(**{**s.__dict__, "mark": mark})
        table = self.query_one(DataTable)
        table.update_cell(str(s.index), "mark", SHORT.get(mark, ""))
        self.notify(f"test #{s.index}: {mark or 'mark taken back'}", timeout=2)
