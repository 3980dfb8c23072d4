"""Search space values: tuples as KerasTuner-friendly strings, and the catalog's default space.

KerasTuner Choice values must be plain scalars of one type, so tuple choices (hidden layer widths
such as (32, 16)) travel as strings ("32-16") and are decoded back when the model is built.
Pure Python; `core.tuning.space` is the face other modules import.
"""

from __future__ import annotations

from typing import Any

from core.errors import BadInput

KINDS = ("int", "float", "choice", "bool", "fixed")


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
