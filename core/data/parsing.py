"""Numbers and missing values in text, read the way the file writes them (pandas only).

One place for the rules the reader, the profile, type corrections and training share: which
markers mean "missing", which decimal mark and thousands separator a file uses, and how a text
value becomes a number. A value that does not convert is never dropped in silence: the callers
count it and show examples.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

# Written for "no value" by spreadsheets, R, SQL dumps and the UCI repository ('?').
MISSING_MARKERS = (
    "",
    "?",
    "NA",
    "N/A",
    "n/a",
    "na",
    "-",
    "--",
    "null",
    "NULL",
    "Null",
    "None",
    "none",
    "NaN",
    "nan",
    "#N/A",
    "#NA",
    "-NaN",
    "-nan",
)
# Share of a column's present values that must be numbers for it to count as "numeric-looking".
NUMERIC_LOOKING = 0.8
_SAMPLE_ROWS = 500
_THOUSANDS_DOT_COMMA = re.compile(r"^[-+]?[1-9]\d{0,2}(?:,\d{3})+(?:\.\d+)?$")  # 1,234.5
_THOUSANDS_COMMA_DOT = re.compile(r"^[-+]?[1-9]\d{0,2}(?:\.\d{3})+(?:,\d+)?$")  # 1.234,5
_COMMA_DECIMAL = re.compile(r"^[-+]?\d+,\d+$")
_COMMA_NOT_THOUSANDS = re.compile(r"^[-+]?\d+,(?:\d{1,2}|\d{4,})$")  # 39,1 or 0,12345
_DOT_DECIMAL = re.compile(r"^[-+]?\d*\.\d+$")


@dataclass(frozen=True)
class NumberFormat:
    """How numbers are written in a file: decimal mark, thousands separator (or None)."""

    decimal: str = "."
    thousands: str | None = None


def sample_rows(text: str, delimiter: str, limit: int = _SAMPLE_ROWS) -> list[list[str]]:
    """The first rows of a text sample, split as CSV (quoted delimiters and newlines kept)."""
    rows: list[list[str]] = []
    try:
        for row in csv.reader(io.StringIO(text), delimiter=delimiter):
            rows.append(row)
            if len(rows) > limit:
                break
    except csv.Error:
        pass
    return rows


def detect_number_format(rows: list[list[str]], delimiter: str) -> NumberFormat:
    """Decimal mark and thousands separator from the data rows (the header excluded)."""
    values = [v.strip() for row in rows[1:] for v in row]
    thousands_comma = sum(bool(_THOUSANDS_DOT_COMMA.match(v)) and "," in v for v in values)
    thousands_dot = sum(bool(_THOUSANDS_COMMA_DOT.match(v)) and "." in v for v in values)
    comma_decimal = sum(bool(_COMMA_NOT_THOUSANDS.match(v)) for v in values)
    comma_any = sum(bool(_COMMA_DECIMAL.match(v)) for v in values)
    dot_decimal = sum(
        bool(_DOT_DECIMAL.match(v)) and not _THOUSANDS_COMMA_DOT.match(v) for v in values
    )
    # "1.234,5" can only mean a decimal comma; "39,1" too (a thousands group has 3 digits)
    if any("," in v and "." in v and v.rfind(",") > v.rfind(".") for v in values if _num(v)):
        return NumberFormat(",", ".")
    if delimiter == ",":  # a comma file writes a decimal comma only inside quotes
        comma_wins = comma_decimal > dot_decimal
    else:
        comma_wins = comma_decimal > 0 or (comma_any > dot_decimal and not thousands_comma)
    if comma_wins:
        return NumberFormat(",", "." if thousands_dot and not dot_decimal else None)
    if thousands_comma:
        return NumberFormat(".", ",")
    return NumberFormat(".", None)


def _num(value: str) -> bool:
    return bool(_THOUSANDS_DOT_COMMA.match(value) or _THOUSANDS_COMMA_DOT.match(value))


def markers_found(rows: list[list[str]], markers: tuple[str, ...]) -> dict[str, int]:
    """How often each non-empty missing marker stands alone in a field of the sample rows."""
    wanted = {m for m in markers if m}
    counts: dict[str, int] = {}
    for row in rows[1:]:
        for value in row:
            v = value.strip()
            if v in wanted:
                counts[v] = counts.get(v, 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: -kv[1]))


def parse_numbers(
    col: pd.Series,
    decimal: str = ".",
    thousands: str | None = None,
    markers: tuple[str, ...] = MISSING_MARKERS,
) -> tuple[pd.Series, pd.Series]:
    """(float values, the present values that are not numbers) of a column of any type.

    Whitespace, the thousands separator and a decimal comma are handled; a missing marker is
    missing, not a failure. The failures keep their original text, for counts and examples.
    """
    if pd.api.types.is_bool_dtype(col):
        return col.astype("float64"), col.iloc[:0]
    if pd.api.types.is_numeric_dtype(col):
        return col.astype("float64"), col.iloc[:0]
    present = col.dropna()
    text = present.astype(str).str.strip()
    text = text[~text.isin(markers)]
    cleaned = text
    if thousands:
        cleaned = cleaned.str.replace(thousands, "", regex=False)
    if decimal != ".":
        cleaned = cleaned.str.replace(".", "\0", regex=False).str.replace(decimal, ".", regex=False)
    numbers = pd.to_numeric(cleaned, errors="coerce")
    out = pd.Series(np.nan, index=col.index, dtype="float64")
    out.loc[numbers.index] = numbers.astype("float64")
    failed = text[numbers.isna()]
    return out, present.loc[failed.index]


def describe_failures(failed: pd.Series, what: str = "numbers") -> str:
    """ "12 values could not be read as numbers, e.g. 'n/a', 'three'"."""
    examples = ", ".join(repr(str(v)) for v in pd.unique(failed.astype(str))[:3])
    n = len(failed)
    return f"{n} value{'s' if n != 1 else ''} could not be read as {what}, e.g. {examples}"


def numeric_looking(col: pd.Series, fmt: NumberFormat, markers=MISSING_MARKERS) -> pd.Series | None:
    """A text column's failures when most of its values are numbers (so it "should" be one)."""
    if pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col):
        return None
    if not (pd.api.types.is_object_dtype(col) or pd.api.types.is_string_dtype(col)):
        return None
    head = col.dropna().head(5_000)
    if head.empty:
        return None
    values, failed = parse_numbers(head, fmt.decimal, fmt.thousands, markers)
    converted = int(values.notna().sum())
    if converted == 0 or converted < NUMERIC_LOOKING * (converted + len(failed)):
        return None
    return parse_numbers(col, fmt.decimal, fmt.thousands, markers)[1]


