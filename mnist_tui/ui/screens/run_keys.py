"""The main screen's keys and form events that steer the run: pause, stop, a live edit of
lr or momentum, the form's Enter (start) and its validity (the Network tab shows the run to come)."""

from __future__ import annotations

from ..panes import NetworkPane
from ..widgets.hyper_form import HyperForm
from .run_state import RunState


class RunKeys:
    """MainScreen's methods for steering a run (a mixin: MainScreen holds the state)."""

    def action_pause(self) -> None:
        if self.run_state is RunState.TRAINING and self.handle:
            self.session.pause()
            self.run_state = RunState.PAUSED
            self.session.request_weights()  # every view then shows the network where it paused
        elif self.run_state is RunState.PAUSED and self.handle:
            self.session.resume()
            self.run_state = RunState.TRAINING
        else:
            self.status.set(note=f"nothing to pause: no run is going ({self.run_state.value}); "
                                 "s starts one")

    def action_stop(self) -> None:
        if self.run_state.going and self.handle:
            self.session.stop()
            self.status.set(note="stopping…")
        else:
            self.status.set(note=f"nothing to stop: no run is going ({self.run_state.value})")

    def on_hyper_form_submitted(self) -> None:
        self.action_start()

    def on_hyper_form_live_edited(self, event: HyperForm.LiveEdited) -> None:
        if not self.run_state.going or self.session is None:
            return
        self.session.set_live(event.name, event.value)
        self.status.set(note=f"{event.name} → {event.value:g} from the next batch")

    def on_hyper_form_validity(self, event: HyperForm.Validity) -> None:
        if event.n_errors == 0 and self.status.note.startswith("fix "):
            self.status.set(note="")  # the form is valid again: the old advice is stale
        if event.n_errors == 0 and not self.run_state.going:
            config, _ = self.form.read()  # idle: the Network tab shows the run to come
            if config is not None:
                self.pane(NetworkPane).set_shape(config.batch_size, config.hidden)
