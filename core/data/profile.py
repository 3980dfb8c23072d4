"""Schema inference and statistics of a table: what each column is, and what it looks like.

The result is plain JSON-ready data (a `TableProfile`), saved with every dataset version, drawn by
the Data page and returned by `tfstudio data profile`. pandas + numpy only; no TensorFlow.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from core.data.correlations import correlations as _correlations
from core.data.dates import epoch_seconds, parsed_time_steps, to_datetime
from core.data.parsing import (
    MISSING_MARKERS,
    NumberFormat,
    describe_failures,
    numeric_looking,
    parse_numbers,
)
from core.data.profile_report import find_issues
from core.data.profile_types import COLUMN_TYPES, ColumnProfile, TableProfile

IMAGE_SUFFIX = re.compile(r"\.(?:png|jpe?g)$", re.IGNORECASE)
DATE_HINT = re.compile(r"\d{1,4}[-/.:]\d{1,2}|^\d{4}-?Q[1-4]$")
SAMPLE = 5_000
QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
TOP_N = 20
BINS = 30


def _share(mask: pd.Series) -> float:
    return float(mask.mean()) if len(mask) else 0.0


def infer_type(col: pd.Series, reading: Reading | None = None) -> tuple[str, list[str]]:
    """The column's type, and notes such as 'mixed types' when a few values do not fit."""
    reading = reading or Reading()
    if pd.api.types.is_bool_dtype(col):
        return "boolean", []
    if pd.api.types.is_datetime64_any_dtype(col):
        return "timestamp", []
    if pd.api.types.is_numeric_dtype(col):
        numbers = _present_numbers(col)
        if numbers is not None:
            return _number_type(numbers[0]), []
        return _number_type(col.dropna().to_numpy(dtype="float64", na_value=np.nan)), []
    present = col.dropna()
    if present.empty:
        return "categorical", ["all values are missing"]
    sample = present.head(SAMPLE).astype(str).str.strip()
    lowered = sample.str.lower()
    if lowered.isin(["true", "false", "yes", "no"]).all():
        return "boolean", []
    as_numbers, bad = parse_numbers(
        sample, reading.number.decimal, reading.number.thousands, reading.missing
    )
    numeric_share = _share(as_numbers.notna())
    if numeric_share >= 0.9:
        notes = []
        if len(bad):
            examples = ", ".join(repr(v) for v in bad.unique()[:3])
            notes.append(f"mixed types: {len(bad)} non-numeric value(s) such as {examples}")
        return "numeric", notes
    if _share(sample.str.contains(DATE_HINT)) >= 0.9:
        parsed = to_datetime(sample)
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


def _present_numbers(col: pd.Series) -> tuple[np.ndarray, int] | None:
    """A plain numpy int/float column's present values as float64, and its missing count.

    One pass instead of dropna + to_numeric + isna over the column (None for other dtypes). The
    array may be a view of the column's data: never write to it.
    """
    dtype = col.dtype
    if not isinstance(dtype, np.dtype) or dtype.kind not in "iuf":
        return None
    values = col.to_numpy()
    if dtype.kind != "f":
        return values.astype(np.float64), 0
    missing = np.isnan(values)
    n_missing = int(np.count_nonzero(missing))
    if n_missing:
        values = values[~missing]
    return values.astype(np.float64, copy=False), n_missing


def _number_type(values: np.ndarray) -> str:
    """integer, numeric or boolean (0/1) for a numeric column's present values."""
    head = values[: SAMPLE * 20]  # x == trunc(x) where finite is np.mod(x, 1) == 0, faster
    integral = len(values) > 0 and bool(np.all(np.isfinite(head) & (head == np.trunc(head))))
    if integral and set(np.unique(values[:SAMPLE])) <= {0.0, 1.0} and len(values) > 0:
        return "boolean"
    return "integer" if integral else "numeric"


@dataclass(frozen=True)
class Reading:
    """How the dataset's file writes numbers and missing values (its read options)."""

    number: NumberFormat = NumberFormat()
    missing: tuple[str, ...] = MISSING_MARKERS

    @classmethod
    def from_read(cls, read: dict[str, Any] | None) -> Reading:
        read = read or {}
        missing = read.get("missing")
        return cls(
            NumberFormat(read.get("decimal") or ".", read.get("thousands") or None),
            tuple(missing) if missing is not None else MISSING_MARKERS,
        )


