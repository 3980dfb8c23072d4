"""Search spaces: checked, defaulted from the catalog, and turned into KerasTuner hyperparameters.

Pure Python (no TensorFlow, no KerasTuner at import), so the Tune page and the CLI validate a space
before any run starts. A space is a list of dicts, one per hyperparameter (see TuneSpec.space):

    {"name": "dropout", "kind": "float", "low": 0.0, "high": 0.5, "step": 0.1}
    {"name": "learning_rate", "kind": "float", "low": 1e-4, "high": 1e-1, "log": true}
    {"name": "hidden_units", "kind": "choice", "choices": ["16", "32-16"]}
    {"name": "blocks", "kind": "int", "low": 1, "high": 4,
     "parent": {"name": "filters", "values": [8, 16]}}

KerasTuner Choice values must be plain scalars of one type, so tuple choices (hidden layer widths
such as (32, 16)) travel as strings ("32-16") and are decoded back when the model is built.
"""

from __future__ import annotations

import math
from typing import Any

from core.errors import BadInput
from core.metrics import metric_direction

KINDS = ("int", "float", "choice", "bool", "fixed")
TUNER_KEYS = (
    "tuner/epochs",
    "tuner/initial_epoch",
    "tuner/bracket",
    "tuner/round",
    "tuner/trial_id",
)


# ---------------------------------------------------------------------------------------------
# Tuple values <-> KerasTuner-friendly strings


def encode_value(value: Any) -> Any:
    """(32, 16) -> "32-16"; scalars unchanged."""
    if isinstance(value, list | tuple):
        return "-".join(str(int(v)) if float(v).is_integer() else str(v) for v in value)
    return value


