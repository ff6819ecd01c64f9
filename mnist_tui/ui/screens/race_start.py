"""The main screen's races: the race field under the form, and the runs marked in the Runs tab,
checked here, then run by the RaceScreen (screens/race.py)."""

from __future__ import annotations

from textual.widgets import Input

from ...core.config import TrainConfig, from_dict
from ...core.data import INFO
from ...core.race import MAX_RACERS, MIN_RACERS, differing_field, parse_race
from ...core.race import check as check_racers
from ...core.resources import check_run
from ..widgets.runs_view import RunsView


class RaceStart:
    """MainScreen's methods for starting a race (a mixin: MainScreen holds the state)."""

    def action_race_field(self) -> None:
        self.action_show_tab("train")
        self.set_focus(self.query_one("#race", Input))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id != "race":
            return
        event.stop()
        config, errors = self.form.read()
        if config is None:
            self.notify(f"fix the form first: {next(iter(errors.values()))}", severity="error")
            return
        try:
            field, configs = parse_race(event.value, config)
        except ValueError as e:
            self.notify(str(e), title="Cannot race", severity="error")
            return
        self._race(configs, field)

    def on_runs_view_race(self, event: RunsView.Race) -> None:
        if not MIN_RACERS <= len(event.configs) <= MAX_RACERS:
            self.notify(f"Mark {MIN_RACERS} to {MAX_RACERS} runs with space to race them.",
                        severity="warning")
            return
        try:
            configs = [from_dict(c) for c in event.configs]
        except ValueError as e:
            self.notify(f"A marked run's config is not usable: {e}", severity="error")
            return
        self._race(configs, differing_field(configs))

    def _race(self, configs: list[TrainConfig], field: str | None) -> None:
        if self.run_state.going:
            self.notify("Stop the run (x) before starting a race.", severity="warning")
            return
        for c in configs:
            reason = check_run(c, self.dataset.n_train, self.dataset.n_test)
            if c.dataset != self.dataset.name:
                reason = (f"the dashboard holds {INFO[self.dataset.name].title}: start a run on "
                          f"{INFO[c.dataset].title} first (s), then race")
            if reason:
                self.notify(reason, title="Cannot race", severity="error")
                return
        reason = check_racers(configs, self.dataset.n_train, self.dataset.n_test)  # all at once
        if reason:
            self.notify(reason, title="Cannot race", severity="error")
            return
        from .race import RaceScreen

        # The race text is spent, and the focus leaves its field: back from the race, Esc
        # used to land in the field again (8 typed into it, Enter raced the same again).
        self.query_one("#race", Input).value = ""
        self.focus_tab_content()
        self.app.push_screen(RaceScreen(self.engine, configs, field, db_path=self.db_path,
                                        progress_interval=self.progress_interval))
