"""A study as it is shown: its trials as rows, a trial's values in short words, Optuna's
parameter importances, and the summary of the best trial (the CLI and the Sweep tab share them)."""

from __future__ import annotations

import time
from dataclasses import dataclass


@dataclass
class TrialRow:
    number: int
    state: str  # running | waiting | complete | pruned | diverged | stopped | fail
    params: dict
    val_acc: float | None
    test_acc: float | None
    epochs: int
    run_id: int | None
    host: str | None = None
    seed: int | None = None


def _state(t) -> str:
    if t.user_attrs.get("diverged"):
        return "diverged"
    if t.state.name == "FAIL" and t.user_attrs.get("stopped"):
        return "stopped"
    return t.state.name.lower()


def rows(study) -> list[TrialRow]:
    """The trials as the CLI and the Sweep tab show them."""
    out = []
    for t in study.get_trials(deepcopy=False):
        values = list(t.intermediate_values.values())
        waiting = t.state.name == "WAITING"  # a retry: the attributes are its parent's
        attrs = {} if waiting else t.user_attrs
        out.append(TrialRow(
            t.number, _state(t), dict(t.params),
            max(values) if values and not waiting else None, attrs.get("test_acc"),
            int(attrs.get("epochs", 0)), attrs.get("run_id"), attrs.get("host"),
            attrs.get("seed")))
    return out


def params_words(params: dict) -> str:
    """A trial's values in short words, the same in the CLI and the Sweep tab:
    'lr=0.0058 n=256 b=64 m=0.824 wd=3.85e-05 adam'."""
    short = {"lr": "lr", "hidden": "n", "batch_size": "b", "momentum": "m", "weight_decay": "wd"}
    words = []
    for k, v in params.items():
        name = short.get(k, k)
        words.append(str(v) if k == "optimizer" else
                     f"{name}={v:.3g}" if isinstance(v, float) else f"{name}={v}")
    return " ".join(words)


def importances(study) -> dict[str, float]:
    """Optuna's parameter importances (its default evaluator: PED-ANOVA in Optuna 5, which
    judges each parameter over the trials that drew it), once there are enough finished trials."""
    import optuna

    if len([t for t in study.get_trials(deepcopy=False)
            if t.state == optuna.trial.TrialState.COMPLETE]) < 4:
        return {}
    try:
        return optuna.importance.get_param_importances(study)
    except (RuntimeError, ValueError):
        return {}


def summary(study, started: float | None = None) -> dict:
    """The best trial by validation accuracy, with its test accuracy beside it."""
    import optuna

    done = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    pruned = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.PRUNED,))
    stopped = [t for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.FAIL,))
               if t.user_attrs.get("stopped")]
    out = {"study": study.study_name, "complete": len(done), "pruned": len(pruned),
           "diverged": sum(bool(t.user_attrs.get("diverged")) for t in done),
           "stopped": len(stopped)}
    if done:
        best = study.best_trial
        out.update(best_trial=best.number, best_host=best.user_attrs.get("host"),
                   best_val_acc=best.value, best_test_acc=best.user_attrs.get("test_acc"),
                   best_params=best.params, best_run_id=best.user_attrs.get("run_id"),
                   best_seed=best.user_attrs.get("seed"))
    if started is not None:
        out["seconds"] = time.time() - started
    return out
