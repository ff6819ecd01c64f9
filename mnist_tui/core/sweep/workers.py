"""A sweep's processes: `run` starts the workers and reports the trials as they change; each
`worker` joins the study and runs trials (`objective`: one training run, recorded, reported to
the pruner each epoch) until the study holds its `trials`; `STOP` ends a worker's trial."""

from __future__ import annotations

import os
import signal
import socket
import threading
import time
from collections.abc import Callable

from ..events import Diverged, EpochEnd, Finished
from .plan import Sweep, SweepError, trial_seed
from .results import TrialRow, rows
from .storage import HEARTBEAT, _scrub, open_study, storage_url

STOP_GRACE = 10.0  # seconds a stopped worker gets to record its trial before SIGKILL


class _Counted(tuple):
    """The trial states that count toward `trials` (see `worker`), resolved lazily: importing
    Optuna takes 0.4 s, and only a sweep needs it."""

    def __contains__(self, state) -> bool:
        return state.name in ("COMPLETE", "PRUNED", "RUNNING", "WAITING")

    def __iter__(self):
        import optuna

        S = optuna.trial.TrialState
        return iter((S.COMPLETE, S.PRUNED, S.RUNNING, S.WAITING))


COUNTED = _Counted()


def objective(sweep: Sweep, dataset, trial) -> float:
    """Train one trial with its own seed; report validation accuracy each epoch; record it as
    a run. Stopped (`STOP`, set by SIGTERM or SIGINT in a worker), it is recorded as stopped,
    here and in the study, queued again for the resume, and ends with KeyboardInterrupt."""
    import optuna

    from .. import train
    from ..local_run import LocalRun
    from ..model import Perceptron
    from ..store import Recorder

    params = sweep.space.suggest(trial)
    seed = trial_seed(sweep, trial.number)
    config = sweep.config(params, seed)
    for name, value in (("seed", seed), ("host", socket.gethostname()), ("pid", os.getpid())):
        trial.set_user_attr(name, value)
    recorder = Recorder(sweep.db_path, config, study=sweep.study, trial=trial.number,
                        labels=dataset.test_labels)
    trial.set_user_attr("run_id", recorder.run_id)
    model = Perceptron(config.hidden, seed=config.seed)  # as train() makes it: served below
    served = LocalRun(config, recorder.run_id, model, label=f"{sweep.study} #{trial.number}",
                      db_path=sweep.db_path)
    best, status = 0.0, "done"
    try:
        for ev in train.train(config, dataset, model=model, threads=1,
                              stop=EitherEvent(STOP, served.stop_event),
                              pause=served.pause_event, live=served.live,
                              snapshot=served.snapshot):
            served.take(ev)  # `mnist-tui attach` watches a trial too
            if isinstance(ev, EpochEnd):
                recorder.epoch(ev)
                best = max(best, ev.val_acc)
                trial.set_user_attr("test_acc", ev.test_acc)
                trial.set_user_attr("epochs", ev.epoch)
                trial.report(ev.val_acc, ev.epoch)
                # A trial at its last epoch has run in full: it completes, whatever its rank.
                if ev.epoch < sweep.epochs and trial.should_prune():
                    status = "pruned"
                    raise optuna.TrialPruned(f"pruned at epoch {ev.epoch}")
            elif isinstance(ev, Diverged):
                status = "diverged"
                trial.set_user_attr("diverged", True)
                return 0.0  # a run that blows up is a bad point, not a failed trial
            elif isinstance(ev, Finished) and ev.stopped and not STOP.is_set():
                status = "stopped"  # this trial alone, by `runs stop` or a viewer: the worker goes on
            elif isinstance(ev, Finished) and ev.stopped:
                status = "stopped"
                trial.set_user_attr("stopped", True)
                trial.study.enqueue_trial(trial.params, user_attrs={"retry_of": trial.number})
                raise KeyboardInterrupt  # Optuna records the trial as failed, and re-raises
    except BaseException:
        if status == "done":
            status = "stopped"
        raise
    finally:
        served.close()
        recorder.finish(status)
    return best