def marker_mask(col: pd.Series, wanted: tuple[str, ...]) -> pd.Series:
    """Which values of a text column are blank or one of `wanted`, spaces around them allowed.
    Only the values that start or end with whitespace are stripped: stripping them all would copy
    every string (about 80 MB for a million timestamps, the peak of reading a large CSV)."""
    present = col.notna()
    text = col[present].astype(str)
    mask = text.isin(wanted) | (text == "")
    padded = text.str[:1].str.isspace() | text.str[-1:].str.isspace()
    if padded.any():
        stripped = text[padded].str.strip()
        mask[padded] = stripped.isin(wanted) | (stripped == "")
    out = pd.Series(False, index=col.index)
    out[present] = mask
    return out


def normalise_text_columns(
    frame: pd.DataFrame, fmt: NumberFormat, markers: tuple[str, ...] = MISSING_MARKERS
) -> tuple[pd.DataFrame, dict[str, str]]:
    """Text columns as the file means them: markers (with spaces around) missing, columns that
    are entirely numbers once the separators are read converted to numbers.

    Returns the frame and, per numeric-looking column left as text, what stopped it converting.
    """
    left_as_text: dict[str, str] = {}
    wanted = tuple(m for m in markers if m)
    for name in frame.columns:
        col = frame[name]
        if not (pd.api.types.is_object_dtype(col) or pd.api.types.is_string_dtype(col)):
            continue
        is_marker = marker_mask(col, wanted)
        if is_marker.any():
            col = col.mask(is_marker)
            frame[name] = col
        if col.isna().all():
            continue
        failed = numeric_looking(col, fmt, markers)
        if failed is None:
            continue
        if failed.empty:
            values = parse_numbers(col, fmt.decimal, fmt.thousands, markers)[0]
            present = values.dropna()
            whole = bool((present == present.round()).all()) and present.abs().max() < 2**53
            frame[name] = values.astype("int64") if whole and not values.isna().any() else values
        else:
            left_as_text[name] = describe_failures(failed)
    return frame, left_as_text
