"""Schema inference and statistics of a table: what each column is, and what it looks like.

The result is plain JSON-ready data (a `TableProfile`), saved with every dataset version, drawn by
the Data page and returned by `tfstudio data profile`. pandas + numpy only; no TensorFlow.
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

COLUMN_TYPES = ("numeric", "integer", "boolean", "categorical", "text", "timestamp", "image_path")
IMAGE_SUFFIX = re.compile(r"\.(?:png|jpe?g)$", re.IGNORECASE)
DATE_HINT = re.compile(r"\d{1,4}[-/.:]\d{1,2}")
SAMPLE = 5_000
QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
TOP_N = 20
BINS = 30


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


def _share(mask: pd.Series) -> float:
    return float(mask.mean()) if len(mask) else 0.0


def infer_type(col: pd.Series) -> tuple[str, list[str]]:
    """The column's type, and notes such as 'mixed types' when a few values do not fit."""
    present = col.dropna()
    if pd.api.types.is_bool_dtype(col):
        return "boolean", []
    if pd.api.types.is_datetime64_any_dtype(col):
        return "timestamp", []
    if pd.api.types.is_numeric_dtype(col):
        values = present.to_numpy(dtype="float64", na_value=np.nan)
        integral = len(values) > 0 and bool(np.all(np.mod(values[: SAMPLE * 20], 1) == 0))
        if integral and set(np.unique(values[:SAMPLE])) <= {0.0, 1.0} and len(values) > 0:
            return "boolean", []
        return ("integer" if integral else "numeric"), []
    if present.empty:
        return "categorical", ["all values are missing"]
    sample = present.astype(str).str.strip().head(SAMPLE)
    lowered = sample.str.lower()
    if lowered.isin(["true", "false", "yes", "no"]).all():
        return "boolean", []
    numeric_share = _share(pd.to_numeric(sample, errors="coerce").notna())
    if numeric_share >= 0.9:
        bad = sample[pd.to_numeric(sample, errors="coerce").isna()]
        notes = []
        if len(bad):
            examples = ", ".join(repr(v) for v in bad.unique()[:3])
            notes.append(f"mixed types: {len(bad)} non-numeric value(s) such as {examples}")
        return "numeric", notes
    if _share(sample.str.contains(DATE_HINT)) >= 0.9:
        parsed = pd.to_datetime(sample, errors="coerce", format="mixed")
        if _share(parsed.notna()) >= 0.9:
            return "timestamp", []
    if _share(sample.str.contains(IMAGE_SUFFIX)) >= 0.9:
        return "image_path", []
    distinct_ratio = sample.nunique() / len(sample)
    words = sample.str.count(r"\s+").mean() + 1
    if distinct_ratio > 0.5 and (words >= 4 or sample.str.len().mean() > 30):
        return "text", []
    if 0.3 <= numeric_share < 0.9:
        return "categorical", [f"mixed types: {numeric_share:.0%} of values are numbers"]
    return "categorical", []


def _numeric_values(col: pd.Series, kind: str) -> np.ndarray:
    if kind == "timestamp":
        parsed = pd.to_datetime(col, errors="coerce", format="mixed")
        return parsed.dropna().astype("int64").to_numpy() / 1e9
    return pd.to_numeric(col, errors="coerce").dropna().to_numpy(dtype="float64")


def profile_column(col: pd.Series, kind: str | None = None) -> ColumnProfile:
    inferred, notes = infer_type(col)
    kind = kind or inferred
    missing = int(col.isna().sum())
    count = int(len(col) - missing)
    prof = ColumnProfile(str(col.name), kind, inferred, count, missing, 0, notes=list(notes))
    if kind in ("numeric", "integer", "timestamp"):
        values = _numeric_values(col, kind)
        prof.distinct = int(pd.unique(values).size)
        if values.size:
            qs = np.quantile(values, QUANTILES)
            prof.stats = {
                "min": float(values.min()),
                "max": float(values.max()),
                "mean": float(values.mean()),
                "std": float(values.std()),
                "quantiles": {
                    f"{int(q * 100)}%": float(v) for q, v in zip(QUANTILES, qs, strict=True)
                },
            }
            if kind == "timestamp":
                prof.stats["first"] = str(pd.Timestamp(values.min(), unit="s"))
                prof.stats["last"] = str(pd.Timestamp(values.max(), unit="s"))
            counts, edges = np.histogram(values, bins=min(BINS, max(prof.distinct, 1)))
            prof.histogram = {"edges": edges.tolist(), "counts": counts.tolist()}
            unparsed = count - int(values.size)
            if unparsed:
                prof.notes.append(f"{unparsed} value(s) do not parse as {kind}")
    else:
        as_text = col.dropna().astype(str)
        counts = as_text.value_counts()
        prof.distinct = int(counts.size)
        prof.top = [(str(k), int(v)) for k, v in counts.head(TOP_N).items()]
        if kind == "text":
            lengths = as_text.str.len()
            prof.stats = {
                "mean_length": float(lengths.mean()) if len(lengths) else 0.0,
                "max_length": int(lengths.max()) if len(lengths) else 0,
            }
    return prof