class EitherEvent:
    """Set when either event is: the worker's STOP, or one trial's stop from a viewer."""

    def __init__(self, *events: threading.Event) -> None:
        self.events = events

    def is_set(self) -> bool:
        return any(e.is_set() for e in self.events)

    def wait(self, timeout: float | None = None) -> bool:
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self.is_set():
            left = 0.02 if deadline is None else min(0.02, deadline - time.monotonic())
            if left <= 0:
                return False
            self.events[0].wait(left)
        return True


# Set in a worker by SIGTERM, SIGINT or its parent's end: the trial stops at its next batch
# (train() checks it), is recorded, and the worker ends. An event, not an exception raised from
# the signal handler: that could land inside a storage call and leave the trial half-written.
STOP = threading.Event()


def _stop(sig=None, frame=None) -> None:
    STOP.set()


def _watch_parent(alive) -> None:
    """Stop this worker once the pipe from the sweep's parent closes: the parent has gone,
    `kill -9` included, and nobody else will stop us."""
    def wait() -> None:
        try:
            alive.recv()
        except (EOFError, OSError):
            pass
        STOP.set()

    threading.Thread(target=wait, name="parent-watch", daemon=True).start()


def _stop_study(study, trial) -> None:
    """An Optuna callback: no new trial once the worker is asked to stop."""
    if STOP.is_set():
        study.stop()


def worker(sweep: Sweep, index: int = 0, shared=None, alive=None, errors=None,
           environ: dict | None = None) -> None:
    """One worker process: join the study and run trials until it holds `trials` of them.

    Running and waiting (to be retried) trials count too, so workers stop as the last ones
    start rather than each starting one more; failed trials do not count, so they are replaced.
    SIGTERM, SIGINT, or `alive` (the parent's pipe) closing stop it, its trial recorded.
    An error that ends it is sent, as one line of UTF-8, on `errors` (a pipe's write end), so
    that the sweep says why rather than ending "done" with nothing run.
    `environ` is the parent's environment when it started us: a worker comes from the fork
    server, whose environment is the one it started with, not the parent's now (its
    XDG_DATA_HOME and XDG_RUNTIME_DIR decide where trials and their runs are written).
    """
    if environ is not None:
        os.environ.clear()
        os.environ.update(environ)
    if errors is not None:
        # What a worker has to say goes on `errors`: never onto the terminal of the process
        # that started it, where the dashboard draws (a traceback was painted over the Sweep
        # tab), nor into `serve`'s protocol pipe.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        os.close(devnull)
    try:
        _work(sweep, index, shared, alive)
    except Exception as e:
        if errors is None:
            raise
        line = f"worker {index}: {type(e).__name__}: {e}".splitlines()[0]
        try:
            errors.send_bytes(_scrub(line, storage_url(sweep)).encode("utf-8", "replace")[:4000])
        except OSError:
            pass
        raise SystemExit(1) from None  # said on `errors`; the exit code says it failed


def _work(sweep: Sweep, index: int, shared, alive) -> None:
    import optuna

    from .. import data

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    if alive is not None:
        _watch_parent(alive)
    try:
        if shared is not None:  # the parent's dataset, in shared memory (see engine.py)
            from ..engine import attach

            dataset = attach(shared)
        else:
            dataset = data.load(sweep.data_dir, dataset=sweep.dataset)
        study, sweep = open_study(sweep, index)
        # A stopped trial is a failed one to Optuna, which would log each with its traceback.
        optuna.logging.set_verbosity(optuna.logging.ERROR)
        done = optuna.study.MaxTrialsCallback(sweep.trials, states=COUNTED)
        running = (optuna.trial.TrialState.RUNNING, optuna.trial.TrialState.WAITING)
        while not STOP.is_set():
            # A trial still "running" may belong to a worker that was killed: once its
            # heartbeat is GRACE seconds old (or it never had one), it is failed and a retry
            # queued, which this worker takes.
            optuna.storages.fail_stale_trials(study)
            counted = study.get_trials(deepcopy=False, states=COUNTED)
            waiting = any(t.state == optuna.trial.TrialState.WAITING for t in counted)
            if len(counted) < sweep.trials or waiting:
                study.optimize(lambda t: objective(sweep, dataset, t),
                               callbacks=[done, _stop_study], catch=(FloatingPointError,),
                               gc_after_trial=False)
                continue
            if not any(t.state in running for t in counted):
                return  # every counted trial has finished: the study is done
            STOP.wait(HEARTBEAT)
    except KeyboardInterrupt:
        return  # stopped: the trial was recorded as such in objective()


