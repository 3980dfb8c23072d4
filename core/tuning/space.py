"""Search spaces: checked, defaulted from the catalog, and turned into KerasTuner hyperparameters.

Pure Python (no TensorFlow, no KerasTuner at import), so the Tune page and the CLI validate a space
before any run starts. A space is a list of dicts, one per hyperparameter (see TuneSpec.space):

    {"name": "dropout", "kind": "float", "low": 0.0, "high": 0.5, "step": 0.1}
    {"name": "learning_rate", "kind": "float", "low": 1e-4, "high": 1e-1, "log": true}
    {"name": "hidden_units", "kind": "choice", "choices": ["16", "32-16"]}
    {"name": "blocks", "kind": "int", "low": 1, "high": 4,
     "parent": {"name": "filters", "values": [8, 16]}}

This module is the face the rest of the code imports: value encoding and the default space live
in `core.tuning.space_values`, validation in `core.tuning.space_check`.
"""

from __future__ import annotations

from typing import Any

from core.errors import BadInput
from core.metrics import metric_direction
from core.tuning.space_check import validate_space
from core.tuning.space_values import (
    KINDS,
    decode_value,
    decode_values,
    default_space,
    encode_value,
    tuple_params,
)

__all__ = [
    "KINDS",
    "TUNER_KEYS",
    "check_objective",
    "check_tune_spec",
    "declare",
    "decode_value",
    "decode_values",
    "default_direction",
    "default_space",
    "encode_value",
    "logged_metrics",
    "tuple_params",
    "user_values",
    "validate_space",
]

TUNER_KEYS = (
    "tuner/epochs",
    "tuner/initial_epoch",
    "tuner/bracket",
    "tuner/round",
    "tuner/trial_id",
)


# ---------------------------------------------------------------------------------------------
# KerasTuner


def declare(hp, space: list[dict[str, Any]]) -> dict[str, Any]:
    """Declare a validated space on a `keras_tuner.HyperParameters`; returns the active values."""
    values: dict[str, Any] = {}
    for item in space:
        name, kind = item["name"], item["kind"]
        cond: dict[str, Any] = {}
        if item.get("parent"):
            cond = {
                "parent_name": item["parent"]["name"],
                "parent_values": item["parent"]["values"],
            }
        if kind in ("int", "float"):
            value = (hp.Int if kind == "int" else hp.Float)(
                name,
                item["low"],
                item["high"],
                step=item.get("step"),
                sampling="log" if item.get("log") else "linear",
                default=item.get("default"),
                **cond,
            )
        elif kind == "choice":
            value = hp.Choice(name, list(item["choices"]), default=item.get("default"), **cond)
        elif kind == "bool":
            value = hp.Boolean(name, default=bool(item.get("default", False)), **cond)
        else:
            value = hp.Fixed(name, item["value"], **cond)
        if value is not None:
            values[name] = value
    return values


def user_values(values: dict[str, Any]) -> dict[str, Any]:
    """A trial's hyperparameter values without KerasTuner's own `tuner/...` bookkeeping."""
    return {k: v for k, v in values.items() if not str(k).startswith("tuner/")}


# ---------------------------------------------------------------------------------------------
# Objectives


def default_direction(objective: str) -> str:
    return metric_direction(objective)


def logged_metrics(task: str) -> list[str]:
    """The metrics a trial logs for a task (as the training job compiles its models)."""
    from core.training.families.common import CLASSIFICATION_TASKS

    base = ["loss", "accuracy"] if task in CLASSIFICATION_TASKS else ["loss", "mae"]
    return base + [f"val_{m}" for m in base]


def check_objective(objective: str, direction: str, task: str) -> tuple[str, str]:
    """(objective, direction), or BadInput naming the metrics the model does log."""
    logged = logged_metrics(task)
    if objective not in logged:
        raise BadInput(
            f"objective {objective!r} is never logged by a {task} model; it logs: "
            f"{', '.join(logged)}"
        )
    direction = direction or default_direction(objective)
    if direction not in ("min", "max"):
        raise BadInput(f"direction must be min or max, not {direction!r}")
    return objective, direction


def check_tune_spec(spec, ws=None):
    """Validate a TuneSpec against its data before a run starts (pandas only, no TensorFlow).

    Returns (TrainPlan, normalised space, objective, direction).
    """
    from core.specs import TUNERS, TrainSpec
    from core.training.precheck import check_train_spec

    if spec.tuner not in TUNERS:
        raise BadInput(f"unknown tuner {spec.tuner!r}; choose {', '.join(TUNERS)}")
    for field, low in (
        ("max_trials", 1),
        ("executions_per_trial", 1),
        ("keep_best", 0),
        ("max_failed_trials", 0),
        ("workers", 0),
        ("trial_early_stopping", 0),
    ):
        if int(getattr(spec, field)) < low:
            raise BadInput(f"{field.replace('_', ' ')} must be at least {low}")
    if spec.time_budget_s < 0:
        raise BadInput("the time budget cannot be negative")
    if spec.tuner == "hyperband" and spec.hyperband_factor < 2:
        raise BadInput("Hyperband's reduction factor must be at least 2")
    try:
        base = TrainSpec.from_dict(dict(spec.base))
    except (TypeError, ValueError) as exc:
        raise BadInput(f"the base training spec is not valid: {exc}") from None
    planned = check_train_spec(base, ws)
    space = validate_space(list(spec.space), planned.model)
    objective, direction = check_objective(spec.objective, spec.direction, planned.task)
    return planned, space, objective, direction