def _numeric_values(col: pd.Series, kind: str, parsed: pd.Series | None = None) -> np.ndarray:
    if kind == "timestamp":
        parsed = to_datetime(col) if parsed is None else parsed
        return epoch_seconds(parsed.dropna())
    return pd.to_numeric(col, errors="coerce").dropna().to_numpy(dtype="float64")


def profile_column(
    col: pd.Series, kind: str | None = None, reading: Reading | None = None
) -> ColumnProfile:
    return _profile_column(col, kind, {}, reading or Reading())


def _profile_column(
    col: pd.Series,
    kind: str | None,
    times: dict[str, pd.Series],
    reading: Reading | None = None,
) -> ColumnProfile:
    """`profile_column`; a timestamp column's parsed values are left in `times` for reuse.

    A text column profiled as a number (a user's type correction) is re-parsed with the file's
    number format; values that do not convert count as missing and are named in a note.
    """
    reading = reading or Reading()
    duration = pd.api.types.is_timedelta64_dtype(col)
    if duration:  # profiled as seconds, shown as durations (describe_range)
        col = col.dt.total_seconds()
    numbers = _present_numbers(col)
    notes: list[str]
    if numbers is not None:  # plain int/float column: one pass gives type, missing and values
        values, missing = numbers
        inferred, notes = _number_type(values), []
    else:
        inferred, notes = infer_type(col, reading)
        missing = int(col.isna().sum())
    kind = kind or inferred
    count = int(len(col) - missing)
    prof = ColumnProfile(str(col.name), kind, inferred, count, missing, 0, notes=list(notes))
    if kind in ("numeric", "integer", "timestamp"):
        if kind == "timestamp":
            parsed = to_datetime(col)
            times[str(col.name)] = parsed
            values = _numeric_values(col, kind, parsed)
        elif numbers is None:
            parsed_numbers, failed = parse_numbers(
                col, reading.number.decimal, reading.number.thousands, reading.missing
            )
            values = parsed_numbers.dropna().to_numpy(dtype="float64")
            if len(failed) or values.size < count:
                # markers and failures are missing values now; the failures are named
                prof.missing = int(len(col) - values.size)
                prof.count = int(values.size)
                count = prof.count
                if len(failed):
                    prof.notes = [n for n in prof.notes if not n.startswith("mixed")]
                    prof.notes.append(describe_failures(failed))
        _numeric_stats(prof, values, kind)
        if duration and prof.stats:
            prof.stats["unit"] = "seconds"
            prof.notes.append("a duration, in seconds")
        unparsed = count - int(values.size)
        if values.size and unparsed:
            prof.notes.append(f"{unparsed} value(s) do not parse as {kind}")
    else:
        if inferred in ("categorical", "text") and kind in ("categorical", "text"):
            failed = numeric_looking(col, reading.number, reading.missing)
            if failed is not None and len(failed):
                prof.notes = [n for n in prof.notes if not n.startswith("mixed")]
                prof.notes.append(
                    f"looks numeric but {describe_failures(failed)}: fix those values, or "
                    "correct the type to numeric (they become missing)"
                )
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


def _numeric_stats(prof: ColumnProfile, values: np.ndarray, kind: str) -> None:
    """distinct, stats and histogram of present values, from one sorted copy.

    Sorting (vectorised) is several times faster than hashing for the distinct count, and on
    sorted values the quantiles and histogram counts are lookups: the same numbers np.quantile
    and np.histogram find by partitioning and binning every value.
    """
    ordered = np.sort(values)
    if ordered.size and np.isnan(ordered[-1]):  # NaN sorts last; only pd.unique counts it once
        prof.distinct = int(pd.unique(values).size)
        nan = True
    else:
        prof.distinct = int(ordered.size and 1 + np.count_nonzero(ordered[1:] != ordered[:-1]))
        nan = False
    if not values.size:
        return
    prof.stats = {
        "min": float(values.min()),
        "max": float(values.max()),
        "mean": float(values.mean()),
        "std": float(values.std()),
        "quantiles": dict(
            zip(
                (f"{int(q * 100)}%" for q in QUANTILES),
                map(float, np.quantile(values, QUANTILES) if nan else _quantiles(ordered)),
                strict=True,
            )
        ),
    }
    if kind == "timestamp":
        prof.stats["first"] = str(pd.Timestamp(values.min(), unit="s"))
        prof.stats["last"] = str(pd.Timestamp(values.max(), unit="s"))
    bins = min(BINS, max(prof.distinct, 1))
    if nan or not np.isfinite(ordered[[0, -1]]).all():
        counts, edges = np.histogram(values, bins=bins)  # its errors, as before
    else:
        counts, edges = _histogram(ordered, bins)
    prof.histogram = {"edges": edges.tolist(), "counts": counts.tolist()}


