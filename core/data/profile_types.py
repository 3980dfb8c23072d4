"""The JSON-ready result of profiling a table: `ColumnProfile`, `TableProfile`, the type names."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

COLUMN_TYPES = ("numeric", "integer", "boolean", "categorical", "text", "timestamp", "image_path")


@dataclass
class ColumnProfile:
    name: str
    type: str  # one of COLUMN_TYPES, after user corrections
    inferred_type: str
    count: int
    missing: int
    distinct: int
    stats: dict[str, Any] = field(default_factory=dict)  # min/max/mean/std/quantiles/...
    top: list[tuple[str, int]] = field(default_factory=list)  # most frequent values
    histogram: dict[str, list[float]] = field(default_factory=dict)  # {"edges", "counts"}
    notes: list[str] = field(default_factory=list)

    @property
    def missing_fraction(self) -> float:
        total = self.count + self.missing
        return self.missing / total if total else 0.0


@dataclass
class TableProfile:
    rows: int
    columns: list[ColumnProfile]
    target: str | None = None
    time_column: str | None = None
    class_balance: dict[str, int] = field(default_factory=dict)
    correlations: dict[str, Any] = field(default_factory=dict)  # {"columns": [...], "matrix"}
    time: dict[str, Any] = field(default_factory=dict)  # step, gaps, irregular
    issues: list[str] = field(default_factory=list)
    # {"rows": n, "of": N} when a large table's shapes come from a sample (core.data.profile_stored)
    sample: dict[str, int] = field(default_factory=dict)

    def column(self, name: str) -> ColumnProfile:
        return next(c for c in self.columns if c.name == name)

    @property
    def schema(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "time_column": self.time_column,
            "columns": [{"name": c.name, "type": c.type} for c in self.columns],
        }

    def to_dict(self) -> dict[str, Any]:
        return _jsonable(asdict(self))

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TableProfile:
        d = dict(d)
        d["columns"] = [ColumnProfile(**c) for c in d["columns"]]
        return cls(**d)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return None if not math.isfinite(float(value)) else float(value)
    if isinstance(value, (pd.Timestamp, np.datetime64)):
        return str(pd.Timestamp(value))
    return value
