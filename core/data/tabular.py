"""Read a CSV into a table and check that it can train a model, with messages a person can act on.

Everything here is pandas: pages and the CLI call it before submitting a run, so bad input is
refused before any worker starts, and the worker calls it again on the same file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from core.errors import BadInput

MIN_ROWS = 10
MAX_CLASSES = 200
# A text column is "numeric with junk" when at least this share of its values parse as numbers.
NUMERIC_SHARE = 0.9
# Categorical columns with more distinct values than this are hashed instead of looked up.
HASH_ABOVE = 100
# Integer targets with at most this many distinct values are taken as classes.
CLASS_LIMIT = 20


@dataclass
class TableInfo:
    """A checked table and what the engine inferred about it."""

    frame: pd.DataFrame
    target: str
    task: str  # classification | regression
    numeric: list[str]
    categorical: list[str]
    classes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    hashed: list[str] = field(default_factory=list)  # many-valued strings, hashed into bins
    integer_categories: list[str] = field(default_factory=list)  # whole-number codes

    @property
    def features(self) -> list[str]:
        return self.numeric + self.categorical + self.hashed + self.integer_categories


def read_csv(source: str | Path | bytes, name: str = "the file") -> pd.DataFrame:
    """Read a table file (CSV/TSV, Parquet, JSON Lines) with detected settings; BadInput if bad."""
    from core.data.sources import read_table

    return read_table(source, name).frame


def class_labels(y: pd.Series) -> pd.Series:
    """Targets as class-name strings; whole-number floats (1.0) read as integers ("1")."""
    if pd.api.types.is_numeric_dtype(y) and not pd.api.types.is_bool_dtype(y):
        if bool((y == y.round()).all()):
            return y.astype("int64").astype(str)
    return y.astype(str)


def infer_task(target: pd.Series) -> str:
    values = target.dropna()
    if not pd.api.types.is_numeric_dtype(values):
        return "classification"
    if pd.api.types.is_bool_dtype(values):
        return "classification"
    is_integral = bool((values == values.round()).all())
    return "classification" if is_integral and values.nunique() <= CLASS_LIMIT else "regression"


def _numeric_with_junk(col: pd.Series) -> tuple[pd.Series, pd.Series] | None:
    """For a text column whose values are mostly numbers: (parsed, junk values); else None."""
    from core.data.parsing import parse_numbers

    present = col.dropna()
    if present.empty or pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col):
        return None
    parsed, junk = parse_numbers(present)
    if parsed.notna().sum() < NUMERIC_SHARE * len(present):
        return None
    return parse_numbers(col)[0], junk


def prepare_table(
    frame: pd.DataFrame,
    target: str,
    task: str = "auto",
    coerce_numeric: bool = False,
    types: dict[str, str] | None = None,
) -> TableInfo:
    """Check a table for training on `target`; BadInput says what is wrong and what to do.

    `types` are a dataset schema's column types (the user's corrections win over inference):
    numeric/integer columns are normalised, categorical/boolean ones looked up as strings (or
    hashed when they have many values), and text, timestamp and image-path columns left out.
    """
    types = types or {}
    if len(frame.columns) < 2:
        only = frame.columns[0] if len(frame.columns) else "none"
        raise BadInput(
            f"the table has a single column ({only}): it needs at least one feature column "
            "and a target column (is the delimiter right?)"
        )
    if frame.columns.duplicated().any():
        dupes = sorted(set(frame.columns[frame.columns.duplicated()]))
        raise BadInput(f"duplicate column names: {', '.join(dupes)}; rename them and try again")
    if not target:
        raise BadInput(f"choose a target column; columns are: {', '.join(frame.columns)}")
    if target not in frame.columns:
        raise BadInput(
            f"there is no column {target!r}; columns are: {', '.join(map(str, frame.columns))}"
        )
    frame = frame.copy()
    warnings: list[str] = []

    for name in frame.columns:
        if types.get(name) in ("categorical", "boolean", "text", "timestamp", "image_path"):
            continue  # the user said it is not a number
        found = _numeric_with_junk(frame[name])
        if found is None:
            continue
        parsed, junk = found
        if junk.empty:  # numbers held as text or objects (mixed types), all of them readable
            frame[name] = parsed
            continue
        examples = ", ".join(repr(v) for v in pd.unique(junk.astype(str))[:3])
        position = int((frame.index == junk.index[0]).argmax())
        first_row = position + 2  # +1 for the header, +1 for 1-based line numbers
        if not coerce_numeric:
            raise BadInput(
                f"column {name!r} is numeric but {len(junk)} value(s) are not numbers "
                f"({examples}; first on line {first_row}): fix them, or choose "
                "'treat non-numbers as missing' (CLI: --coerce-numeric)"
            )
        frame[name] = parsed
        warnings.append(
            f"{len(junk)} non-numeric value(s) in {name!r} ({examples}) treated as missing"
        )

    y = frame[target]
    if y.isna().all():
        raise BadInput(f"the target column {target!r} has no values")
    missing_target = int(y.isna().sum())
    if missing_target:
        frame = frame[y.notna()].reset_index(drop=True)
        warnings.append(f"{missing_target} row(s) with no {target!r} value dropped")
        y = frame[target]

    task = infer_task(y) if task == "auto" else task
    if task not in ("classification", "regression"):
        raise BadInput(f"unknown task {task!r}: use classification, regression or auto")
    classes: list[str] = []
    if task == "classification":
        counts = class_labels(y).value_counts()
        if len(counts) < 2:
            raise BadInput(
                f"the target {target!r} has a single class ({counts.index[0]!r}): a classifier "
                "needs at least two classes"
            )
        if len(counts) > MAX_CLASSES:
            raise BadInput(
                f"the target {target!r} has {len(counts)} distinct values: too many classes "
                f"(at most {MAX_CLASSES}); for a number, choose the regression task"
            )
        classes = sorted(counts.index)
        rare = counts[counts < 2]
        if len(rare):
            warnings.append(f"classes with a single row: {', '.join(map(str, rare.index[:5]))}")
    else:
        if not pd.api.types.is_numeric_dtype(y):
            raise BadInput(f"the target {target!r} is not numeric, so it cannot be regressed")
        if y.nunique() < 2:
            raise BadInput(f"the target {target!r} is constant ({y.iloc[0]}): nothing to learn")

    if len(frame) < MIN_ROWS:
        raise BadInput(f"the table has {len(frame)} usable rows; at least {MIN_ROWS} are needed")

    numeric: list[str] = []
    categorical: list[str] = []
    hashed: list[str] = []
    integer_codes: list[str] = []
    roles = {
        "numeric": numeric,
        "categorical": categorical,
        "hashed": hashed,
        "integer": integer_codes,
    }
    for name in frame.columns:
        if name == target:
            continue
        col, declared = frame[name], types.get(name)
        all_missing = bool(col.isna().all())
        if declared in ("numeric", "integer"):
            frame[name] = col = pd.to_numeric(col, errors="coerce")
        is_number = pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col)
        present = col.dropna()
        role, warning = feature_role(
            name,
            declared,
            all_missing=all_missing,
            is_number=is_number,
            integral=is_number and bool((present == present.round()).all()),
            distinct=lambda col=col: col.astype(str).nunique(),
            rows=len(col),
        )
        if warning:
            warnings.append(warning)
        if role:
            roles[role].append(name)
    if not (numeric or categorical or hashed or integer_codes):
        raise BadInput("no usable feature columns are left besides the target")
    return TableInfo(
        frame, target, task, numeric, categorical, classes, warnings, hashed, integer_codes
    )


def feature_role(name, declared, all_missing, is_number, integral, distinct, rows):
    """(role, warning) of a feature column: numeric, categorical, hashed, integer (whole-number
    codes) or None (left out, with the warning why). `distinct()` counts its values as strings
    (missing as one more); called only when needed. The in-memory table checks and the
    statistics-based ones of a streamed table (core/data/streamed.py) both decide here."""
    if all_missing:
        return None, f"column {name!r} is empty and was left out"
    if declared in ("text", "timestamp", "image_path"):
        return None, f"column {name!r} ({declared}) was left out of this table model"
    if declared in ("numeric", "integer") or (declared is None and is_number):
        return "numeric", None
    if declared == "categorical" and is_number and integral:
        return "integer", None  # codes such as 1/2/3: IntegerLookup, not Normalization
    count = distinct()
    if declared is None and count > 50 and count > 0.5 * rows:
        return None, (
            f"column {name!r} looks like an identifier or free text "
            f"({count} distinct values) and was left out"
        )
    return ("hashed" if count > HASH_ABOVE else "categorical"), None


def load_table(
    path: str | Path, target: str, task: str = "auto", coerce_numeric: bool = False
) -> TableInfo:
    return prepare_table(read_csv(path, Path(path).name), target, task, coerce_numeric)
