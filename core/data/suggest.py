"""What a new user most likely means to train: a dataset version that can be trained, and the
column to predict in it (the Train page's defaults; pandas-free, from the stored profile)."""

from __future__ import annotations

import re

from core.data.profile import TableProfile

_TARGET_NAME = re.compile(
    r"^(?:label|labels|target|class|classes|y|outcome|species|category|diagnosis|survived|"
    r"churn|default|quality|price|sales)$",
    re.IGNORECASE,
)
_FEATURE_TYPES = ("numeric", "integer", "boolean", "categorical")


def suggest_target(kind: str, schema: dict, prof: TableProfile) -> str:
    """The schema's target; else a column named like one; else the last usable column (for a
    series, the last numeric one). '' when no column can be predicted."""
    if kind == "images":
        return "label"
    names = [c.name for c in prof.columns]
    if schema.get("target") in names:
        return schema["target"]
    usable = [
        c
        for c in prof.columns
        if c.name != prof.time_column
        and c.count > 0
        and c.distinct > 1
        and c.type in _FEATURE_TYPES
    ]
    if kind == "timeseries":
        numeric = [c.name for c in usable if c.type in ("numeric", "integer")]
        return numeric[-1] if numeric else ""
    if len(prof.columns) < 2:
        return ""
    named = [c.name for c in usable if _TARGET_NAME.match(c.name)]
    if named:
        return named[0]
    return usable[-1].name if usable else ""


def can_train(kind: str, schema: dict, prof: TableProfile) -> bool:
    """Whether the Train page's defaults will likely be accepted for this version."""
    if kind == "images":
        return len(prof.class_balance) >= 2
    target = suggest_target(kind, schema, prof)
    if not target:
        return False
    if kind == "timeseries":
        return prof.rows >= 10
    features = [
        c for c in prof.columns if c.name != target and c.count > 0 and c.type in _FEATURE_TYPES
    ]
    return bool(features) and prof.rows >= 10
