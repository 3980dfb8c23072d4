"""The profile of a stored table too large to hold: a sample for the shapes, statistics for the
figures.

`profile_table` (core.data.profile) is run on an even sample of the rows (every k-th row of each
row group, in file order, so a time column stays in order), then every figure the stored
statistics (core.data.stats, one pass over all rows) know exactly replaces the sample's: rows,
per-column count, missing, distinct, min, max, mean, standard deviation, whole-number or not,
the most frequent values and the class balance while they are countable; the time column's
steps and gaps come from the whole column. Quantiles, histograms, correlations and text lengths
are the sample's, and the profile says so (`sample`). Memory: the sample, one row group, and
the time column.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core.data.profile import (
    TOP_N,
    ColumnProfile,
    Reading,
    TableProfile,
    find_issues,
    profile_column,
    profile_table,
)

SAMPLE_ROWS = 100_000
_REPARSED = ("numeric", "integer", "timestamp")  # types a text column is re-parsed as


def sample_frame(parquet: Path, rows: int, n: int | None = None) -> pd.DataFrame:
    """Every k-th row of the Parquet file (k = ceil(rows / n)), in order, a row group at a time."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    pf = pq.ParquetFile(parquet)
    step = max(1, math.ceil(rows / (n or SAMPLE_ROWS)))
    parts, offset = [], 0
    for i in range(pf.num_row_groups):
        group = pf.read_row_group(i)
        first = (-offset) % step
        parts.append(group.take(pa.array(np.arange(first, group.num_rows, step))))
        offset += group.num_rows
        del group
    return pa.concat_tables(parts).to_pandas()


def tail_frame(parquet: Path, n: int) -> pd.DataFrame:
    """The file's last n rows, reading row groups from the end."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    pf = pq.ParquetFile(parquet)
    parts: list[pa.Table] = []
    rows = 0
    for i in reversed(range(pf.num_row_groups)):
        if rows >= n:
            break
        group = pf.read_row_group(i)
        parts.insert(0, group)
        rows += group.num_rows
    table = pa.concat_tables(parts)
    return table.slice(max(0, table.num_rows - n)).to_pandas()


def profile_stored(
    parquet: Path,
    stats: dict[str, Any],
    target: str | None = None,
    types: dict[str, str] | None = None,
    time_column: str | None = None,
    read: dict[str, Any] | None = None,
) -> TableProfile:
    """`profile_table` of the stored table, from a sample and the statistics (see above)."""
    total = int(stats["rows"])
    frame = sample_frame(parquet, total)
    prof = profile_table(frame, target=target, types=types, time_column=time_column, read=read)
    n = len(frame)
    if n == total:  # the sample is the table
        return prof
    reading = Reading.from_read(read)
    prof.rows = total
    prof.columns = [
        _exact(c, stats["columns"][c.name], frame[c.name], n, total, reading, types or {})
        for c in prof.columns
    ]
    del frame
    if prof.time_column:
        _exact_time(prof, parquet, types or {}, read)
    if target and prof.class_balance:
        balance = _counts(stats["columns"][target])
        if balance is not None:
            prof.class_balance = balance
    prof.sample = {"rows": n, "of": total}
    prof.issues = find_issues(prof)
    return prof


def _exact(
    c: ColumnProfile,
    s: dict[str, Any],
    sample: pd.Series,
    n: int,
    total: int,
    reading: Reading,
    types: dict[str, str],
) -> ColumnProfile:
    if c.name not in types and s["kind"] == "number" and s["count"]:
        exact = _number_type(s)
        if exact != c.inferred_type:  # a value outside the sample decides the type
            c = profile_column(sample, exact, reading)
            c.inferred_type = exact
    if s["kind"] == "string" and c.type in _REPARSED:
        # text re-parsed as numbers or dates: what fails is known on the sample only
        c.count = round(c.count * total / n)
        c.missing = total - c.count
        c.notes.append(f"count and missing estimated from a sample of {n:,} rows")
        return c
    c.count, c.missing = int(s["count"]), int(s["missing"])
    c.distinct = int(s["distinct"])
    if s["kind"] == "number" and c.type in ("numeric", "integer") and c.stats:
        c.stats.update(min=s["min"], max=s["max"], mean=s["mean"], std=math.sqrt(s["var"] or 0))
    if c.top:
        top = _counts(s)
        if top is not None:
            c.top = list(top.items())[:TOP_N]
        else:
            c.notes.append(f"most frequent values counted on a sample of {n:,} rows")
    return c


def _number_type(s: dict[str, Any]) -> str:
    """`core.data.profile`'s integer / numeric / boolean rule, on every value."""
    if not s.get("integral"):
        return "numeric"
    values = {v for v, _ in s.get("values") or []}
    if s.get("distinct_exact") and values <= {0, 1}:
        return "boolean"
    return "integer"


def _counts(s: dict[str, Any]) -> dict[str, int] | None:
    """Every value's count, most frequent first, labelled as pandas' `astype(str)` writes it;
    None when the statistics stopped counting (too many distinct values)."""
    if not s.get("distinct_exact") or s.get("values") is None:
        return None
    # pandas holds a whole-number column with missing values as floats ("1.0")
    whole = s["type"].startswith(("int", "uint")) and not s["missing"]
    ordered = sorted(s["values"], key=lambda kv: -kv[1])
    return {(str(int(v)) if whole else str(v)): int(c) for v, c in ordered}


def _exact_time(prof: TableProfile, parquet: Path, types: dict[str, str], read) -> None:
    """The time column's profile and steps from the whole column (gaps the sample steps over)."""
    import pyarrow.parquet as pq

    name = prof.time_column
    col = pq.read_table(parquet, columns=[name]).to_pandas()
    whole = profile_table(
        col, types={name: types[name]} if name in types else None, time_column=name, read=read
    )
    prof.time = whole.time
    prof.columns = [whole.columns[0] if c.name == name else c for c in prof.columns]