def _human(step: pd.Timedelta) -> str:
    """'7 days', '1 hour', '15 minutes' rather than '7 days 00:00:00'."""
    seconds = step.total_seconds()
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1)):
        if seconds >= size and seconds % size == 0:
            n = int(seconds // size)
            return f"{n} {unit}{'s' if n != 1 else ''}"
    return str(step)


def time_steps(col: pd.Series) -> dict[str, Any]:
    """Step size, gaps and irregularity of a time column (sorted first)."""
    times = pd.to_datetime(col, errors="coerce", format="mixed").dropna().sort_values()
    if len(times) < 3:
        return {}
    diffs = times.diff().dropna()
    step = diffs.median()
    if step <= pd.Timedelta(0):
        return {"step": None, "duplicates": int((diffs == pd.Timedelta(0)).sum())}
    gaps_mask = diffs > 1.5 * step
    gaps = [
        {
            "after": str(times.iloc[i - 1]),
            "before": str(times.iloc[i]),
            "missing_steps": int(round(diffs.iloc[i - 1] / step)) - 1,
        }
        for i in np.flatnonzero(gaps_mask.to_numpy()) + 1
    ]
    irregular = float(((diffs - step).abs() > 0.1 * step).mean())
    return {
        "step": _human(step),
        "step_seconds": step.total_seconds(),
        "gaps": gaps[:50],
        "gap_count": len(gaps),
        "irregular_fraction": irregular,
        "duplicates": int((diffs == pd.Timedelta(0)).sum()),
        "sorted": bool(
            pd.to_datetime(col, errors="coerce", format="mixed").dropna().is_monotonic_increasing
        ),
    }


def profile_table(
    frame: pd.DataFrame,
    target: str | None = None,
    types: dict[str, str] | None = None,
    time_column: str | None = None,
) -> TableProfile:
    """Profile every column; `types` overrides inferred types (the user's corrections)."""
    types = types or {}
    for name, kind in types.items():
        if kind not in COLUMN_TYPES:
            raise ValueError(f"unknown type {kind!r} for column {name!r}")
    columns = [profile_column(frame[c], types.get(c)) for c in frame.columns]
    prof = TableProfile(rows=len(frame), columns=columns, target=target)

    if time_column is None:
        stamped = [c.name for c in columns if c.type == "timestamp"]
        time_column = stamped[0] if len(stamped) == 1 else None
    prof.time_column = time_column
    if time_column:
        prof.time = time_steps(frame[time_column])

    if target and target in frame.columns:
        counts = frame[target].dropna().astype(str).value_counts()
        if prof.column(target).type in ("categorical", "boolean", "integer") and len(counts) <= 200:
            prof.class_balance = {str(k): int(v) for k, v in counts.items()}

    numeric = [c.name for c in columns if c.type in ("numeric", "integer")][:30]
    if len(numeric) >= 2:
        corr = frame[numeric].apply(pd.to_numeric, errors="coerce").corr()
        prof.correlations = {"columns": numeric, "matrix": corr.round(4).to_numpy().tolist()}
    prof.issues = find_issues(prof)
    return prof


def find_issues(prof: TableProfile) -> list[str]:
    """Problems a person should know about before training."""
    issues = []
    for c in prof.columns:
        if c.count == 0:
            issues.append(f"column {c.name!r} is entirely missing")
            continue
        if c.distinct == 1:
            issues.append(f"column {c.name!r} is constant: it carries no information")
        if c.missing_fraction > 0.5:
            issues.append(f"column {c.name!r} is {c.missing_fraction:.0%} missing")
        if c.type == "categorical" and c.distinct > 0.9 * c.count and c.count > 50:
            issues.append(f"column {c.name!r} looks like an identifier ({c.distinct} distinct)")
        issues.extend(f"column {c.name!r}: {n}" for n in c.notes if n.startswith("mixed"))
    if prof.class_balance:
        total = sum(prof.class_balance.values())
        if len(prof.class_balance) < 2:
            issues.append(f"the target {prof.target!r} has a single class")
        for label, n in prof.class_balance.items():
            if n < 5 or n / total < 0.01:
                issues.append(f"class {label!r} of {prof.target!r} is rare ({n} rows)")
    if prof.target and prof.target in [c.name for c in prof.columns]:
        if prof.column(prof.target).count == 0:
            issues.append(f"the target {prof.target!r} has no values")
    if prof.time:
        if prof.time.get("gap_count"):
            issues.append(
                f"the time column {prof.time_column!r} has {prof.time['gap_count']} "
                f"gap(s) (step {prof.time['step']})"
            )
        if prof.time.get("irregular_fraction", 0) > 0.05:
            issues.append(
                f"time steps in {prof.time_column!r} are irregular "
                f"({prof.time['irregular_fraction']:.0%} differ from the usual step)"
            )
        if prof.time.get("duplicates"):
            issues.append(
                f"{prof.time['duplicates']} duplicate time stamp(s) in {prof.time_column!r}"
            )
    return issues
