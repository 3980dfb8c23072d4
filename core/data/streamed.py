"""The table checks of `core.data.tabular.prepare_table`, made from a version's stored statistics
instead of its rows: what the precheck and the streaming worker know of a large table before
reading it. Same rules (core.data.tabular.feature_role, MIN_ROWS, MAX_CLASSES, CLASS_LIMIT), same
messages. pandas-free and TensorFlow-free.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from core.data.stats import class_label
from core.data.tabular import CLASS_LIMIT, MAX_CLASSES, MIN_ROWS, feature_role
from core.errors import BadInput

LEFT_OUT = ("text", "timestamp", "image_path")


@dataclass
class StreamedTable:
    """`TableInfo` without a frame: the roles of the columns and what the stats say."""

    target: str
    task: str
    numeric: list[str]
    categorical: list[str]
    classes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    hashed: list[str] = field(default_factory=list)
    integer_categories: list[str] = field(default_factory=list)
    rows: int = 0  # rows with a target value

    @property
    def features(self) -> list[str]:
        return self.numeric + self.categorical + self.hashed + self.integer_categories


def _types(schema: dict[str, Any] | None) -> dict[str, str]:
    return {c["name"]: c["type"] for c in (schema or {}).get("columns", [])}


def not_streamable(stats: dict[str, Any], schema: dict[str, Any] | None) -> str | None:
    """Why the table must be read into memory to train, or None. Numbers stored as text (a
    mixed-type column) are parsed and checked value by value by the in-memory table checks."""
    types = _types(schema)
    for name, col in stats["columns"].items():
        declared = types.get(name)
        if col["kind"] == "string" and declared in ("numeric", "integer"):
            return f"column {name!r} holds numbers stored as text"
        if col["kind"] == "other" and declared not in LEFT_OUT:
            return f"column {name!r} is of type {col['type']}"
    return None


def infer_task_from_stats(col: dict[str, Any]) -> str:
    """`core.data.tabular.infer_task` from a column's statistics."""
    if col["kind"] != "number":
        return "classification"
    exact = col.get("distinct_exact", False)
    small = exact and col["distinct"] <= CLASS_LIMIT
    return "classification" if col.get("integral") and small else "regression"


def plan_table(
    stats: dict[str, Any], schema: dict[str, Any] | None, target: str, task: str = "auto"
) -> StreamedTable:
    """Check a large table for training on `target` from its statistics; BadInput as
    `prepare_table` would say it."""
    columns = stats["columns"]
    if len(columns) < 2:
        raise BadInput(
            f"the table has a single column ({next(iter(columns), 'none')}): it needs at least "
            "one feature column and a target column (is the delimiter right?)"
        )
    if not target:
        raise BadInput(f"choose a target column; columns are: {', '.join(columns)}")
    if target not in columns:
        raise BadInput(f"there is no column {target!r}; columns are: {', '.join(columns)}")
    warnings: list[str] = []
    y = columns[target]
    if y["count"] == 0:
        raise BadInput(f"the target column {target!r} has no values")
    if y["missing"]:
        warnings.append(f"{y['missing']} row(s) with no {target!r} value dropped")
    rows = int(y["count"])
    task = infer_task_from_stats(y) if task == "auto" else task
    if task not in ("classification", "regression"):
        raise BadInput(f"unknown task {task!r}: use classification, regression or auto")
    classes: list[str] = []
    if task == "classification":
        if not y.get("distinct_exact") or y["distinct"] > MAX_CLASSES:
            raise BadInput(
                f"the target {target!r} has {y['distinct']} distinct values: too many classes "
                f"(at most {MAX_CLASSES}); for a number, choose the regression task"
            )
        counts: dict[str, int] = {}
        for value, count in y["values"]:
            label = class_label(value, y)
            counts[label] = counts.get(label, 0) + count
        if len(counts) < 2:
            raise BadInput(
                f"the target {target!r} has a single class ({next(iter(counts))!r}): a "
                "classifier needs at least two classes"
            )
        classes = sorted(counts)
        rare = [c for c, n in sorted(counts.items(), key=lambda kv: -kv[1]) if n < 2]
        if rare:
            warnings.append(f"classes with a single row: {', '.join(rare[:5])}")
    else:
        if y["kind"] != "number":
            raise BadInput(f"the target {target!r} is not numeric, so it cannot be regressed")
        if y["distinct"] < 2:
            raise BadInput(f"the target {target!r} is constant ({y['min']}): nothing to learn")
    if rows < MIN_ROWS:
        raise BadInput(f"the table has {rows} usable rows; at least {MIN_ROWS} are needed")

    types = _types(schema)
    info = StreamedTable(target, task, [], [], classes, warnings, rows=rows)
    roles = {
        "numeric": info.numeric,
        "categorical": info.categorical,
        "hashed": info.hashed,
        "integer": info.integer_categories,
    }
    for name, col in columns.items():
        if name == target:
            continue
        role, warning = feature_role(
            name,
            types.get(name),
            all_missing=col["count"] == 0,
            is_number=col["kind"] == "number",
            integral=bool(col.get("integral")),
            distinct=lambda col=col: col.get("distinct", 0) + (1 if col["missing"] else 0),
            rows=rows,
        )
        if warning:
            warnings.append(warning)
        if role:
            roles[role].append(name)
    if not info.features:
        raise BadInput("no usable feature columns are left besides the target")
    return info
