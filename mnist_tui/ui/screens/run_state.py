"""The dashboard's run state: what the status bar and the buttons show (a run's own status, see
core/recording.py's ENDINGS, plus idle and the two states of a run going)."""

from __future__ import annotations

import enum


class RunState(str, enum.Enum):
    IDLE = "idle"
    TRAINING = "training"
    PAUSED = "paused"
    DONE = "done"
    STOPPED = "stopped"
    DIVERGED = "diverged"
    ERROR = "failed"
    LOST = "lost"  # attached, and the run's host went away (as the history then says)

    @property
    def going(self) -> bool:
        return self in (RunState.TRAINING, RunState.PAUSED)
