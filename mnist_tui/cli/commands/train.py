"""`mnist-tui train`: train headless, printing a line per epoch (or JSON lines).

Its words for people (the heading, the epoch lines, what it says after the run) are in
../train_text.py."""

from __future__ import annotations

import argparse
import contextlib
import csv
import os
import signal
import sys
import time
from dataclasses import asdict, replace
from functools import partial

from ...core import checkpoint, data, resources, store, train
from ...core import config as cfg
from ...core import events as ev_
from ...core.calibration import calibrate
from ...core.history import RunHistory
from ...core.local_run import LocalRun
from ...core.model import Perceptron
from ...core.recording import status_of
from ...core.session import checkpoint_path
from ..options import add_config_flags, add_db_flag, add_format_flag, config_from_args
from ..output import (
    EXIT_DATA,
    EXIT_DIVERGED,
    EXIT_INTERRUPTED,
    EXIT_USAGE,
    OUTPUT_ERRORS,
    Progress,
    detach_on_hangup,
    fail,
    interrupt_on_signals,
    load_data,
    plural,
    signal_handlers_kept,
    to_json,
)
from ..train_text import calibration_words, epoch_line, heading, race_line, said_paused


def add_arguments(t: argparse.ArgumentParser) -> None:
    t.description = "Train headless, printing a line per epoch (or JSON lines)."
    add_config_flags(t, defaults=False)
    t.add_argument("--save", metavar="PATH",
                   help="write an .npz checkpoint (weights, config, history) at the end, or when "
                   "interrupted (default: none)")
    add_format_flag(t, ("text", "json", "csv"), words="text for people; json (a JSON object per "
                    "line: each epoch, then the end) or csv (a row per epoch) for programs",
                    json_alias=True)
    add_db_flag(t)


