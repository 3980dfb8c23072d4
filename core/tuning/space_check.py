"""Search space validation: one clear sentence (BadInput) for each way a space can be wrong.

Pure Python, so the Tune page and the CLI check a space before any run starts.
`core.tuning.space` is the face other modules import (`validate_space`).
"""

from __future__ import annotations

import math
from typing import Any

from core.errors import BadInput
from core.tuning.space_values import KINDS, decode_value, default_space, encode_value, tuple_params


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
            item.update(check_range(raw, name, kind))
        elif kind == "choice":
            item.update(check_choice(raw, name, name in tuples))
        elif kind == "bool":
            if raw.get("default") is not None:
                item["default"] = bool(raw["default"])
        else:  # fixed
            if "value" not in raw or raw["value"] is None:
                raise BadInput(f"hyperparameter {name!r}: a fixed hyperparameter needs a value")
            item["value"] = encode_value(raw["value"])
        parent = check_parent(raw, name)
        if parent:
            item["parent"] = parent
        out.append(item)
    return order_and_check_parents(out)


def _num(item: dict, key: str, name: str) -> float:
    value = item.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BadInput(f"hyperparameter {name!r}: `{key}` must be a number, not {value!r}")
    if not math.isfinite(value):
        raise BadInput(f"hyperparameter {name!r}: `{key}` must be finite")
    return value


def check_range(raw: dict[str, Any], name: str, kind: str) -> dict[str, Any]:
    """low, high, log, step and default of an int or float hyperparameter."""
    low, high = _num(raw, "low", name), _num(raw, "high", name)
    if kind == "int" and not (float(low).is_integer() and float(high).is_integer()):
        raise BadInput(f"hyperparameter {name!r}: an int range needs whole numbers")
    if low > high:
        raise BadInput(f"hyperparameter {name!r}: min {low:g} is larger than max {high:g}")
    log = bool(raw.get("log", False))
    if log and low <= 0:
        raise BadInput(f"hyperparameter {name!r}: log sampling needs a min above 0 (got {low:g})")
    item: dict[str, Any] = {
        "low": int(low) if kind == "int" else float(low),
        "high": int(high) if kind == "int" else float(high),
        "log": log,
    }
    if raw.get("step") is not None:
        step = _num(raw, "step", name)
        if step <= 0:
            raise BadInput(f"hyperparameter {name!r}: step must be above 0 (got {step:g})")
        if high > low and step > high - low and not log:
            raise BadInput(
                f"hyperparameter {name!r}: step {step:g} is larger than the range {low:g}..{high:g}"
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
    return item


def check_choice(raw: dict[str, Any], name: str, widths_valued: bool) -> dict[str, Any]:
    """choices (encoded, one type, no repeats) and default of a choice hyperparameter."""
    choices = raw.get("choices")
    if not isinstance(choices, list | tuple) or not choices:
        raise BadInput(f"hyperparameter {name!r}: a choice needs at least one value")
    values = [encode_value(c) for c in choices]
    if widths_valued:
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
    item: dict[str, Any] = {"choices": values}
    default = raw.get("default")
    if default is not None:
        default = encode_value(default)
        if widths_valued:
            default = encode_value(decode_value(default, True))
        if default not in values:
            raise BadInput(
                f"hyperparameter {name!r}: default {default!r} is not one of the choices"
            )
        item["default"] = default
    return item


def check_parent(raw: dict[str, Any], name: str) -> dict[str, Any] | None:
    """The conditional parent's shape ({name, values}); whether it exists is checked later."""
    parent = raw.get("parent")
    if not parent:
        return None
    if not isinstance(parent, dict) or not parent.get("name"):
        raise BadInput(f"hyperparameter {name!r}: `parent` needs a name and values")
    pvalues = parent.get("values")
    if not isinstance(pvalues, list | tuple) or not pvalues:
        raise BadInput(
            f"hyperparameter {name!r}: its parent {parent['name']!r} needs the values "
            "that make it active"
        )
    return {"name": str(parent["name"]), "values": [encode_value(v) for v in pvalues]}


def _type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    return "text"


def order_and_check_parents(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
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
        allowed = possible_values(p)
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


def possible_values(item: dict[str, Any]) -> list[Any] | None:
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
