"""HyperForm: the hyperparameter fields, validated as the user types by the core's rules."""

from __future__ import annotations

from dataclasses import fields

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.validation import ValidationResult, Validator
from textual.widgets import Input, Label, Select, Static

from ..core.augment import AUGMENTS
from ..core.train import SCHEDULES, SPECS, TrainConfig, parse_field, range_text

LABELS = {
    "hidden": "hidden n", "epochs": "epochs", "lr": "lr", "batch_size": "batch",
    "momentum": "momentum", "weight_decay": "decay", "schedule": "schedule", "seed": "seed",
    "augment": "augment",
}
CHOICES = {"schedule": SCHEDULES, "augment": AUGMENTS}
LIVE = ("lr", "momentum")  # may change while training runs; the rest apply at the next Start


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
    """Eight fields; `read()` returns a TrainConfig or the errors by field."""

    class LiveEdited(Message):
        """A live field (lr, momentum) now holds a valid new value."""

        def __init__(self, name: str, value: float) -> None:
            super().__init__()
            self.name = name
            self.value = value

    class Submitted(Message):
        """Enter was pressed in a field."""

    def __init__(self, config: TrainConfig, **kwargs) -> None:
        super().__init__(**kwargs)
        self.config = config
        self.errors: dict[str, str] = {}
        self.training = False

    def compose(self) -> ComposeResult:
        for f in fields(TrainConfig):
            with Horizontal(classes="form-row", id=f"row-{f.name}"):
                yield Label(LABELS[f.name], classes="form-label")
                if f.name in CHOICES:
                    yield Select([(s, s) for s in CHOICES[f.name]], value=getattr(self.config, f.name),
                                 allow_blank=False, compact=True, id=f"f-{f.name}")
                else:
                    yield Input(str(getattr(self.config, f.name)), id=f"f-{f.name}", compact=True,
                                max_length=40, validators=[FieldValidator(f.name)],
                                validate_on=["changed", "submitted"],
                                tooltip=f"{SPECS[f.name].help}: {range_text(SPECS[f.name])}")
                yield Static(" ", classes="form-mark", id=f"m-{f.name}")
        yield Static("", id="form-message")

    def set_config(self, config: TrainConfig) -> None:
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
        for f in fields(TrainConfig):
            self.query_one(f"#row-{f.name}").set_class(training and f.name not in LIVE, "-next-run")
        self._show_errors()

    def on_input_changed(self, event: Input.Changed) -> None:
        name = event.input.id.removeprefix("f-")
        result = event.validation_result
        if result is None or result.is_valid:
            self.errors.pop(name, None)
            if self.training and name in LIVE:
                self.post_message(self.LiveEdited(name, parse_field(name, event.value)))
        else:
            self.errors[name] = result.failure_descriptions[0]
        self._show_errors()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.post_message(self.Submitted())

    def _show_errors(self) -> None:
        for f in fields(TrainConfig):
            self.query_one(f"#m-{f.name}", Static).update("✗" if f.name in self.errors else " ")
        msg = self.query_one("#form-message", Static)
        if self.errors:
            msg.update("✗ " + next(iter(self.errors.values())))
            msg.set_class(True, "-error")
        else:
            msg.set_class(False, "-error")
            msg.update("lr, momentum apply now; others at next Start" if self.training else "")

