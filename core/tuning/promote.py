"""Promote a search's best trial: its hyperparameters as a normal training run.

`promote_spec(run)` turns a SUCCEEDED tune run into the TrainSpec that retrains the best trial on
the training and validation splits together (`fit_on_validation`), judged on the untouched test
split. The result is an ordinary training run that the Compress and Export pages take.
No TensorFlow here: the Tune page calls it in the UI process.
"""

from __future__ import annotations

import dataclasses

from core.errors import BadInput
from core.runs.store import Run
from core.specs import TrainSpec
from core.tuning.space import decode_values


def promote_spec(run: Run) -> TrainSpec:
    if run.kind != "tune":
        raise BadInput(f"run {run.id} is a {run.kind} run, not a tuning search")
    if run.status.value != "SUCCEEDED":
        raise BadInput(
            f"run {run.id} is {run.status.value}: only a finished search can be promoted"
            + (" (resume it first)" if run.status.value in ("FAILED", "CANCELED", "LOST") else "")
        )
    result = run.result or {}
    best = result.get("best") or {}
    if not best.get("trial_id") or best.get("score") is None:
        raise BadInput(f"search {run.id} has no completed trial to promote")
    base = TrainSpec.from_dict(dict(run.spec.get("base", {})))
    model = result.get("model") or base.model
    spec = trial_train_spec(
        base, model, decode_values(dict(best.get("hyperparameters") or {}), model)
    )
    return dataclasses.replace(
        spec, fit_on_validation=True, **({"task": result["task"]} if result.get("task") else {})
    )


def trial_train_spec(base: TrainSpec, model: str, hps: dict) -> TrainSpec:
    """The TrainSpec of one point of a search space (decoded values), as each trial trains it."""
    hps = dict(hps)
    changes: dict = {"model": model, "hyperparameters": {**base.hyperparameters, **hps}}
    if "learning_rate" in hps:  # TrainSpec.learning_rate wins over hyperparameters in training
        changes["learning_rate"] = float(hps["learning_rate"])
    if "hidden_units" in hps:
        changes["hidden_units"] = tuple(int(v) for v in hps["hidden_units"])
    if "dropout" in hps:
        changes["dropout"] = float(hps["dropout"])
    return dataclasses.replace(base, **changes)