def decode_value(value: Any, as_tuple: bool) -> Any:
    """ "32-16" -> (32, 16) for hyperparameters the model declares as tuples."""
    if not as_tuple:
        return value
    if isinstance(value, list | tuple):
        return tuple(int(v) for v in value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return (int(value),)
    text = str(value).strip()
    try:
        return tuple(int(part) for part in text.split("-") if part.strip())
    except ValueError:
        raise BadInput(f"cannot read {value!r} as layer widths such as '32-16'") from None


def tuple_params(model: str) -> set[str]:
    """Names of the model's hyperparameters whose values are tuples (layer widths)."""
    from core.models.catalog import get_entry

    return {
        h.name
        for h in get_entry(model).hyperparameters
        if isinstance(h.default, tuple) or any(isinstance(c, tuple) for c in h.choices)
    }


def decode_values(values: dict[str, Any], model: str) -> dict[str, Any]:
    """A trial's values (KerasTuner's, strings for tuples) -> the builder's hyperparameters."""
    tuples = tuple_params(model)
    return {
        k: decode_value(v, k in tuples)
        for k, v in values.items()
        if not k.startswith("tuner/") and v is not None
    }


# ---------------------------------------------------------------------------------------------
# The default space


def default_space(model: str) -> list[dict[str, Any]]:
    """The model's declared hyperparameters as a search space (ranges and choices as declared)."""
    from core.models.catalog import get_entry

    space: list[dict[str, Any]] = []
    for h in get_entry(model).hyperparameters:
        if h.kind in ("int", "float"):
            if h.low is None or h.high is None:
                continue
            item: dict[str, Any] = {
                "name": h.name,
                "kind": h.kind,
                "low": int(h.low) if h.kind == "int" else float(h.low),
                "high": int(h.high) if h.kind == "int" else float(h.high),
                "log": bool(h.log),
                "default": h.default,
            }
            if h.kind == "float" and not h.log:
                item["step"] = _nice_step(float(h.low), float(h.high))
            space.append(item)
        elif h.kind == "choice":
            if not h.choices:
                continue
            space.append(
                {
                    "name": h.name,
                    "kind": "choice",
                    "choices": [encode_value(c) for c in h.choices],
                    "default": encode_value(h.default),
                }
            )
        elif h.kind == "bool":
            space.append({"name": h.name, "kind": "bool", "default": bool(h.default)})
    return space


def _nice_step(low: float, high: float) -> float:
    """A step giving about five values over the range (a grid search stays small)."""
    span = high - low
    step = span / 5
    return float(f"{step:.1g}") or span


# ---------------------------------------------------------------------------------------------
# Validation


def _num(item: dict, key: str, name: str) -> float:
    value = item.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BadInput(f"hyperparameter {name!r}: `{key}` must be a number, not {value!r}")
    if not math.isfinite(value):
        raise BadInput(f"hyperparameter {name!r}: `{key}` must be finite")
    return value


def validate_space(space, model: str) -> list[dict[str, Any]]:
    """Check a space for one catalog model; returns it normalised (parents before children).

    Empty means the model's declared hyperparameters. Raises BadInput with one clear sentence
    for: no hyperparameters, min > max, a step <= 0 or larger than its range, a choice without
    choices, an unknown kind, a name used twice, a name the model does not declare, log sampling
    from a value <= 0, and a conditional parent that does not exist or values it cannot take.
    """
    from core.models.catalog import get_entry

    entry = get_entry(model)
    declared = {h.name: h for h in entry.hyperparameters}
    if not space:
        space = default_space(model)
        if not space:
            raise BadInput(
                f"model {model!r} declares no hyperparameters to tune: give a search space"
            )
    if not isinstance(space, list | tuple):
        raise BadInput("the search space must be a list of hyperparameters")
    tuples = tuple_params(model)
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for raw in space:
        if not isinstance(raw, dict):
            raise BadInput(f"each hyperparameter must be an object, not {raw!r}")
        name = str(raw.get("name", "")).strip()
        if not name:
            raise BadInput("a hyperparameter has no name")
        if name in seen:
            raise BadInput(f"hyperparameter {name!r} appears twice in the search space")
        seen.add(name)
        if name not in declared:
            raise BadInput(
                f"model {model!r} has no hyperparameter {name!r}; it declares: "
                f"{', '.join(sorted(declared)) or 'none'}"
            )
        kind = str(raw.get("kind", "")).strip()
        if kind not in KINDS:
            raise BadInput(
                f"hyperparameter {name!r}: unknown kind {kind!r}; kinds are {', '.join(KINDS)}"
            )
        item: dict[str, Any] = {"name": name, "kind": kind}
        if kind in ("int", "float"):
            low, high = _num(raw, "low", name), _num(raw, "high", name)
            if kind == "int" and not (float(low).is_integer() and float(high).is_integer()):
                raise BadInput(f"hyperparameter {name!r}: an int range needs whole numbers")
            if low > high:
                raise BadInput(f"hyperparameter {name!r}: min {low:g} is larger than max {high:g}")
            log = bool(raw.get("log", False))
            if log and low <= 0:
                raise BadInput(
                    f"hyperparameter {name!r}: log sampling needs a min above 0 (got {low:g})"
                )
            item.update(
                low=int(low) if kind == "int" else float(low),
                high=int(high) if kind == "int" else float(high),
                log=log,
            )
            if raw.get("step") is not None:
                step = _num(raw, "step", name)
                if step <= 0:
                    raise BadInput(f"hyperparameter {name!r}: step must be above 0 (got {step:g})")
                if high > low and step > high - low and not log:
                    raise BadInput(
                        f"hyperparameter {name!r}: step {step:g} is larger than the range "
                        f"{low:g}..{high:g}"
                    )
                if kind == "int" and not float(step).is_integer():
                    raise BadInput(f"hyperparameter {name!r}: an int step must be a whole number")
                if log and step <= 1:
                    if not (kind == "int" and step == 1):  # int step 1 under log: no step
                        raise BadInput(
                            f"hyperparameter {name!r}: with log sampling the step multiplies, so "
                            f"it must be above 1 (got {step:g})"
                        )
                else:
                    item["step"] = int(step) if kind == "int" else float(step)
            default = raw.get("default")
            if default is not None and not isinstance(default, tuple | list):
                default = _num(raw, "default", name)
                if not low <= default <= high:
                    raise BadInput(
                        f"hyperparameter {name!r}: default {default:g} is outside {low:g}..{high:g}"
                    )
                item["default"] = int(default) if kind == "int" else float(default)
        elif kind == "choice":
            choices = raw.get("choices")
            if not isinstance(choices, list | tuple) or not choices:
                raise BadInput(f"hyperparameter {name!r}: a choice needs at least one value")
            values = [encode_value(c) for c in choices]
            if name in tuples:
                widths = [decode_value(v, True) for v in values]
                if any(not w or min(w) < 1 for w in widths):
                    raise BadInput(
                        f"hyperparameter {name!r}: layer widths must be whole numbers of at "
                        f"least 1, such as '32-16' (got {', '.join(map(repr, values))})"
                    )
                values = [encode_value(w) for w in widths]
            types = {_type_name(v) for v in values}
            if len(types) > 1:
                raise BadInput(
                    f"hyperparameter {name!r}: choices must all be numbers, all text or all "
                    f"true/false, not a mix ({', '.join(map(repr, values))})"
                )
            if len(set(map(str, values))) != len(values):
                raise BadInput(f"hyperparameter {name!r}: a choice is listed twice")
            item["choices"] = values
            default = raw.get("default")
            if default is not None:
                default = encode_value(default)
                if name in tuples:
                    default = encode_value(decode_value(default, True))
                if default not in values:
                    raise BadInput(
                        f"hyperparameter {name!r}: default {default!r} is not one of the choices"
                    )
                item["default"] = default
        elif kind == "bool":
            if raw.get("default") is not None:
                item["default"] = bool(raw["default"])
        else:  # fixed
            if "value" not in raw or raw["value"] is None:
                raise BadInput(f"hyperparameter {name!r}: a fixed hyperparameter needs a value")
            item["value"] = encode_value(raw["value"])
        parent = raw.get("parent")
        if parent:
            if not isinstance(parent, dict) or not parent.get("name"):
                raise BadInput(f"hyperparameter {name!r}: `parent` needs a name and values")
            pvalues = parent.get("values")
            if not isinstance(pvalues, list | tuple) or not pvalues:
                raise BadInput(
                    f"hyperparameter {name!r}: its parent {parent['name']!r} needs the values "
                    "that make it active"
                )
            item["parent"] = {
                "name": str(parent["name"]),
                "values": [encode_value(v) for v in pvalues],
            }
        out.append(item)
    return _order_and_check_parents(out)


def _type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    return "text"


def _order_and_check_parents(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    by_name = {i["name"]: i for i in items}
    for item in items:
        parent = item.get("parent")
        if not parent:
            continue
        p = by_name.get(parent["name"])
        if p is None:
            raise BadInput(
                f"hyperparameter {item['name']!r} depends on {parent['name']!r}, which is not in "
                "the search space"
            )
        if p["name"] == item["name"]:
            raise BadInput(f"hyperparameter {item['name']!r} cannot depend on itself")
        allowed = _possible_values(p)
        if allowed is None:
            raise BadInput(
                f"hyperparameter {item['name']!r} depends on {p['name']!r}, a {p['kind']}: a "
                "parent must be a choice, a bool, a fixed value or an int range"
            )
        wrong = [v for v in parent["values"] if v not in allowed]
        if wrong:
            raise BadInput(
                f"hyperparameter {item['name']!r} depends on {p['name']!r} being "
                f"{', '.join(map(repr, wrong))}, which {p['name']!r} cannot take (it takes "
                f"{', '.join(map(repr, allowed[:12]))})"
            )
    ordered: list[dict[str, Any]] = []
    placing: set[str] = set()

    def place(item):
        if item in ordered:
            return
        if item["name"] in placing:
            raise BadInput(f"conditional hyperparameters form a loop at {item['name']!r}")
        placing.add(item["name"])
        if item.get("parent"):
            place(by_name[item["parent"]["name"]])
        ordered.append(item)

    for item in items:
        place(item)
    return ordered


def _possible_values(item: dict[str, Any]) -> list[Any] | None:
    if item["kind"] == "choice":
        return list(item["choices"])
    if item["kind"] == "bool":
        return [False, True]
    if item["kind"] == "fixed":
        return [item["value"]]
    if item["kind"] == "int":
        step = item.get("step", 1)
        if (item["high"] - item["low"]) / step > 10_000:
            return None
        return list(range(item["low"], item["high"] + 1, step))
    return None


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
        if kind == "int":
            value = hp.Int(
                name,
                item["low"],
                item["high"],
                step=item.get("step"),
                sampling="log" if item.get("log") else "linear",
                default=item.get("default"),
                **cond,
            )
        elif kind == "float":
            value = hp.Float(
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