def run(args: argparse.Namespace) -> int:
    with signal_handlers_kept(signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        return _train(args)


def calibrate_run(model: Perceptron, config: cfg.TrainConfig, ds: data.Dataset):
    """Temperature scaling fitted on the run's own validation split (core/calibration.py)."""
    _, val_idx, _ = train.split_indices(ds.n_train, config.val_split, config.seed)
    return calibrate(model, ds.train_images[val_idx], ds.train_labels[val_idx],
                     ds.test_images, ds.test_labels)


def _train(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    if args.save is not None:
        checkpoint.save_path(args.save)  # a bad place is found now, not after the whole run
    ds = load_data(args.data_dir, config.dataset)
    reason = resources.check_run(config, ds.n_train, ds.n_test)
    if reason:
        return fail(reason, EXIT_USAGE)
    model = Perceptron(config.hidden, seed=config.seed)
    history = RunHistory()
    args.json = args.format == "json"
    text = args.format == "text"  # else lines for programs: json, or csv rows of the epochs
    out = sys.stdout
    table: list[csv.DictWriter] = []

    def emit(obj: dict) -> None:
        print(to_json(obj), file=out, flush=True)

    def emit_row(row: dict) -> None:
        if not table:
            table.append(csv.DictWriter(out, fieldnames=list(row), lineterminator="\n"))
            table[0].writeheader()
        table[0].writerow(row)
        out.flush()

    recorder = store.Recorder(args.db, config, labels=ds.test_labels)
    warned = False

    def warn_history() -> None:
        nonlocal warned
        if recorder.error and not warned:
            warned = True
            print(f"mnist-tui: warning: not recording this run: {recorder.error}", file=sys.stderr)

    warn_history()
    # `mnist-tui attach` watches and steers it
    served = LocalRun(config, recorder.run_id, model, db_path=args.db)
    code = 0
    rate = None  # samples/s of the epoch going
    final = outcome = None  # the Finished event; the last event (Finished or Diverged)
    pipe_closed = False
    caught = interrupt_on_signals()  # SIGTERM ends the run as Ctrl-C does
    hung = detach_on_hangup()  # a hangup leaves it training, detached, to its end
    progress = Progress()  # on stderr, with an ETA; nothing when stderr is not a terminal
    task = progress.add(f"epoch 1/{config.epochs}", config.epochs)
    served.on_state = partial(said_paused, progress, task, recorder.run_id)
    try:
        if text:
            print(heading(config, ds), file=out, flush=True)
        with progress:
            out = sys.stdout  # above the bar when stdout is its terminal (rich's proxy)
            for ev in train.train(config, ds, model=model, stop=served.stop_event,
                                  pause=served.pause_event, live=served.live,
                                  snapshot=served.snapshot):
                served.take(ev)  # to `mnist-tui attach`'s viewers
                if isinstance(ev, ev_.LiveChanged):  # an attached dashboard changed lr or momentum
                    recorder.record(ev)
                if isinstance(ev, ev_.BatchProgress):
                    rate = ev.samples_per_second  # the last of an epoch: that epoch's speed
                    progress.update(task, completed=ev.epoch - 1 + ev.batch / ev.n_batches,
                                    description=f"epoch {ev.epoch}/{ev.epochs}",
                                    note=f"loss {ev.running_loss:.4f}  "
                                    f"{ev.samples_per_second:,.0f} samples/s")
                elif isinstance(ev, ev_.EpochEnd):
                    history.add(ev)
                    usage = served.sampler.sample()
                    if usage is not None and rate is not None:  # the epoch's training speed
                        usage = replace(usage, samples_per_s=rate)
                    if not recorder.record(ev, usage=usage):
                        warn_history()
                    if args.json:
                        emit({"event": "epoch", **history.epoch_row(ev)})
                    elif not text:
                        emit_row(history.epoch_row(ev))
                    else:
                        print(epoch_line(ev), file=out, flush=True)
                elif isinstance(ev, ev_.Diverged):
                    if args.json:
                        emit({"event": "diverged", "epoch": ev.epoch, "batch": ev.batch,
                              "lr": ev.lr, "message": ev.message})
                    print(f"mnist-tui: {ev.message}", file=sys.stderr)
                    code, outcome = EXIT_DIVERGED, ev
                elif isinstance(ev, ev_.Finished):
                    final = outcome = ev
                    if ev.stopped:  # `runs stop`, or an attached dashboard's x: as a Ctrl-C ends
                        code = EXIT_INTERRUPTED
    except KeyboardInterrupt:
        name = signal.Signals(caught[0]).name if caught else "Ctrl-C"
        print(f"mnist-tui: interrupted ({name})", file=sys.stderr)
        code = 128 + caught[0] if caught else EXIT_INTERRUPTED
    except OSError as e:
        if not isinstance(e, BrokenPipeError) and e.errno not in OUTPUT_ERRORS:
            raise
        # `train --json | head`: the reader left (quietly, exit 0); or `> /dev/full`
        # (one line, exit 1). Either way the run ends as stopped and the checkpoint is written.
        pipe_closed = isinstance(e, BrokenPipeError)
        code = EXIT_INTERRUPTED if pipe_closed else EXIT_DATA
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, out.fileno())
        if not pipe_closed:
            print(f"mnist-tui: cannot write the output ({e.strerror}); training stopped",
                  file=sys.stderr)
            final = None
    out = sys.stdout  # the bar is gone
    if final is not None and not pipe_closed and code != EXIT_DATA:
        if args.json:
            emit({"event": "stopped" if final.stopped else "done", "test_acc": final.test_acc,
                  "seconds": final.seconds,
                  "epochs": final.epochs_done, "run_id": recorder.run_id,
                  "config": asdict(config)})
        elif text:
            acc = "n/a" if final.test_acc is None else f"{final.test_acc:.2%}"
            how = "stopped (mnist-tui runs stop, or a viewer)" if final.stopped else "done"
            print(f"{how}: test accuracy {acc} after {plural(final.epochs_done, 'epoch')}, "
                  f"{final.seconds:.1f}s of training", file=out)
        if config.val_split and final.epochs_done:
            cal = calibrate_run(model, config, ds)
            words = calibration_words(cal)
            if args.json:
                emit({"event": "calibration", "temperature": cal.temperature,
                      "val_ece_before": cal.val_ece_before, "val_ece_after": cal.val_ece_after,
                      "test_ece_before": cal.before.ece, "test_ece_after": cal.after.ece})
            elif text:
                print(words, file=out)
        if text:
            line = race_line(history, config, args.db, recorder.run_id)
            if line:
                print(line, file=out)
    served.close()
    saved = None
    # A signal during the save must not leave half a file: the save finishes, then we go.
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)
    if hung and not args.save and code != EXIT_DIVERGED and len(history) and recorder.run_id:
        path = checkpoint_path(recorder.run_id)  # a detached run keeps its weights unasked
        with contextlib.suppress(OSError):
            path.parent.mkdir(parents=True, exist_ok=True)
        args.save = str(path)
    if args.save and code != EXIT_DIVERGED and len(history):
        try:
            saved = str(checkpoint.save(args.save, model, config, history.epoch_columns()))
        except checkpoint.CheckpointError as e:
            print(f"mnist-tui: {e}", file=sys.stderr)
            saved = _rescue(model, config, history)
            code = EXIT_DATA
        if saved and text and not pipe_closed:
            print(f"saved {saved}", file=out)
    # Interrupted, or the output failed, before the run said how it ended: stopped.
    recorder.finish(status_of(outcome) if outcome is not None else "stopped", saved)
    warn_history()
    return 0 if pipe_closed else code


def _rescue(model, config, history) -> str | None:
    """The save failed: keep the weights anyway, in the cache, and say where they went."""
    name = time.strftime("rescued-%Y%m%d-%H%M%S.npz")
    fallback = data.cache_dir() / "rescued" / name
    try:
        fallback.parent.mkdir(parents=True, exist_ok=True)
        path = checkpoint.save(fallback, model, config, history.epoch_columns(),
                               exclusive=True)  # a name we chose: never over another rescue
    except (OSError, checkpoint.CheckpointError) as e:
        print(f"mnist-tui: the weights are lost: the fallback save failed too ({e})",
              file=sys.stderr)
        return None
    print(f"mnist-tui: the weights were saved to {path} instead", file=sys.stderr)
    return str(path)


