"""`mnist-tui train`'s words for people: the heading, a line per epoch, and what it says after
the run (the calibration fitted on the validation split; the time to the dataset's target
against the history's fastest on this machine)."""

from __future__ import annotations

from dataclasses import asdict

from ..core import config as cfg
from ..core import data, store
from ..core.events import EpochEnd
from ..core.history import RunHistory
from ..core.insight import GHOST_TARGETS, fastest_to_target, time_to_target
from .options import flag


def heading(config: cfg.TrainConfig, ds: data.Dataset) -> str:
    """The first line: the network, the data and every setting."""
    held = f" ({config.val_split} held out for validation)" if config.val_split else ""
    return (f"training 784-{config.hidden}-10 on {data.INFO[ds.name].title}, "
            f"{ds.n_train - config.val_split} samples{held}, testing on "
            f"{ds.n_test}: " + " ".join(f"{flag(k)[2:]}={v}" for k, v in asdict(config).items()))


def epoch_line(ev: EpochEnd) -> str:
    """One epoch's losses, accuracies, lr and time."""
    return (f"epoch {ev.epoch:>{len(str(ev.epochs))}}/{ev.epochs}  "
            f"train loss {ev.train_loss:.4f} acc {ev.train_acc:.2%}  "
            f"test loss {ev.test_loss:.4f} acc {ev.test_acc:.2%}  "
            + (f"val acc {ev.val_acc:.2%}  " if ev.val_acc is not None else "")
            + f"lr {ev.lr:.4g}  {ev.seconds:.2f}s")


def race_line(history: RunHistory, config: cfg.TrainConfig, db_path, run_id) -> str:
    """This run's time to the dataset's target against the history's fastest on this machine
    (the dashboard's ghost), or "" if neither reached it."""
    target = GHOST_TARGETS.get(config.dataset, 0.9)
    mine = time_to_target(history["test_acc"], history["seconds"], target)
    try:
        with store.Store(db_path, readonly=True) as db:
            ghost = fastest_to_target(db, config.dataset, target, exclude=run_id)
    except store.StoreError:
        ghost = None
    words = []
    if mine:
        words.append(f"time to {target:.0%}: {mine[1]:.1f}s over {mine[0]} epoch"
                     + "s" * (mine[0] != 1))
    if ghost:
        words.append(f"the fastest before on this machine: run {ghost.run_id}, "
                     f"{ghost.reached_seconds:.1f}s over {ghost.reached_epoch} epoch"
                     + "s" * (ghost.reached_epoch != 1))
    return "; ".join(words)


def calibration_words(cal) -> str:
    """The fitted temperature and the ECE before and after it (a core.calibration.Calibration)."""
    return (f"calibration: temperature {cal.temperature:.3f} fitted on the {cal.val_samples} "
            f"validation samples; ECE on validation {cal.val_ece_before:.2%} -> "
            f"{cal.val_ece_after:.2%}, on test {cal.before.ece:.2%} -> {cal.after.ece:.2%}")


def said_paused(progress, task, run_id: int | None, state: str) -> None:
    """A viewer (`mnist-tui runs pause`, an attached dashboard) paused or resumed the run: the
    progress line says so, or a line on stderr where there is no bar. From the host's thread."""
    words = (f"paused from elsewhere: 'mnist-tui runs resume {run_id}' goes on"
             if state == "paused" else "resumed")
    if progress.bar is not None:
        progress.update(task, note=words)
    else:
        import sys

        print(f"mnist-tui: run {run_id} {words}", file=sys.stderr, flush=True)
