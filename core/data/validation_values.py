"""How data validation reads a column's values (missing cells, numbers, timestamps, category
spellings) and writes them in a finding's text; core.data.validation holds the checks."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

# Blank cells, and missing values that went through str() (astype(str), string exports).
MISSING_TEXT = ("", "nan", "NaN", "None", "<NA>", "NaT")
BOOL_TOKENS = {
    "true": "true",
    "t": "true",
    "yes": "true",
    "y": "true",
    "1": "true",
    "false": "false",
    "f": "false",
    "no": "false",
    "n": "false",
    "0": "false",
}


# ---------------------------------------------------------------------------- parsing helpers


def missing_mask(s: pd.Series) -> np.ndarray:
    """NaN/None/NA, plus blank strings and the text that str() gives missing values ("nan")."""
    mask = s.isna().to_numpy(dtype=bool)
    api = pd.api.types
    if not (api.is_numeric_dtype(s) or api.is_bool_dtype(s) or api.is_datetime64_any_dtype(s)):
        blank = s.astype("string").str.strip().isin(MISSING_TEXT)
        mask = mask | blank.to_numpy(dtype=bool, na_value=False)
    return mask


def to_float(s: pd.Series) -> np.ndarray:
    """Numbers as float64; values that are not numbers (as text or otherwise) become NaN."""
    api = pd.api.types
    if (api.is_numeric_dtype(s) or api.is_bool_dtype(s)) and not api.is_complex_dtype(s):
        return s.to_numpy(dtype="float64", na_value=np.nan)
    parsed = pd.to_numeric(s.astype("string").str.strip(), errors="coerce")
    return parsed.to_numpy(dtype="float64", na_value=np.nan)


def to_datetime(s: pd.Series) -> pd.Series:
    """Timestamps in UTC (so naive and zone-aware values compare); unparseable values are NaT."""
    try:
        return pd.to_datetime(s, errors="coerce", format="mixed", utc=True)
    except (TypeError, ValueError, OverflowError):
        # Mixed objects (e.g. dates beside dicts) can defeat the vectorised parser; text never does.
        return pd.to_datetime(s.astype("string"), errors="coerce", format="mixed", utc=True)


def is_fractional(x: np.ndarray) -> np.ndarray:
    return np.isfinite(x) & (x != np.floor(x))


def category_key(value: object, boolean: bool) -> str:
    """One spelling per category, so 3, 3.0 and '3' (or True and 'true' for booleans) match."""
    if isinstance(value, (bool, np.bool_)):
        key = str(bool(value))
    elif isinstance(value, (int, np.integer)):
        key = str(int(value))
    elif isinstance(value, (float, np.floating)) and math.isfinite(value) and value == int(value):
        key = str(int(value))
    else:
        key = str(value).strip()
    return BOOL_TOKENS.get(key.lower(), key) if boolean else key


def category_counts(values: pd.Series, boolean: bool) -> pd.Series:
    try:
        counts = values.value_counts(dropna=True)
    except TypeError:  # unhashable values (lists, dicts from JSON): count their spellings instead
        counts = values.map(lambda v: category_key(v, boolean)).value_counts(dropna=True)
    if counts.empty:
        return pd.Series(dtype="int64")
    keys = [category_key(v, boolean) for v in counts.index]
    return pd.Series(counts.to_numpy(), index=keys).groupby(level=0).sum()


# ---------------------------------------------------------------------------- formatting


def fmt_share(share: float) -> str:
    if 0 < share < 0.001:
        return "<0.1%"
    return f"{share:.1%}"


def fmt_num(x: float) -> str:
    return f"{x:.4g}"


def fmt_examples(values: object, limit: int) -> str:
    picked = []
    for value in pd.unique(np.asarray(values, dtype=object)):
        text = value if isinstance(value, str) else str(value)
        picked.append(repr(text if len(text) <= 40 else text[:37] + "..."))
        if len(picked) == limit:
            break
    return ", ".join(picked)


def fmt_when(ts: pd.Timestamp) -> str:
    return ts.strftime("%Y-%m-%d") if ts == ts.normalize() else ts.strftime("%Y-%m-%d %H:%M:%S")
