"""RunsView: past runs from the history database, to overlay, delete, or run again."""

from __future__ import annotations

import time
from dataclasses import dataclass

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import DataTable, Static

from ...core.render import config_value, config_words, format_duration

# One line at 80 columns; no-break spaces: never "· d" / "d: delete" over two lines.
HELP = ("space: mark (overlay) · c: compare · R: race marked · a: to form · "
        "d\u00a0d:\u00a0delete")
EMPTY = "no runs yet: finished epochs of every run are kept here"


def run_time(seconds: float | None) -> str:
    """'2.4s' under a minute, '2m49s' above; '--' for a run without an epoch."""
    if seconds is None:
        return "--"
    return f"{seconds:.1f}s" if seconds < 59.95 else format_duration(seconds)


class RunsView(Vertical):
    """A table of runs. space: overlay on the charts · a: use config · d d: delete · r: reload."""

    BINDINGS = [
        Binding("space", "toggle_overlay", "Overlay", key_display="␣"),
        Binding("a", "run_again", "Use config"),
        Binding("d", "delete", "Delete"),
        Binding("c", "compare", "Compare"),
        Binding("R", "race", "Race"),
        Binding("r", "reload", "Reload", show=False),
    ]

    @dataclass
    class OverlayChanged(Message):
        """The set of stored runs drawn over the curves changed."""

        run_ids: frozenset[int]

    @dataclass
    class RunAgain(Message):
        """Fill the form with this stored run's config."""

        config: dict

    @dataclass
    class Compare(Message):
        """Open the comparison of these stored runs."""

        run_ids: tuple[int, ...]

    @dataclass
    class Race(Message):
        """Race these configs (of the marked runs) again, at once."""

        configs: list

    @dataclass
    class DeleteRun(Message):
        """Delete this stored run (the user confirmed)."""

        run_id: int

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.runs: list[dict] = []
        self.overlay: set[int] = set()
        self.pending_delete: int | None = None

    def compose(self) -> ComposeResult:
        yield DataTable(cursor_type="row", zebra_stripes=True, id="runs-table")
        yield Static(HELP, id="runs-help")

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.cell_padding = 0
        # No cell padding (room for the config at 80 columns): each width keeps a space
        # after its longest value ("diverged", "100.00%", "59.9s"), so columns never touch.
        for label, width in (("", 2), ("id", 5), ("started", 12), ("status", 9), ("best", 8),
                             ("ep", 4), ("time", 7), ("seed", 5), ("config", 80)):
            table.add_column(label, width=width, key=label or "mark")

    def set_runs(self, runs: list[dict], error: str | None = None) -> None:
        self.runs = runs
        table = self.query_one(DataTable)
        row = table.cursor_row
        table.clear()
        for r in runs:
            best = "--" if r["best_test_acc"] is None else f"{r['best_test_acc']:.2%}"
            started = ("?" if r["started_at"] is None
                       else time.strftime("%m-%d %H:%M", time.localtime(r["started_at"])))
            words = config_words(r["config"], r.get("live"))
            if r.get("damaged"):
                words = f"[damaged: {', '.join(r['damaged'])}] {words}"
            table.add_row(
                Text("●" if r["id"] in self.overlay else " ", style="bold cyan"),
                str(r["id"]), started, Text(r["status"]), best, str(r["epochs"]),
                run_time(r["seconds"]), str(r["config"].get("seed", "?")), Text(words),
                key=str(r["id"]),
            )
        if runs:
            table.move_cursor(row=min(row, len(runs) - 1))
        help_line = self.query_one("#runs-help", Static)
        if error:
            help_line.update(Text(f"run history unavailable: {error}", style="bold red"))
        elif self.pending_delete is None or self.pending_delete not in {r["id"] for r in runs}:
            self.pending_delete = None
            help_line.update(HELP if runs else EMPTY)

    @property
    def current(self) -> dict | None:
        table = self.query_one(DataTable)
        if not self.runs or table.cursor_row < 0:
            return None
        return self.runs[min(table.cursor_row, len(self.runs) - 1)]

    def action_toggle_overlay(self) -> None:
        run = self.current
        if run is None:
            return
        self.overlay ^= {run["id"]}
        self.query_one(DataTable).update_cell(
            str(run["id"]), "mark", Text("●" if run["id"] in self.overlay else " ", style="bold cyan"))
        self.post_message(self.OverlayChanged(frozenset(self.overlay)))

    def clear_overlay(self) -> None:
        """Unmark every run (the dashboard switched dataset: they belong to the other one)."""
        if self.overlay:
            self.overlay.clear()
            if self.runs:
                self.set_runs(self.runs)

    def action_compare(self) -> None:
        """Compare the marked runs (space marks), or the marked one and the current one."""
        ids = sorted(self.overlay)
        if len(ids) == 1 and self.current is not None and self.current["id"] not in ids:
            ids.append(self.current["id"])
        if len(ids) < 2:
            self.notify("Mark two or more runs with space, then press c.", severity="warning")
            return
        self.post_message(self.Compare(tuple(ids)))

    def action_race(self) -> None:
        self.post_message(self.Race([r["config"] for r in self.runs if r["id"] in self.overlay]))

    def action_run_again(self) -> None:
        run = self.current
        if run is None:
            return
        self.post_message(self.RunAgain(run["config"]))
        changed = {k: v for k, v in (run.get("live") or {}).items()
                   if run["config"].get(k) != v}
        if changed:  # the form gets the starting values: say so, and what the run ended with
            self.notify("The form has run {}'s starting values; it changed {} live.".format(
                run["id"], ", ".join(f"{k} {config_value(run['config'].get(k))} → "
                                     f"{config_value(v)}" for k, v in changed.items())),
                title="Config to form", timeout=8)

    def action_delete(self) -> None:
        """d asks (on the help line, not in a toast that outlives the question), d again
        deletes; a run still training is refused at once: it would go on unrecorded."""
        run = self.current
        if run is None:
            return
        if run["status"] == "running":
            self._ask(None)
            self.notify(f"Run {run['id']} is still training: stop it first, then delete it.",
                        title="Not deleted", severity="warning")
            return
        if self.pending_delete != run["id"]:
            self._ask(run["id"])
            return
        self._ask(None)
        self.overlay.discard(run["id"])
        self.post_message(self.DeleteRun(run["id"]))

    def _ask(self, run_id: int | None) -> None:
        self.pending_delete = run_id
        help_line = self.query_one("#runs-help", Static)
        if run_id is None:
            help_line.update(HELP if self.runs else EMPTY)
        else:
            help_line.update(Text(f"d again deletes run {run_id} (any other row keeps it)",
                                  style="bold"))

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if self.pending_delete is not None and (
                self.current is None or self.current["id"] != self.pending_delete):
            self._ask(None)

    def action_reload(self) -> None:
        self.post_message(self.OverlayChanged(frozenset(self.overlay)))
