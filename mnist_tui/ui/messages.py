"""Messages from a run's reader thread to the UI thread, as dataclasses.

Each carries the screen's run number, so events of a run that was stopped or replaced are
dropped. Events are immutable core objects; a run's series are in its RunHistory, so a message
only says that something arrived, and a newer progress report may replace a queued one.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from ..core.engine import Started
from ..core.events import BatchProgress, EpochEnd, Event, LiveChanged, Weights

# Events whose content is all in the run's history: the UI only needs to know the latest.
MERGEABLE = (BatchProgress, EpochEnd, LiveChanged, Weights)


@dataclass
class RunEvent(Message):
    """A core event (BatchProgress, EpochEnd, Weights, Finished, Failed …) of run `run_id`."""

    run_id: int
    event: Event | Started

    def can_replace(self, message: Message) -> bool:
        # The history already holds them: a newer event supersedes a queued one, so a fast
        # run (hundreds of epochs a minute) never floods the UI. The end of a run never merges.
        return (isinstance(message, RunEvent) and message.run_id == self.run_id
                and isinstance(self.event, MERGEABLE) and isinstance(message.event, MERGEABLE))


@dataclass
class HistoryStatus(Message):
    """The run's recorder opened (db_run_id set) or failed (error set)."""

    run_id: int
    db_run_id: int | None
    error: str | None


@dataclass
class GhostFound(Message):
    """The history's fastest run to the target (core.insight.Ghost), found for run `run_id`."""

    run_id: int
    ghost: object
