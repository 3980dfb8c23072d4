"""Reading a table for import: its profile, its dataset kind, and checks of target and time."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from core.data.profile import profile_table
from core.data.profile_types import TableProfile
from core.data.sources import read_table
from core.errors import BadInput


def read_for_import(source, filename, kind="auto", target=None, time_column=None, options=None):
    """(read result, profile, kind) of a table file, as an import would store it (the import
    preview shows exactly this); BadInput for what cannot become a dataset."""
    result = read_table(source, filename, options)
    frame = result.frame
    check_target(target, list(frame.columns))
    if time_column is not None:
        check_time_column(frame, time_column)
    prof = profile_table(frame, target=target, time_column=time_column, read=result.describe())
    return result, prof, import_kind(prof, kind)


def check_target(target: str | None, columns: list) -> None:
    if target is not None and target not in columns:
        raise BadInput(
            f"there is no column {target!r}; columns are: {', '.join(map(str, columns))}"
        )


def check_time_column_stored(parquet: Path, column: str, columns: list) -> None:
    if column not in columns:
        raise BadInput(
            f"there is no column {column!r} to use as time; columns are: {', '.join(columns)}"
        )
    import pyarrow.parquet as pq

    check_time_column(pq.read_table(parquet, columns=[column]).to_pandas(), column)


def import_kind(prof: TableProfile, kind: str) -> str:
    """The dataset kind to store (inferred for "auto"); BadInput when the table cannot be it."""
    kind = infer_kind(prof) if kind == "auto" else kind
    if kind == "timeseries" and not prof.time_column:
        raise BadInput(
            "a time series needs a time column: none was found that parses as "
            "dates/times or is a numeric index; name it with --time-column"
        )
    if kind == "text" and not any(c.type == "text" for c in prof.columns):
        raise BadInput("a text dataset needs a column of free text; none was found")
    return kind


def check_time_column(frame: pd.DataFrame, column: str) -> str:
    """What kind of time column `column` is (see core.data.timeindex); BadInput if none."""
    from core.data.timeindex import check_time_column as check

    return check(frame, column)


def infer_kind(prof: TableProfile) -> str:
    types = [c.type for c in prof.columns]
    if prof.time_column and prof.time.get("sorted", False):
        return "timeseries"
    if "text" in types and len(types) <= 4:
        return "text"
    return "table"
