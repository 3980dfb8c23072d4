"""What orders a series: a date/time column, a numeric time index, or the rows' own order.

A numeric index is read for what it is: years (1700.0, 1701.0, ...), plain steps (0, 1, 2) or
Unix seconds/milliseconds (shown as dates). Its steps, gaps and irregular steps are reported the
same way as for dates, in the index's own unit.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

from core.errors import BadInput

_TIME_NAME = re.compile(
    r"^(?:year|years|yr|time|t|step|steps|index|idx|period|epoch|timestamp|unix|unixtime|"
    r"date|datetime|month|week|day|hour|ds|time_?idx)$",
    re.IGNORECASE,
)
_UNIX_NAME = re.compile(r"time|stamp|epoch|unix|date", re.IGNORECASE)
UNIX_SECONDS = (1e8, 4.2e9)  # 1973 to 2103
UNIX_MILLISECONDS = (1e11, 4.2e12)

ROW_ORDER = "row order"  # what forecasting says when there is no time column


def is_numeric_index(col: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col)


def numeric_kind(col: pd.Series) -> str:
    """'unix-seconds', 'unix-milliseconds', 'yyyymmdd', 'years' or 'steps' for a numeric time
    index."""
    values = pd.to_numeric(col, errors="coerce").dropna()
    if values.empty:
        return "steps"
    lo, hi = float(values.min()), float(values.max())
    if _UNIX_NAME.search(str(col.name)) and 1e7 <= lo and hi < 1e8:  # 19580329: a date
        whole = values.astype("int64")
        parsed = pd.to_datetime(whole.astype(str), format="%Y%m%d", errors="coerce")
        if (whole == values).all() and parsed.notna().all():
            return "yyyymmdd"
    if _UNIX_NAME.search(str(col.name)):
        if UNIX_SECONDS[0] <= lo and hi <= UNIX_SECONDS[1]:
            return "unix-seconds"
        if UNIX_MILLISECONDS[0] <= lo and hi <= UNIX_MILLISECONDS[1]:
            return "unix-milliseconds"
    whole = bool((values == values.round()).all())
    if whole and 1000 <= lo and hi <= 2200 and "year" in str(col.name).lower():
        return "years"
    return "steps"


def check_time_column(frame: pd.DataFrame, column: str) -> str:
    """The kind of time column `column` is ('datetime' or a `numeric_kind`); BadInput if none."""
    if column not in frame.columns:
        raise BadInput(
            f"there is no column {column!r} to use as time; columns are: "
            f"{', '.join(map(str, frame.columns))}"
        )
    col = frame[column]
    if pd.api.types.is_datetime64_any_dtype(col):
        return "datetime"
    if is_numeric_index(col):
        if col.isna().all():
            raise BadInput(f"the time column {column!r} has no values")
        return numeric_kind(col)
    parsed = time_values(col, "datetime")
    bad = col[parsed.isna() & col.notna()]
    if len(bad):
        line = int((col.index == bad.index[0]).argmax()) + 2
        raise BadInput(
            f"the time column {column!r} does not parse as dates/times or numbers: "
            f"{len(bad)} value(s) such as {str(bad.iloc[0])!r} (line {line}); choose another "
            "column, or none to use the rows' order"
        )
    return "datetime"


def time_values(col: pd.Series, kind: str | None = None) -> pd.Series:
    """The column as what sorts and labels the series: datetimes, or the numbers themselves."""
    kind = kind or ("datetime" if not is_numeric_index(col) else numeric_kind(col))
    if kind == "datetime":
        from core.data.dates import to_datetime  # quarters and fast formats, as profiled

        return to_datetime(col.astype("string") if not col.dtype == object else col)
    if kind == "unix-seconds":
        return pd.to_datetime(pd.to_numeric(col), unit="s")
    if kind == "unix-milliseconds":
        return pd.to_datetime(pd.to_numeric(col), unit="ms")
    if kind == "yyyymmdd":
        whole = pd.to_numeric(col, errors="coerce").astype("Int64").astype("string")
        return pd.to_datetime(whole, format="%Y%m%d", errors="coerce")
    return pd.to_numeric(col, errors="coerce")


def guess_numeric_time_column(frame: pd.DataFrame) -> str | None:
    """A numeric column named like a time index (year, t, step, ...) that strictly increases."""
    for name in frame.columns:
        col = frame[name]
        if not _TIME_NAME.match(str(name)) or not is_numeric_index(col) or len(col) < 3:
            continue
        values = col.dropna()
        if len(values) == len(col) and values.is_monotonic_increasing and values.is_unique:
            return str(name)
    return None


def numeric_steps(col: pd.Series, kind: str) -> dict[str, Any]:
    """Step, gaps and irregularity of a numeric time index (in its own unit)."""
    values = pd.to_numeric(col, errors="coerce").dropna()
    if len(values) < 3:
        return {}
    in_order = bool(values.is_monotonic_increasing)
    ordered = np.sort(values.to_numpy(dtype="float64"))
    diffs = np.diff(ordered)
    step = float(np.median(diffs))
    unit = {"years": "year", "steps": "step"}.get(kind, "")
    if step <= 0:
        return {"step": None, "duplicates": int((diffs == 0).sum()), "index": kind}
    gap_at = np.flatnonzero(diffs > 1.5 * step)
    gaps = [
        {
            "after": _number(ordered[i]),
            "before": _number(ordered[i + 1]),
            "missing_steps": int(round(diffs[i] / step)) - 1,
        }
        for i in gap_at[:50]
    ]
    return {
        "step": f"{_number(step)} {unit}{'s' if unit and step != 1 else ''}".strip(),
        "step_value": step,
        "index": kind,
        "gaps": gaps,
        "gap_count": int(len(gap_at)),
        "irregular_fraction": float((np.abs(diffs - step) > 0.1 * step).mean()),
        "duplicates": int((diffs == 0).sum()),
        "sorted": in_order,
        "first": _number(ordered[0]),
        "last": _number(ordered[-1]),
    }


def _number(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"
