"""LoadDialog: a checkpoint path, typed or picked from a list of the .npz files the history
knows and the save folder holds, newest first; the app validates it and keeps its state on error."""

from __future__ import annotations

import os
from pathlib import Path

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from ...core.store import Store, StoreError
from ..widgets.capped_input import CappedInput

MAX_PATH_CHARS = 4096  # PATH_MAX on Linux: a longer path cannot name a file anyway
MAX_LISTED = 30


def known_checkpoints(db_path=None, save_dir: Path | None = None) -> list[Path]:
    """The .npz checkpoints that still exist: those the run history recorded, and those in the
    save folder; newest first (by the file's time), each once. Never raises."""
    found: dict[Path, float] = {}
    candidates: list[Path] = []
    try:
        with Store(db_path, timeout=1.0, readonly=True) as db:
            candidates += [Path(r["checkpoint"]) for r in db.runs() if r.get("checkpoint")]
    except (StoreError, OSError):
        pass  # no history (or a locked one): the folder's files still show
    if save_dir is not None:
        try:
            candidates += sorted(Path(save_dir).glob("*.npz"))[:1000]
        except OSError:
            pass
    for path in candidates:
        try:
            resolved = path.expanduser().resolve()
            if resolved.is_file() and resolved not in found:
                found[resolved] = resolved.stat().st_mtime
        except (OSError, ValueError):
            continue
    return sorted(found, key=lambda p: -found[p])[:MAX_LISTED]


class LoadDialog(ModalScreen[str | None]):
    """Returns the path typed or picked, or None on Escape."""

    AUTO_FOCUS = "#load-path"  # the app focuses nothing at start; this dialog wants its field
    BINDINGS = [Binding("escape", "cancel", "Cancel")]
    DEFAULT_CSS = """
    LoadDialog { align: center middle; }
    LoadDialog > Vertical { width: 72; max-width: 100%; height: auto; max-height: 100%;
                            border: round $primary; padding: 0 1; background: $surface; }
    LoadDialog Input { margin: 1 0 0 0; }
    LoadDialog #load-error { color: $error; height: auto; }
    LoadDialog #load-list { height: auto; max-height: 10; margin: 1 0 0 0; }
    LoadDialog #load-none { color: $text-muted; height: auto; margin: 1 0 0 0; }
    """

    def __init__(self, error: str = "", value: str = "", db_path=None,
                 save_dir: Path | None = None) -> None:
        super().__init__()
        self.error = error
        self.value = value
        self.paths = known_checkpoints(db_path, save_dir)
        self.closing = False

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("Load a checkpoint (.npz): weights, config and curves")
            yield CappedInput(self.value, placeholder="path/to/run.npz", id="load-path",
                              max_length=MAX_PATH_CHARS)
            yield Static(self.error, id="load-error")
            if self.paths:
                yield OptionList(*(Option(_shown(p), id=str(i)) for i, p in enumerate(self.paths)),
                                 id="load-list")
            else:
                yield Static("no checkpoints saved yet (w saves one)", id="load-none")
            yield Static("Enter loads · Tab: the list of checkpoints, newest first · Escape "
                         "cancels", classes="dim")

    def on_mount(self) -> None:
        for options in self.query(OptionList):
            options.highlighted = 0  # Enter on the list loads the newest at once

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self._close(event.value.strip() or None)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self._close(str(self.paths[int(event.option.id)]))

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


def _shown(path: Path) -> str:
    """A listed checkpoint: its path from the current folder if under it, else from ~."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        home = str(Path.home())
        text = str(path)
        return "~" + text[len(home):] if text.startswith(home + os.sep) else text