def _quantiles(ordered: np.ndarray) -> np.ndarray:
    """np.quantile(values, QUANTILES) (method "linear") of sorted, NaN-free values.

    The same arithmetic as numpy's: index (n - 1) * q, then its `_lerp` between the neighbours.
    """
    n = ordered.size
    virtual = (n - 1) * np.asarray(QUANTILES)
    below = np.floor(virtual).astype(np.intp)
    above = np.minimum(below + 1, n - 1)
    gamma = virtual - below
    a, b = ordered[below], ordered[above]
    diff = b - a
    result = a + diff * gamma
    np.subtract(b, diff * (1 - gamma), out=result, where=gamma >= 0.5)
    return result


def _histogram(ordered: np.ndarray, bins: int) -> tuple[np.ndarray, np.ndarray]:
    """np.histogram(values, bins) of sorted, finite values, by binary search of the bin edges.

    The edges are numpy's own (they depend only on the minimum and maximum); each bin holds the
    values >= its left edge and < its right edge, the last one its right edge too, which is
    what np.histogram's corrected bin arithmetic gives.
    """
    edges = np.histogram_bin_edges(ordered[[0, -1]], bins=bins)
    starts = np.searchsorted(ordered, edges[:-1], side="left")
    ends = np.append(starts[1:], np.searchsorted(ordered, edges[-1], side="right"))
    return (ends - starts).astype(np.intp), edges


def profile_table(
    frame: pd.DataFrame,
    target: str | None = None,
    types: dict[str, str] | None = None,
    time_column: str | None = None,
    read: dict[str, Any] | None = None,
) -> TableProfile:
    """Profile every column; `types` overrides inferred types (the user's corrections).

    `read` is the dataset's read options (decimal, thousands, missing markers), with which text
    columns corrected to numbers are re-parsed.
    """
    types = types or {}
    reading = Reading.from_read(read)
    for name, kind in types.items():
        if kind not in COLUMN_TYPES:
            raise ValueError(f"unknown type {kind!r} for column {name!r}")
    times: dict[str, pd.Series] = {}  # parsed timestamp columns, for the time column's steps
    columns = [_profile_column(frame[c], types.get(c), times, reading) for c in frame.columns]
    prof = TableProfile(rows=len(frame), columns=columns, target=target)

    from core.data import timeindex

    if time_column is None:
        stamped = [c.name for c in columns if c.type == "timestamp"]
        time_column = stamped[0] if len(stamped) == 1 else None
        if not stamped and frame.columns.is_unique:
            time_column = timeindex.guess_numeric_time_column(frame)
    prof.time_column = time_column
    if time_column and timeindex.is_numeric_index(frame[time_column]):
        kind = timeindex.numeric_kind(frame[time_column])
        if kind.startswith("unix") or kind == "yyyymmdd":  # stepped and shown as dates
            prof.time = parsed_time_steps(timeindex.time_values(frame[time_column], kind))
            prof.time["index"] = kind
        else:
            prof.time = timeindex.numeric_steps(frame[time_column], kind)
    elif time_column:
        parsed = times.get(time_column) if frame.columns.is_unique else None
        prof.time = parsed_time_steps(
            parsed if parsed is not None else to_datetime(frame[time_column])
        )
    times.clear()

    if target and target in frame.columns:
        counts = frame[target].dropna().astype(str).value_counts()
        if prof.column(target).type in ("categorical", "boolean", "integer") and len(counts) <= 200:
            prof.class_balance = {str(k): int(v) for k, v in counts.items()}

    numeric = [c.name for c in columns if c.type in ("numeric", "integer")][:30]
    if len(numeric) >= 2:
        prof.correlations = {"columns": numeric, "matrix": _correlations(frame, numeric)}
    prof.issues = find_issues(prof)
    return prof
