"""HyperForm: the hyperparameter fields, validated as the user types by the core's rules."""

from __future__ import annotations

from dataclasses import dataclass, fields

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.validation import ValidationResult, Validator
from textual.widgets import Input, Label, Static

from ...core.augment import AUGMENTS
from ...core.config import (
    DATASETS,
    DEFAULT_LR,
    LIVE_FIELDS,
    OPTIMIZERS,
    SCHEDULES,
    SPECS,
    TrainConfig,
    parse_field,
    range_text,
)
from ..compat import Select  # Textual's, with the page-key guard
from .capped_input import CappedInput

LABELS = {
    "hidden": "hidden n", "epochs": "epochs", "lr": "lr", "batch_size": "batch",
    "momentum": "momentum", "weight_decay": "decay", "schedule": "schedule", "seed": "seed",
    "augment": "augment", "optimizer": "optimizer", "beta1": "beta1", "beta2": "beta2",
    "dataset": "dataset", "val_split": "val split",
}
CHOICES = {"schedule": SCHEDULES, "augment": AUGMENTS, "optimizer": OPTIMIZERS, "dataset": DATASETS}
LIVE = LIVE_FIELDS  # may change while training runs; the rest apply at the next Start


class FieldValidator(Validator):
    """Textual validator that defers to the core's `parse_field`, so CLI and form agree."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.field = name

    def validate(self, value: str) -> ValidationResult:
        try:
            parse_field(self.field, value)
        except ValueError as e:
            return self.failure(str(e))
        return self.success()


class HyperForm(Vertical):
    """One field per TrainConfig field; `read()` returns a TrainConfig or the errors by field."""

    BINDINGS = [Binding("escape", "leave", "Leave form")]
    DEFAULT_CSS = """
    HyperForm { height: auto; }
    HyperForm .form-row { height: 1; margin: 0; }
    HyperForm .form-row.-next-run .form-label { color: $text-muted; text-style: italic; }
    HyperForm .form-label { width: 10; padding: 0 1 0 0; }
    HyperForm .form-row Input, HyperForm .form-row Select { width: 1fr; }
    HyperForm .form-mark { width: 2; color: $error; text-style: bold; padding: 0 0 0 1; }
    HyperForm #form-message { height: 3; color: $text-muted; padding: 0; }
    HyperForm #form-message.-error { color: $error; }
    """

    @dataclass
    class LiveEdited(Message):
        """A live field (lr, momentum) now holds a valid new value."""

        name: str
        value: float

    class Submitted(Message):
        """Enter was pressed in a field."""

    @dataclass
    class Validity(Message):
        """The number of invalid fields after an edit (0: the form can start a run)."""

        n_errors: int

    def __init__(self, config: TrainConfig, **kwargs) -> None:
        super().__init__(**kwargs)
        self.config = config
        self.errors: dict[str, str] = {}
        self.training = False
        self.editing: str | None = None  # the field last typed into
        self.pending: dict[str, str] = {}  # live fields typed into but not yet applied
        self.applied: dict[str, str] = {}  # live fields' text as last applied to the run
        self._optimizer = config.optimizer  # to tell when lr should follow a new optimizer

    def compose(self) -> ComposeResult:
        for f in fields(TrainConfig):
            with Horizontal(classes="form-row", id=f"row-{f.name}"):
                yield Label(LABELS[f.name], classes="form-label")
                if f.name in CHOICES:
                    yield Select([(s, s) for s in CHOICES[f.name]], value=getattr(self.config, f.name),
                                 allow_blank=False, compact=True, id=f"f-{f.name}")
                else:
                    yield CappedInput(str(getattr(self.config, f.name)), id=f"f-{f.name}",
                                      compact=True, max_length=200, validators=[FieldValidator(f.name)],
                                validate_on=["changed", "submitted"],
                                tooltip=f"{SPECS[f.name].help}: {range_text(SPECS[f.name])}")
                yield Static(" ", classes="form-mark", id=f"m-{f.name}")
        yield Static("", id="form-message")

    def action_leave(self) -> None:
        leave = getattr(self.screen, "focus_tab_content", None)  # the tab's keys work again
        leave() if leave else self.screen.set_focus(None)

    def focus_first(self) -> None:
        """The first field, focused now: a deferred focus landed after the next key (f Tab
        lost the Tab)."""
        self.screen.set_focus(self.query_one(f"#f-{fields(TrainConfig)[0].name}"))

    def set_config(self, config: TrainConfig) -> None:
        self._optimizer = config.optimizer
        for f in fields(TrainConfig):
            value = getattr(config, f.name)
            if f.name in CHOICES:
                self.query_one(f"#f-{f.name}", Select).value = value
            else:
                self.query_one(f"#f-{f.name}", Input).value = str(value)
        self.errors.clear()

    def read(self) -> tuple[TrainConfig | None, dict[str, str]]:
        values, errors = {}, {}
        for f in fields(TrainConfig):
            text = (str(self.query_one(f"#f-{f.name}", Select).value) if f.name in CHOICES
                    else self.query_one(f"#f-{f.name}", Input).value)
            try:
                values[f.name] = parse_field(f.name, text)
            except ValueError as e:
                errors[f.name] = str(e)
        self.errors = errors
        self._show_errors()
        return (None if errors else TrainConfig(**values)), errors

    def set_training(self, training: bool) -> None:
        """Mark the fields that only apply at the next Start while a run is going."""
        self.training = training
        if training:
            self.applied = {name: self.query_one(f"#f-{name}", Input).value for name in LIVE}
        self.pending.clear()
        for f in fields(TrainConfig):
            self.query_one(f"#row-{f.name}").set_class(training and f.name not in LIVE, "-next-run")
        self._show_errors()

    def on_input_changed(self, event: Input.Changed) -> None:
        name = event.input.id.removeprefix("f-")
        self.editing = name
        result = event.validation_result
        if result is None or result.is_valid:
            self.errors.pop(name, None)
        else:
            self.errors[name] = result.failure_descriptions[0]
        if self.training and name in LIVE:
            # A live value applies on Enter or when the field loses focus, never per keystroke:
            # typing 5e-3 passes through 5, which would diverge the run.
            if event.value != self.applied.get(name):
                self.pending[name] = event.value
            else:
                self.pending.pop(name, None)
        self._show_errors()
        self.post_message(self.Validity(len(self.errors)))

    def on_select_changed(self, event: Select.Changed) -> None:
        """Choosing another optimizer while lr still holds the old one's default moves lr to
        the new one's (0.1 for SGD, 0.001 for Adam): Adam at 0.1 would diverge at once."""
        if event.select.id != "f-optimizer" or self.training:
            return
        lr = self.query_one("#f-lr", Input)
        old, new = self._optimizer, str(event.value)
        self._optimizer = new
        try:
            current = float(lr.value)
        except ValueError:
            return
        if old in DEFAULT_LR and current == DEFAULT_LR[old] and DEFAULT_LR[new] != current:
            lr.value = f"{DEFAULT_LR[new]:g}"
            self.query_one("#form-message", Static).update(
                f"lr set to {DEFAULT_LR[new]:g}, the usual start for {new}")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        name = event.input.id.removeprefix("f-")
        if self.training and name in LIVE:
            self._apply_live(name)
            return
        self.post_message(self.Submitted())

    def on_descendant_blur(self, event) -> None:
        widget = event.widget
        if isinstance(widget, Input) and self.training:
            name = (widget.id or "").removeprefix("f-")
            if name in LIVE:
                self._apply_live(name)

    def _apply_live(self, name: str) -> None:
        """Apply a pending live value if it is valid; an invalid one stays pending with its ✗."""
        text = self.pending.get(name)
        if text is None:
            return
        try:
            value = parse_field(name, text)
        except ValueError as e:
            self.errors[name] = str(e)
            self.editing = name
            self._show_errors()
            return
        self.pending.pop(name, None)
        self.applied[name] = text
        self.errors.pop(name, None)
        self._show_errors()
        self.post_message(self.LiveEdited(name, value))

    def _show_errors(self) -> None:
        for f in fields(TrainConfig):
            self.query_one(f"#m-{f.name}", Static).update("✗" if f.name in self.errors else " ")
        msg = self.query_one("#form-message", Static)
        if self.errors:
            # The field being edited first: its error is the one the user is looking at.
            name = self.editing if self.editing in self.errors else next(iter(self.errors))
            others = len(self.errors) - 1
            msg.update(f"✗ {LABELS[name]}: {self.errors[name]}"
                       + (f" (+{others} other field{'s' if others > 1 else ''})" if others else ""))
            msg.set_class(True, "-error")
        elif self.pending:
            name, text = next(iter(self.pending.items()))
            msg.set_class(False, "-error")
            msg.update(f"{LABELS[name]} {text} pending: Enter to apply (now {self.applied[name]})")
        else:
            msg.set_class(False, "-error")
            msg.update("lr, momentum: edit, then Enter; others at next Start" if self.training else "")