def run(sweep: Sweep, on_update: Callable[[list[TrialRow]], None] | None = None,
        poll: float = 1.0, stop: threading.Event | None = None, shared=None) -> object:
    """Start the workers (processes), report the trials as they change, return the study.

    The workers are processes of the engine's kind (forkserver: nothing of this process is
    copied), each with one BLAS thread, reading `shared` (the engine's shared dataset) if given.
    Setting `stop`, or any exception here (Ctrl-C), ends them: each records its running trial
    as stopped and queues it again, for the resume. Each worker also watches a pipe that only
    this process holds, so they end by themselves when it dies, even by SIGKILL.
    """
    import optuna

    from ..engine import CONTEXT

    # Errors (storage, study, settings) show here, before any process starts.
    study, sweep = open_study(sweep)
    # A resume fails (and queues again) the trials of dead workers now, not once its own
    # workers are up: on a loaded machine that took seconds more.
    optuna.storages.fail_stale_trials(study)
    stop = stop or threading.Event()
    alive_r, alive_w = CONTEXT.Pipe(duplex=False)
    errors_r, errors_w = CONTEXT.Pipe(duplex=False)
    procs = [CONTEXT.Process(target=worker,
                             args=(sweep, i, shared, alive_r, errors_w, dict(os.environ)),
                             name=f"mnist-tui-sweep-{i}", daemon=True)
             for i in range(sweep.workers)]
    try:
        for p in procs:
            p.start()
        alive_r.close()  # the workers hold the read ends; only this process the write end
        errors_w.close()  # and the workers alone hold the errors' write ends
        seen = None
        while any(p.is_alive() for p in procs) and not stop.wait(poll):
            current = rows(study)
            key = [(r.number, r.state, r.epochs) for r in current]
            if on_update and key != seen:
                seen = key
                on_update(current)
    finally:
        end_workers(procs)
        alive_w.close()
        failures = _read_errors(errors_r)
        errors_r.close()
    if on_update:
        on_update(rows(study))
    if not stop.is_set():
        _check_workers(study, sweep, procs, failures)
    return study


def _read_errors(conn) -> list[str]:
    """Every line the workers sent before they ended (see `worker`)."""
    lines = []
    try:
        while conn.poll(0):
            lines.append(conn.recv_bytes().decode("utf-8", "replace"))
    except (EOFError, OSError):
        pass
    return lines


def _check_workers(study, sweep: Sweep, procs, failures: list[str]) -> None:
    """Raise SweepError if the workers ended, not asked to, before the study held its trials:
    with the first worker's error, or how it ended (a signal: killed, perhaps out of memory)."""
    import optuna

    finished = study.get_trials(deepcopy=False, states=(
        optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED))
    if len(finished) >= sweep.trials:
        return
    if failures:
        raise SweepError(f"the sweep stopped: {failures[0]}")
    ended = [p for p in procs if p.exitcode not in (0, None)]
    if ended:
        p = ended[0]
        how = (f"was killed by signal {-p.exitcode}" if p.exitcode < 0
               else f"ended with exit code {p.exitcode}")
        raise SweepError(f"the sweep stopped: {p.name} {how} with {len(finished)} of "
                         f"{sweep.trials} trials finished; Start (or run) it again to resume")


def end_workers(procs, grace: float = STOP_GRACE) -> None:
    """SIGTERM to each live worker (it records its trial as stopped), SIGKILL after `grace`."""
    for p in procs:
        if p.pid is not None and p.is_alive():
            p.terminate()
    deadline = time.monotonic() + grace
    for p in procs:
        if p.pid is not None:
            p.join(max(0.0, deadline - time.monotonic()))
            if p.is_alive():
                p.kill()
                p.join(2)
