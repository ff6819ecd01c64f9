"""RunsView: past runs from the history database, to overlay, delete, or run again.

The history may hold 10,000 runs: the table holds one page of them (PAGE rows), read by a
worker thread, never on the UI thread. Moving the cursor past either end of the page (up,
down, PageUp, PageDown, Ctrl+Home, Ctrl+End) reads the next page; marking a run (space)
changes one cell, and reads nothing here (the screen reads that run's epochs, in a worker).
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import DataTable, Static

from ...core import host
from ...core.render import config_value, config_words, format_duration
from ...core.store import Store, StoreError

PAGE = 100  # rows in the table at once

# One line at 80 columns; no-break spaces: never "· d" / "d: delete" over two lines.
HELP = ("space: mark (overlay) · c: compare · R: race marked · a: to form · "
        "d\u00a0d:\u00a0delete")
EMPTY = "no runs yet: finished epochs of every run are kept here"


def run_time(seconds: float | None) -> str:
    """'2.4s' under a minute, '2m49s' above; '--' for a run without an epoch."""
    if seconds is None:
        return "--"
    return f"{seconds:.1f}s" if seconds < 59.95 else format_duration(seconds)


def after_page(method):
    """Run the key's action now, or, while a page is being read, once it is shown: keys in
    one burst (down past the page's end, then space) keep their order and their rows."""

    @functools.wraps(method)
    def wrapper(self, *args):
        view = self if isinstance(self, RunsView) else self.parent
        if isinstance(view, RunsView) and view.reading:
            view.queued.append(functools.partial(wrapper, self, *args))
            return None
        return method(self, *args)

    return wrapper


class RunsTable(DataTable):
    """The runs' table: past either end of its page, the cursor keys fetch the next page.
    Home and End go to the newest and the oldest run, as Ctrl+Home and Ctrl+End do (a
    DataTable's End scrolled to its right edge, hiding the id and status of every row: the
    config column is wider than the screen)."""

    BINDINGS = [Binding("home", "scroll_top", "Newest", show=False),
                Binding("end", "scroll_bottom", "Oldest", show=False)]

    def _page_to(self, row: int) -> bool:
        """Ask the view for the page holding absolute row `row`, if it is not this one."""
        view = self.parent
        if not isinstance(view, RunsView) or not view.total:
            return False
        row = max(0, min(row, view.total - 1))
        if view.page_start <= row < view.page_start + self.row_count:
            return False
        view.show_row(row)
        return True

    @after_page
    def action_cursor_down(self) -> None:
        if self.cursor_row < self.row_count - 1 or not self._page_to(self._absolute() + 1):
            super().action_cursor_down()

    @after_page
    def action_cursor_up(self) -> None:
        if self.cursor_row > 0 or not self._page_to(self._absolute() - 1):
            super().action_cursor_up()

    @after_page
    def action_page_down(self) -> None:
        height = max(1, self.scrollable_content_region.height - 1)
        if self.cursor_row + height < self.row_count or not self._page_to(self._absolute() + height):
            super().action_page_down()

    @after_page
    def action_page_up(self) -> None:
        height = max(1, self.scrollable_content_region.height - 1)
        if self.cursor_row - height >= 0 or not self._page_to(self._absolute() - height):
            super().action_page_up()

    @after_page
    def action_scroll_bottom(self) -> None:
        view = self.parent
        if not (isinstance(view, RunsView) and self._page_to(view.total - 1)):
            super().action_scroll_bottom()

    @after_page
    def action_scroll_top(self) -> None:
        if not self._page_to(0):
            super().action_scroll_top()

    def _absolute(self) -> int:
        view = self.parent
        return (view.page_start if isinstance(view, RunsView) else 0) + max(0, self.cursor_row)


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

    @dataclass
    class PageRead(Message):
        """A page of runs, read by the worker."""

        serial: int
        runs: list
        total: int
        offset: int
        row: int | None  # the absolute row to put the cursor on (None: where it was)
        error: str | None

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.runs: list[dict] = []  # the page shown: runs offset .. offset + len - 1, newest first
        self.total = 0  # runs in the history
        self.page_start = 0
        self.overlay: set[int] = set()
        self.marked: dict[int, dict] = {}  # the marked runs' configs (R races them)
        self.pending_delete: int | None = None
        self.db_path = None
        self._serial = 0  # of the last page asked for: an older page arriving late is dropped
        self.reading = False  # a page is being read: keys wait in `queued` (see after_page)
        self.queued: list = []

    def compose(self) -> ComposeResult:
        yield RunsTable(cursor_type="row", zebra_stripes=True, id="runs-table")
        # Where the page is in a long history; hidden while every run fits in one page.
        yield Static(id="runs-position", classes="-hidden")
        yield Static(HELP, id="runs-help")

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.cell_padding = 0
        # No cell padding (room for the config at 80 columns): each width keeps a space
        # after its longest value ("diverged", "100.00%", "59.9s"), so columns never touch.
        for label, width in (("", 2), ("id", 5), ("started", 12), ("status", 9), ("best", 8),
                             ("ep", 4), ("time", 7), ("seed", 5), ("config", 80)):
            table.add_column(label, width=width, key=label or "mark")

    # --- reading pages (a worker) ----------------------------------------------------------------

    def load(self, db_path, row: int | None = None) -> None:
        """Read the page holding absolute row `row` (None: the page shown now, again)."""
        self.db_path = db_path
        self._serial += 1
        self.reading = True
        if row is None:
            offset = self.page_start
        else:
            offset = max(0, min(row - PAGE // 2, (self.total or row + 1) - PAGE))
        self._read_page(db_path, offset, row, self._serial)

    def show_row(self, row: int) -> None:
        """Put the cursor on absolute row `row`, reading its page first."""
        self.load(self.db_path, row)

    @work(thread=True, exclusive=True, group="runs-page", exit_on_error=False)
    def _read_page(self, db_path, offset: int, row: int | None, serial: int) -> None:
        try:
            with Store(db_path, timeout=1.0, readonly=True) as db:
                total = db.count_runs()
                offset = max(0, min(offset, total - PAGE))
                runs = db.runs(limit=PAGE, offset=offset)
            live = host.live_runs(db_path)  # this history's runs going: Enter follows one
            for r in runs:
                if r["id"] in live:
                    r["status"] = "live"
            page = self.PageRead(serial, runs, total, offset, row, None)
        except (StoreError, OSError, ValueError) as e:
            page = self.PageRead(serial, [], 0, 0, None, str(e))
        self.post_message(page)

    def on_runs_view_page_read(self, page: PageRead) -> None:
        page.stop()
        if page.serial != self._serial:
            return  # a newer page was asked for since
        # The page shown, read again and unchanged (back from a compare or any screen that
        # added no run): the table is not rebuilt (60 ms at 100 rows, on the UI thread).
        same = (page.error is None and page.row is None and page.offset == self.page_start
                and page.total == self.total and page.runs and page.runs == self.runs)
        self.total, self.page_start, self.reading = page.total, page.offset, False
        if not same:
            self.set_runs(page.runs, page.error,
                          row=None if page.row is None else page.row - page.offset)
        while self.queued and not self.reading:  # the keys typed meanwhile, in order
            self.queued.pop(0)()

    # --- the table ------------------------------------------------------------------------------

    def set_runs(self, runs: list[dict], error: str | None = None, row: int | None = None) -> None:
        """Show these runs (the page at self.page_start); the cursor on `row` of them (None:
        the row it was on)."""
        self.runs = runs
        if not self.total or error:
            self.total = len(runs)
        table = self.query_one(DataTable)
        row = table.cursor_row if row is None else row
        scrolled = table.scroll_y
        table.clear()
        for r in runs:
            best = "--" if r["best_test_acc"] is None else f"{r['best_test_acc']:.2%}"
            started = ("?" if r["started_at"] is None
                       else time.strftime("%m-%d %H:%M", time.localtime(r["started_at"])))
            words = config_words(r["config"], r.get("live"))
            if r.get("damaged"):
                words = f"[damaged: {', '.join(r['damaged'])}] {words}"
            # Text, not str: a str cell is parsed as markup at each measure and each draw
            # (a third of what sizing a new page of 100 rows cost), and holds none.
            table.add_row(
                Text("●" if r["id"] in self.overlay else " ", style="bold cyan"),
                *map(Text, (str(r["id"]), started, r["status"], best, str(r["epochs"]),
                            run_time(r["seconds"]), str(r["config"].get("seed", "?")), words)),
                key=str(r["id"]),
            )
        if runs:
            row = max(0, min(row, len(runs) - 1))
            table.move_cursor(row=row)
            # The table scrolls the cursor into view only after its next frame (it sizes its
            # new rows first): a frame of the page's top, drawn for nothing, was half of what
            # ctrl+End cost. Scroll now as it would, the old page's size still standing (a
            # smaller page is clamped and set right after that frame, as before): where it
            # was if the row shows there (a reload keeps its place), else the row on the
            # window's last line, below the header.
            lowest = max(0, row + 2 - table.scrollable_content_region.height)
            table.scroll_to(y=scrolled if lowest <= scrolled <= row else lowest, animate=False,
                            immediate=True)
        position = self.query_one("#runs-position", Static)
        position.set_class(self.total <= len(runs), "-hidden")
        if self.total > len(runs):
            position.update(f"runs {self.page_start + 1}–{self.page_start + len(runs)} of "
                            f"{self.total}, newest first · ctrl+home/ctrl+end: newest/oldest")
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

    @after_page
    def action_toggle_overlay(self) -> None:
        run = self.current
        if run is None:
            return
        self.overlay ^= {run["id"]}
        if run["id"] in self.overlay:
            self.marked[run["id"]] = run["config"]
        else:
            self.marked.pop(run["id"], None)
        self.query_one(DataTable).update_cell(
            str(run["id"]), "mark", Text("●" if run["id"] in self.overlay else " ", style="bold cyan"))
        self.post_message(self.OverlayChanged(frozenset(self.overlay)))

    def clear_overlay(self) -> None:
        """Unmark every run (the dashboard switched dataset: they belong to the other one)."""
        if self.overlay:
            self.overlay.clear()
            self.marked.clear()
            if self.runs:
                self.set_runs(self.runs)

    @after_page
    def action_compare(self) -> None:
        """Compare the marked runs (space marks), or the marked one and the current one."""
        ids = sorted(self.overlay)
        if len(ids) == 1 and self.current is not None and self.current["id"] not in ids:
            ids.append(self.current["id"])
        if len(ids) < 2:
            self.notify("Mark two or more runs with space, then press c.", severity="warning")
            return
        self.post_message(self.Compare(tuple(ids)))

    @after_page
    def action_race(self) -> None:
        self.post_message(self.Race([self.marked[i] for i in sorted(self.overlay, reverse=True)
                                     if i in self.marked]))

    @after_page
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

    @after_page
    def action_delete(self) -> None:
        """d asks (on the help line, not in a toast that outlives the question), d again
        deletes; a run still training is refused at once: it would go on unrecorded."""
        run = self.current
        if run is None:
            return
        if run["status"] in ("running", "live"):  # live: its host serves it to viewers
            self._ask(None)
            self.notify(f"Run {run['id']} is still training: stop it first, then delete it.",
                        title="Not deleted", severity="warning")
            return
        if self.pending_delete != run["id"]:
            self._ask(run["id"])
            return
        self._ask(None)
        self.overlay.discard(run["id"])
        self.marked.pop(run["id"], None)
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
        self.load(self.db_path)
        self.post_message(self.OverlayChanged(frozenset(self.overlay)))
