"""MistakesView: browse the test samples the latest epoch got wrong, most confident first."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Label, Static

from ...core.forgetting import KINDS, Forgetting, analyse
from ...core.metrics import select_samples
from ..compat import Select  # Textual's, with the page-key guard
from .digit_view import DigitView

ANY = -1
CLASS_OPTIONS = [("any", ANY)] + [(str(k), k) for k in range(10)]


class MistakesView(Vertical, can_focus=True):
    """Filters by true and predicted class; ←/→ or j/k step through the samples."""

    BINDINGS = [
        Binding("right,j", "step(1)", "Next", key_display="→/j"),
        Binding("left,k", "step(-1)", "Prev", key_display="←/k"),
        Binding("n", "to_draw", "Nudge in Draw"),
        Binding("S", "suspects", "Suspects"),
    ]

    @dataclass
    class ToDraw(Message):
        """Open this test sample in the Draw tab, to nudge it toward another class."""

        index: int

    class ShowSuspects(Message):
        """Open the suspect labels found across the history's runs."""

    def class_options(self) -> list[tuple[str, int]]:
        names = getattr(getattr(self.app, "dataset", None), "classes", None)
        if not names or names[0] == "0":
            return CLASS_OPTIONS
        return [("any", ANY)] + [(f"{k} {name}", k) for k, name in enumerate(names)]

    def __init__(self, images: np.ndarray, labels: np.ndarray, **kwargs) -> None:
        super().__init__(**kwargs)
        self.images, self.labels = images, labels
        self.proba: np.ndarray | None = None
        self.true_class: int | None = None
        self.pred_class: int | None = None
        self.wrong = True
        self.indices = np.zeros(0, dtype=np.int64)
        self.position = 0
        self.history: Forgetting | None = None  # every sample's right/wrong at each epoch
        self.kind = ANY  # a learning-history kind (core/forgetting.py), or any mistake

    def compose(self) -> ComposeResult:
        with Horizontal(id="mistake-filters"):
            yield Label("true")
            yield Select(self.class_options(), value=ANY, allow_blank=False, compact=True,
                         id="filter-true")
            yield Label("pred")
            yield Select(self.class_options(), value=ANY, allow_blank=False, compact=True,
                         id="filter-pred")
            yield Select([("mistakes", ANY)] + [(k, k) for k in KINDS], value=ANY,
                         allow_blank=False, compact=True, id="filter-kind")
            yield Static("", id="mistake-count")
        yield Static("", id="mistake-history")
        yield DigitView(id="mistake-digit")

    def on_mount(self) -> None:
        self.refresh_view()

    def set_data(self, images: np.ndarray, labels: np.ndarray) -> None:
        """Another dataset: its test set, its class names in the filters, no predictions yet."""
        self.images, self.labels, self.proba = images, labels, None
        self.indices = np.zeros(0, dtype=np.int64)
        self.position = 0
        for select in self.query(Select):
            select.set_options(self.class_options())
        self.refresh_view()

    def set_proba(self, proba: np.ndarray, predictions: np.ndarray | None = None) -> None:
        """New predictions (after an epoch): recompute the list, keeping the filters.
        `predictions` (epochs, n): every epoch's classes, for the learning-history kinds."""
        self.proba = proba
        self.history = None if predictions is None else analyse(predictions, self.labels)
        self._select(keep_position=False)

    def set_filter(self, true_class: int | None, pred_class: int | None) -> None:
        """Filter to a (true, predicted) pair; equal classes show the correct samples."""
        self.true_class, self.pred_class = true_class, pred_class
        self.wrong = not (true_class is not None and true_class == pred_class)
        with self.prevent(Select.Changed):
            self.query_one("#filter-true", Select).value = ANY if true_class is None else true_class
            self.query_one("#filter-pred", Select).value = ANY if pred_class is None else pred_class
        self._select(keep_position=False)

    def on_select_changed(self, event: Select.Changed) -> None:
        event.stop()
        if event.select.id == "filter-kind":
            self.kind = event.value
            self._select(keep_position=False)
            return
        value = None if event.value == ANY else int(event.value)
        if event.select.id == "filter-true":
            self.true_class = value
        else:
            self.pred_class = value
        self.wrong = not (self.true_class is not None and self.true_class == self.pred_class)
        self._select(keep_position=False)

    def action_step(self, delta: int) -> None:
        if len(self.indices):
            self.position = (self.position + delta) % len(self.indices)
            self.refresh_view()

    def action_to_draw(self) -> None:
        if self.current is None:
            self.app.notify("No sample here to nudge: wait for an epoch, or change the filter.",
                            severity="warning")
            return
        self.post_message(self.ToDraw(self.current))

    def action_suspects(self) -> None:
        self.post_message(self.ShowSuspects())

    @property
    def current(self) -> int | None:
        return int(self.indices[self.position]) if len(self.indices) else None

    def _select(self, keep_position: bool) -> None:
        if self.proba is None:
            self.indices = np.zeros(0, dtype=np.int64)
        elif self.kind != ANY and self.history is not None:
            mask = self.history.mask(self.kind)
            pred = self.proba.argmax(axis=1)
            if self.true_class is not None:
                mask &= self.labels == self.true_class
            if self.pred_class is not None:
                mask &= pred == self.pred_class
            self.indices = np.flatnonzero(mask)
        else:
            self.indices = select_samples(self.labels, self.proba, self.true_class,
                                          self.pred_class, wrong=self.wrong)
        if not keep_position:
            self.position = 0
        self.refresh_view()

    def refresh_view(self) -> None:
        count = self.query_one("#mistake-count", Static)
        digit = self.query_one("#mistake-digit", DigitView)
        story = self.query_one("#mistake-history", Static)
        kind = "misclassified" if self.wrong else "correct"
        if self.kind != ANY:
            kind = self.kind
        story.update(self._history_line())
        if self.proba is None:
            count.update("  no epoch finished yet")
            digit.show(None, None, None)
            return
        total_wrong = int((self.proba.argmax(axis=1) != self.labels).sum())
        if not len(self.indices):
            count.update(f"  0 {kind} here ({total_wrong} wrong in all)")
            digit.show_message(f"no {kind} samples match this filter")
            return
        i = self.current
        count.update(f"  {self.position + 1} / {len(self.indices)} {kind}")
        story.update(self._history_line(i))
        digit.show(self.images[i], self.proba[i], int(self.labels[i]), caption=f"test sample #{i}")

    def _history_line(self, i: int | None = None) -> str:
        """The sample's epochs (✓/✗ each) and the run's counts of each kind."""
        if self.history is None:
            return ""
        h, c = self.history, self.history.counts()
        counts = (f"{c['never learned']} never · {c['learned late']} late · "
                  f"{c['flip-flopping']} flip-flop · {c['forgotten']} forgotten")
        if i is None:
            return f"over {c['epochs']} epochs: " + counts
        learned = h.learned_at[i]
        story = (f"learned @{learned}" if learned else "not learned") + (
            f", forgot {h.forgettings[i]}x" if h.forgettings[i] else "")
        return f"#{i} {h.timeline(i)[-24:]} {story} │ {counts}"
