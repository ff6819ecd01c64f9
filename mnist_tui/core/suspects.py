"""Suspect labels: test samples that several runs get confidently wrong, and wrong alike.

Some MNIST test labels are wrong (Northcutt, Athalye and Mueller, "Pervasive Label Errors in
Test Sets Destabilize Machine Learning Benchmarks", NeurIPS 2021). One run being sure of another
class proves nothing; several different runs (other seeds or configs) each at least `min_conf`
sure of the *same* other class is worth a person's look.

The evidence is the history's runs of one dataset: each run's last stored epoch, its predicted
class and that class's probability per test sample (store.py keeps both). Runs with the same
config are the same computation, so only the newest of them counts. Only runs that ran their
planned epochs count: runs that ended badly (diverged, failed, lost) are noise, and a run
stopped or pruned early (a racer stopped after its first epoch) is a half-trained model that
must not take the place of the finished run of the same config.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

import numpy as np

from .store import Store

MIN_RUNS, MIN_CONF = 3, 0.9
FINISHED = ("done", "complete")  # ran every planned epoch
CUT_SHORT = ("stopped", "pruned")  # count only if they got to their planned epochs anyway


def ran_its_plan(run: dict) -> bool:
    """Whether a stored run trained all the epochs it planned."""
    if run.get("status") in FINISHED:
        return True
    planned = (run.get("config") or {}).get("epochs")
    return (run.get("status") in CUT_SHORT and isinstance(planned, int)
            and run.get("epochs", 0) >= planned)


@dataclass(frozen=True)
class Suspect:
    index: int  # the test sample
    label: int  # what the dataset says
    runs_say: int  # the wrong class the runs agree on
    agree: int  # runs confidently (>= min_conf) saying runs_say
    runs: int  # runs that were asked
    mean_confidence: float  # of the agreeing runs
    run_ids: tuple[int, ...]  # the agreeing runs
    mark: str | None = None  # "label looks wrong", "model is wrong" or None

    @property
    def agreement(self) -> float:
        return self.agree / self.runs if self.runs else 0.0

    def as_dict(self, classes=None) -> dict:
        d = asdict(self)
        d["run_ids"] = list(self.run_ids)
        d["agreement"] = round(self.agreement, 4)
        d["mean_confidence"] = round(self.mean_confidence, 4)
        if classes is not None:
            d["label_name"], d["runs_say_name"] = classes[self.label], classes[self.runs_say]
        return d


@dataclass(frozen=True)
class Evidence:
    run_ids: list[int]  # the runs used, newest first
    skipped: int  # runs of this dataset left out (duplicates, bad endings, no predictions)


def gather(store: Store, dataset: str = "mnist"):
    """(Evidence, classes (runs, n), confidence (runs, n), labels (n,)) of usable runs."""
    seen, used, skipped = set(), [], 0
    classes, confs, labels = [], [], None
    for run in store.runs(confusion=False):  # newest first
        config = run.get("config") or {}
        if not isinstance(config, dict) or config.get("dataset", "mnist") != dataset:
            continue
        key = json.dumps(config, sort_keys=True)
        if key in seen:  # an older run of a config already counted: no need to read its predictions
            skipped += 1
            continue
        stored = store.final_predictions(run["id"]) if ran_its_plan(run) else None
        if key in seen or stored is None:
            skipped += 1
            continue
        c, p, y = stored
        if labels is None:
            labels = y
        if len(y) != len(labels) or not np.array_equal(y, labels):
            skipped += 1
            continue
        seen.add(key)
        used.append(run["id"])
        classes.append(c)
        confs.append(p)
    if not used:
        return Evidence([], skipped), None, None, None
    return Evidence(used, skipped), np.stack(classes), np.stack(confs), labels


def find(store: Store, dataset: str = "mnist", min_runs: int = MIN_RUNS,
         min_conf: float = MIN_CONF) -> tuple[list[Suspect], Evidence]:
    """The suspects, most agreed first, and the runs they rest on."""
    evidence, C, P, y = gather(store, dataset)
    if C is None:
        return [], evidence
    marks = store.marks(dataset)
    # stored in 1/65535ths: a probability of exactly min_conf may read half a step below it
    sure_wrong = (C != y) & (P >= min_conf - 0.5 / 65535)  # (runs, n)
    out = []
    for i in np.flatnonzero(sure_wrong.sum(axis=0) >= min_runs):
        votes = np.bincount(C[sure_wrong[:, i], i], minlength=10)
        wrong = int(votes.argmax())
        agree_rows = np.flatnonzero(sure_wrong[:, i] & (C[:, i] == wrong))
        if len(agree_rows) < min_runs:
            continue
        out.append(Suspect(int(i), int(y[i]), wrong, len(agree_rows), len(evidence.run_ids),
                           float(P[agree_rows, i].mean()),
                           tuple(evidence.run_ids[r] for r in agree_rows), marks.get(int(i))))
    out.sort(key=lambda s: (-s.agree, -s.mean_confidence, s.index))
    return out, evidence
