"""LoadDialog: ask for a checkpoint path; the app validates it and keeps its state on error."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static

from ..widgets.capped_input import CappedInput

MAX_PATH_CHARS = 4096  # PATH_MAX on Linux: a longer path cannot name a file anyway


class LoadDialog(ModalScreen[str | None]):
    """Returns the path typed, or None on Escape."""

    AUTO_FOCUS = "#load-path"  # the app focuses nothing at start; this dialog wants its field
    BINDINGS = [Binding("escape", "cancel", "Cancel")]
    DEFAULT_CSS = """
    LoadDialog { align: center middle; }
    LoadDialog > Vertical { width: 60; height: auto; border: round $primary; padding: 0 1;
                            background: $surface; }
    LoadDialog Input { margin: 1 0 0 0; }
    LoadDialog #load-error { color: $error; height: auto; }
    """

    def __init__(self, error: str = "", value: str = "") -> None:
        super().__init__()
        self.error = error
        self.value = value
        self.closing = False

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("Load a checkpoint (.npz): weights, config and curves")
            yield CappedInput(self.value, placeholder="path/to/run.npz", id="load-path",
                              max_length=MAX_PATH_CHARS)
            yield Static(self.error, id="load-error")
            yield Static("Enter to load · Escape to cancel", classes="dim")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self._close(event.value.strip() or None)

    def action_cancel(self) -> None:
        self._close(None)

    def _close(self, result: str | None) -> None:
        # Once only: a second Enter or an Escape in the same burst of keys would dismiss the
        # dialog again, and a second result for one dialog raised InvalidStateError.
        # And only while on top: dismiss() pops the top screen, so an answer handled with the
        # palette above (Enter then ctrl+p in one burst) closed the palette and left this
        # dialog marked closing, deaf to every key after. Such an answer is dropped.
        if not self.closing and self.app.screen is self:
            self.closing = True
            self.dismiss(result)
