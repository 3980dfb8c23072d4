"""Dates in a table: parsing text columns as dates (fast where the format is unambiguous,
quarters such as 1974Q1 included), and the step, gaps and irregularity of a time column."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

QUARTER = re.compile(r"^\d{4}-?Q[1-4]$")  # 1974Q1, as statistics offices write quarters


# strptime directives whose meaning `format="mixed"` parsing shares (no 2-digit years, time
# zones, weekdays or a date-less time), for the fast path of `to_datetime`
_SAFE_DIRECTIVES = {"%Y", "%m", "%d", "%b", "%B", "%H", "%M", "%S", "%f", "%I", "%p", "%%"}
_FAST_PARSE_MIN = 20_000  # fewer values parse quickly enough value by value
_VERIFY = 1_000


def to_datetime(col: pd.Series) -> pd.Series:
    """`pd.to_datetime(col, errors="coerce", format="mixed")`, faster on large text columns.

    "mixed" guesses the format of every value on its own (about 40 us a value for anything but
    ISO 8601, so a minute for a million US-style dates). When the first value's format can only
    mean what "mixed" makes of it (four-digit year, month before day unless it is a name, no
    time zone) and it parses the first values exactly as "mixed" does, the column is parsed with
    that one format; values it does not fit are then parsed with "mixed" one by one.
    """
    if pd.api.types.is_datetime64_any_dtype(col):
        return col  # what pd.to_datetime gives back (as a copy)
    quarters = _quarters(col)
    if quarters is not None:
        return quarters
    fast = _to_datetime_by_format(col) if len(col) >= _FAST_PARSE_MIN else None
    return fast if fast is not None else pd.to_datetime(col, errors="coerce", format="mixed")


def _quarters(col: pd.Series) -> pd.Series | None:
    """'1974Q1' / '1974-Q1' values as the first day of their quarter (None if not all are)."""
    present = col.dropna()
    if present.empty or not isinstance(present.iloc[0], str):
        return None
    text = present.astype(str).str.strip()
    if not text.str.match(QUARTER).all():
        return None
    starts = pd.PeriodIndex(text.str.replace("-", ""), freq="Q").to_timestamp()
    out = pd.Series(pd.NaT, index=col.index, dtype="datetime64[ns]")
    out[present.index] = starts.astype("datetime64[ns]")
    return out


def _to_datetime_by_format(col: pd.Series) -> pd.Series | None:
    from pandas.tseries.api import guess_datetime_format

    present = col.dropna()
    if present.empty or not isinstance(present.iloc[0], str):
        return None
    fmt = guess_datetime_format(present.iloc[0])
    if not fmt:
        return None
    directives = re.findall(r"%.", fmt)
    if not set(directives) <= _SAFE_DIRECTIVES or not {"%Y", "%d"} <= set(directives):
        return None
    if not {"%m", "%b", "%B"} & set(directives):
        return None
    if "%m" in fmt and fmt.index("%m") > fmt.index("%d"):
        return None  # day first: "mixed" reads 01/02 as January 2nd
    if ("%I" in fmt) != ("%p" in fmt):
        return None
    try:
        parsed = pd.to_datetime(col, errors="coerce", format=fmt)
        head = col.iloc[:_VERIFY]
        if not parsed.iloc[:_VERIFY].equals(pd.to_datetime(head, errors="coerce", format="mixed")):
            return None
        missed = parsed.isna() & col.notna()
        if missed.any():
            if missed.mean() > 0.1:
                return None
            rest = pd.to_datetime(col[missed], errors="coerce", format="mixed")
            if rest.dtype != parsed.dtype:
                return None
            parsed[missed] = rest
    except (ValueError, TypeError, OverflowError):
        return None
    return parsed


def epoch_seconds(times: pd.Series) -> np.ndarray:
    """Seconds since 1970 of datetimes (any resolution), as float64."""
    if isinstance(times.dtype, pd.DatetimeTZDtype):
        times = times.dt.tz_convert(None)  # UTC, as astype("int64") counts
    values = times.to_numpy()
    unit, count = np.datetime_data(values.dtype)
    per_second = {"s": 1, "ms": 10**3, "us": 10**6, "ns": 10**9}.get(unit)
    if per_second is None or count != 1:
        return values.astype("datetime64[ns]").astype("int64") / 1e9
    ticks = values.astype("int64")
    return ticks.astype("float64") if per_second == 1 else ticks / per_second


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
    return parsed_time_steps(to_datetime(col))


def parsed_time_steps(parsed: pd.Series) -> dict[str, Any]:
    """`time_steps` of a column already parsed by `to_datetime`."""
    present = parsed.dropna()
    if len(present) < 3:
        return {}
    in_order = bool(present.is_monotonic_increasing)
    times = present.sort_values()
    del present
    diffs = times.diff().iloc[1:]  # dropna(): only the first difference is missing
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
        "sorted": in_order,
    }
