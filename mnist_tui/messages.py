"""Messages from the training worker thread to the UI thread.

Each carries the run id, so events of a run that was already stopped or replaced are dropped,
and an immutable core event (arrays in it are fresh copies marked read-only).
"""

from __future__ import annotations

from textual.message import Message

from .core.train import BatchProgress, Event


class TrainEvent(Message):
    """A core training event (BatchProgress, EpochEnd, Diverged or Finished) for run `run_id`."""

    def __init__(self, run_id: int, event: Event) -> None:
        super().__init__()
        self.run_id = run_id
        self.event = event

    def can_replace(self, message: Message) -> bool:
        # A newer progress report of the same run supersedes a queued one; nothing else merges.
        return (
            isinstance(message, TrainEvent)
            and message.run_id == self.run_id
            and isinstance(self.event, BatchProgress)
            and isinstance(message.event, BatchProgress)
        )


class TrainingFailed(Message):
    """An exception escaped the trainer; the app shows it and stays usable."""

    def __init__(self, run_id: int, error: str) -> None:
        super().__init__()
        self.run_id = run_id
        self.error = error


class HistoryStatus(Message):
    """The worker's recorder opened (db_run_id set) or failed (error set) for run `run_id`."""

    def __init__(self, run_id: int, db_run_id: int | None, error: str | None) -> None:
        super().__init__()
        self.run_id = run_id
        self.db_run_id = db_run_id
        self.error = error
