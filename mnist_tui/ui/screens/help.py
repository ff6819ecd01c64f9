"""HelpScreen (? or F1): every key of the screen and tab in view, and the app's, from the bindings.

Nothing here is a hand-kept list: the keys are read from the focused widget, its ancestors, the
screen and the app, as Textual looks them up, so a new binding shows up by itself.
"""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, Static


def key_groups(app) -> list[tuple[str, list[tuple[str, str]]]]:
    """[(heading, [(keys, what they do)])], nearest first: the tab's (or the screen's own
    widgets'), then the screen's, then the app's. Keys bound twice show where they act."""
    screen = app.screen
    start = screen.focused or screen
    tabbed = next(iter(screen.query("TabbedContent")), None) if screen is app.main else None
    pane = None
    if tabbed is not None and tabbed.active:
        pane = screen.query_one(f"#{tabbed.active}")
        if screen.focused is None or pane not in screen.focused.ancestors_with_self:
            start = pane.query_one(pane.FOCUS) if pane.FOCUS else pane
    groups: dict[str, list[tuple[str, str]]] = {}
    taken: set[str] = set()
    from ..widgets.status_bar import leave_words

    _, q, d = leave_words(app)  # what q and D do now (they differ idle, running, attached)
    q, d = q[:1].upper() + q[1:], d[:1].upper() + d[1:]
    now = {"quit": q, "app.quit": q, "detach": d, "app.detach": d}
    node = start
    while node is not None:
        if node is app:
            heading = "Everywhere"
        elif node is screen:
            heading = "Dashboard" if screen is app.main else "This screen"
        elif pane is not None:
            heading = f"This tab ({str(pane._title).split(' ', 1)[-1]})"
        else:
            heading = "Here"
        rows = groups.setdefault(heading, [])
        # This app's keys by name; a Textual widget's own (cursor, scroll) go in one row.
        ours = {(b.action, b.description) for cls in type(node).__mro__
                if cls.__module__.startswith("mnist_tui")
                for b in cls.__dict__.get("BINDINGS", ()) if isinstance(b, Binding)}
        by_action: dict[str, list[str]] = {}
        described: dict[str, str] = {}
        moves: list[str] = []
        for key, bindings in node._bindings.key_to_bindings.items():
            for b in bindings:
                if key in taken or not b.description:
                    continue
                if node not in (app, screen) and (b.action, b.description) not in ours:
                    moves.append(app.get_key_display(b))
                    continue
                by_action.setdefault(b.action, []).append(app.get_key_display(b))
                described[b.action] = now.get(b.action) or b.tooltip or b.description
        for action, keys in by_action.items():
            rows.append(("/".join(dict.fromkeys(keys)), described[action]))
        if moves:
            rows.append(("↑↓ …", "move, scroll, select: " + " ".join(dict.fromkeys(moves))))
        taken |= set(node._bindings.key_to_bindings)
        node = node.parent if node is not app else None
    return [(h, rows) for h, rows in groups.items() if rows]


class HelpScreen(ModalScreen):
    """The keys, grouped; Esc, ? or F1 closes it."""

    AUTO_FOCUS = "#help-scroll"  # PageDown and End scroll it at once
    BINDINGS = [Binding("escape,question_mark,f1", "app.pop_screen", "Close")]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen #help-scroll { width: 76; max-width: 100%; height: auto; max-height: 100%;
        border: round $accent; background: $surface; padding: 0 1; }
    """

    def __init__(self, groups: list[tuple[str, list[tuple[str, str]]]]) -> None:
        super().__init__()
        self.groups = groups

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-scroll"):
            yield Static(self.describe(), id="help-body")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#help-scroll").border_title = "Keys (Esc closes)"

    def describe(self) -> Table:
        table = Table.grid(padding=(0, 2))
        table.add_column(justify="right", style="bold", max_width=16)
        table.add_column(ratio=1)
        for i, (heading, rows) in enumerate(self.groups):
            if i:
                table.add_row("", "")
            table.add_row("", Text(heading, style="bold underline"))
            for keys, what in rows:
                table.add_row(keys, what)
        return table
