"""StatusBar: run state, epoch k/e with a bar, throughput, elapsed time and ETA, and at its
right end what q and D will do now (`leave_words`), which it never drops for the rest."""

from __future__ import annotations

from rich.text import Text
from textual.widget import Widget

from ...core.render import bar, format_duration

STATE_STYLE = {
    "idle": "bold", "training": "bold green", "paused": "bold yellow", "done": "bold cyan",
    "stopped": "bold yellow", "diverged": "bold red", "error": "bold red", "failed": "bold red",
    "lost": "bold red",
}


def leave_words(app) -> tuple[str, str, str]:
    """What q and D do now, in words: (the status bar's short form, q's, D's). q stops this
    process's runs (the engine closes) and a sweep; D leaves the runs training (the process
    hosts them on) but a sweep stops with the UI; a run attached to (another process hosts
    it) goes on either way: a viewer takes nothing with it."""
    own = len(app.going_sessions()) if app.is_running else 0
    main = getattr(app, "_main", None)
    session = getattr(main, "session", None)
    remote = session is not None and getattr(session, "engine", None) is None \
        and getattr(session, "going", False)  # a core.remote.RemoteSession
    sweep = getattr(_sweep_pane(main), "stop_event", None) is not None
    runs = "the run" if own == 1 else f"the {own} runs"
    if own:
        q = f"quit, stopping {runs}" + (" and the sweep" if sweep else "") + " (recorded)"
        d = f"detach, {runs} train{'s' * (own == 1)} on in this process (mnist-tui attach " \
            "follows one)" + ("; the sweep stops" if sweep else "")
        short = f"q: stop run{'s' * (own > 1)} · D: detach"
    elif sweep:
        q = d = "quit, stopping the sweep (its running trials recorded as stopped)"
        short = "q/D: stop sweep"
    elif remote:
        q = d = f"leave: run {session.run_id} trains on (another process hosts it)"
        short = "q/D: leave, run goes on"
    else:
        q = d = "quit (no run is going)"
        short = "q/D: quit"
    return short, q, d


def _sweep_pane(main):
    """The dashboard's Sweep tab, found once: this runs every second, and a query of the whole
    screen (hundreds of widgets) cost more than everything else an idle second does."""
    if main is None:
        return None
    pane = main.__dict__.get("_sweep_pane_found")
    if pane is None or not pane.is_attached:
        pane = next(iter(main.query("SweepPane")), None)
        main.__dict__["_sweep_pane_found"] = pane
    return pane


def leave_line(app) -> tuple[str, str]:
    """(long, short) forms of what q and D do, for one line."""
    short, q, d = leave_words(app)
    return (f"q/D: {q}" if q == d else f"q: {q} · D: {d}"), short


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
        self.keys: tuple[str, str] = ("", "")  # what q and D do: long and short forms

    def set(self, **changes) -> None:
        for k, v in changes.items():
            setattr(self, k, v)
        self.refresh()

    def render(self) -> Text:
        return self.build(self.size.width or 80)

    def build(self, width: int | None = None) -> Text:
        """The state and progress on the left, what q and D do on the right: its short form
        always (the rest gives way: the note is cut to a glimpse, then the bar and the
        elapsed time go), the long one where everything fits (always, without a width)."""
        long, short = self.keys
        t = self._left(bar_width=10, elapsed=True)
        if width is None:
            return self._with_keys(t, long, t.cell_len + 2 + len(long)) if long else t
        if long and t.cell_len + 2 + len(long) <= width:
            return self._with_keys(t, long, width)
        if not short:
            return t
        room = width - 2 - len(short)
        for bar_width, elapsed in ((10, True), (0, True), (0, False)):
            t = self._left(bar_width, elapsed, note=False)
            if t.cell_len + (min(len(self.note), 12) + 2 if self.note else 0) <= room:
                break  # a glimpse of the note fits too (cut with an ellipsis below)
        if self.note:
            t.append(f"  {self.note}", style="italic")
        t.truncate(max(0, room), overflow="ellipsis")
        return self._with_keys(t, short, width)

    @staticmethod
    def _with_keys(left: Text, keys: str, width: int) -> Text:
        left.append(" " * max(2, width - left.cell_len - len(keys)))
        left.append(keys, style="bold")
        return left

    def _left(self, bar_width: int, elapsed: bool, note: bool = True) -> Text:
        t = Text(no_wrap=True, overflow="ellipsis")
        t.append(f" {self.state.upper()} ", style=STATE_STYLE.get(self.state, "bold") + " reverse")
        if self.epochs:
            t.append(f" epoch {self.epoch}/{self.epochs} ")
            if bar_width:
                t.append(bar(self.fraction, bar_width), style="green")
            t.append(f" {self.fraction:4.0%}")
        if self.rate:
            t.append(f"  {self.rate:,.0f}/s")
        if self.elapsed and elapsed:
            t.append(f"  {format_duration(self.elapsed)}")
        if self.eta is not None and self.state == "training":
            t.append(f"  ETA {format_duration(self.eta)}")
        if self.note and note:
            t.append(f"  {self.note}", style="italic")
        return t
