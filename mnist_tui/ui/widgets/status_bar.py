"""StatusBar: run state, epoch k/e with a bar, throughput, elapsed time and ETA."""

from __future__ import annotations

from rich.text import Text
from textual.widget import Widget

from ...core.render import bar, format_duration

STATE_STYLE = {
    "idle": "bold", "training": "bold green", "paused": "bold yellow", "done": "bold cyan",
    "stopped": "bold yellow", "diverged": "bold red", "error": "bold red",
}


class StatusBar(Widget):
    """One line; the app calls `set` with whatever changed.

    A Widget with render() rather than a Static: its size never changes, so an update only
    repaints it, without a layout pass of the whole screen (Static.update asks for one).
    """

    DEFAULT_CSS = """
    StatusBar { height: 1; width: 1fr; background: $panel; }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.state = "idle"
        self.epoch, self.epochs = 0, 0
        self.fraction = 0.0  # of the current epoch
        self.rate = 0.0
        self.elapsed = 0.0
        self.eta: float | None = None
        self.note = ""

    def set(self, **changes) -> None:
        for k, v in changes.items():
            setattr(self, k, v)
        self.refresh()

    def render(self) -> Text:
        return self.build()

    def build(self) -> Text:
        t = Text(no_wrap=True, overflow="ellipsis")
        t.append(f" {self.state.upper()} ", style=STATE_STYLE.get(self.state, "bold") + " reverse")
        if self.epochs:
            t.append(f" epoch {self.epoch}/{self.epochs} ")
            t.append(bar(self.fraction, 10), style="green")
            t.append(f" {self.fraction:4.0%}")
        if self.rate:
            t.append(f"  {self.rate:,.0f}/s")
        if self.elapsed:
            t.append(f"  {format_duration(self.elapsed)}")
        if self.eta is not None and self.state == "training":
            t.append(f"  ETA {format_duration(self.eta)}")
        if self.note:
            t.append(f"  {self.note}", style="italic")
        return t
