"""Check new data against the reference data set before retraining, in the spirit of TFDV.

`validate_frame(new, reference, schema)` compares the two tables column by column and returns a
`ValidationReport` of `Anomaly` records. Each anomaly has a kind, a severity and one sentence with
the numbers behind it, so the UI can list them and decide whether retraining should be blocked.

Rules (default severities in `KINDS`; thresholds are keyword arguments of `validate_frame`):

- empty: the new data has no rows (high). Per-column value checks are skipped.
- missing_column: a schema column, or the target, is absent from the new data (high).
- new_column: a column in the new data that the schema does not describe (low); it is ignored.
- type_change (high): numeric/integer values that do not parse as numbers for more than 1 % of
  the non-missing values; an integer column (whole numbers in the reference) that now holds
  fractional values; timestamp values that do not parse as dates for more than 1 %.
- unseen_categories: categorical/boolean values never seen in the reference; medium when they
  cover more than 1 % of the rows, else low.
- out_of_range: numeric/integer/timestamp values below the reference minimum or above its
  maximum; medium when more than 1 % of the rows, else low.
- missing_rate_jump: the missing share rose by more than 0.1 and at least doubled (medium);
  high when it rose by more than 0.5, or when every value is missing in the new data.
- drift: numeric/integer columns use the population stability index (PSI) over 10 bins cut at
  reference quantiles: medium above `psi_threshold`, high above twice it. A two-sample
  Kolmogorov-Smirnov test must confirm it (p < `ks_alpha`); otherwise the severity drops to low,
  because PSI is noisy on small samples. Categorical/boolean columns use the L-infinity distance
  between value frequencies (as TFDV does): medium above `linf_threshold`, high above twice it.
  Text, image_path and timestamp columns (timestamps always move forward; out_of_range covers
  them) get no drift check, nor does any column with fewer than 20 non-missing values on a side.

Only columns present in both tables are compared value by value. Values are parsed leniently
(numbers may arrive as CSV strings), so the checks hold for object, pandas string and mixed dtypes.
Blank strings and stringified missing values ("nan", "None") count as missing. Row shares are of
all new rows; type_change shares are of the non-missing new values.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

SEVERITIES = ("low", "medium", "high")
_RANK = {name: rank for rank, name in enumerate(SEVERITIES)}

# Every anomaly kind and its default severity; the module docstring says when a kind escalates.
KINDS: dict[str, str] = {
    "empty": "high",
    "missing_column": "high",
    "new_column": "low",
    "type_change": "high",
    "unseen_categories": "low",
    "out_of_range": "low",
    "missing_rate_jump": "medium",
    "drift": "medium",
}

COLUMN_TYPES = ("numeric", "integer", "boolean", "categorical", "text", "timestamp", "image_path")
NUMBER_TYPES = frozenset({"numeric", "integer"})
CATEGORY_TYPES = frozenset({"categorical", "boolean"})

# Shares of bad values that a CSV export can produce by accident stay below this.
TYPE_SHARE = 0.01
# Unseen or out-of-range values above this share of rows affect a model, not just a few rows.
ROW_SHARE = 0.01
MISSING_RISE = 0.1
MISSING_RISE_HIGH = 0.5
# Below this many values per side, PSI, KS and frequency distances are mostly noise.
MIN_DRIFT_VALUES = 20
PSI_BINS = 10
# Stands in for empty bins so that PSI stays finite.
PSI_EPS = 1e-4

# Blank cells, and missing values that went through str() (astype(str), string exports).
_MISSING_TEXT = ("", "nan", "NaN", "None", "<NA>", "NaT")
_BOOL_TOKENS = {
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


def _check_severity(severity: str) -> None:
    if severity not in _RANK:
        raise ValueError(f"unknown severity {severity!r}; expected one of {', '.join(SEVERITIES)}")


@dataclass(frozen=True)
class Anomaly:
    """One finding: which column, what kind, how serious, and the numbers behind it."""

    column: str  # column name, or "" for table-level anomalies
    kind: str  # a key of KINDS
    severity: str  # low | medium | high
    detail: str

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown anomaly kind {self.kind!r}")
        _check_severity(self.severity)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class ValidationReport:
    """All anomalies found, most severe first, and the row counts they were computed on."""

    anomalies: list[Anomaly] = field(default_factory=list)
    rows_new: int = 0
    rows_reference: int = 0

    def count(self, severity: str | None = None) -> int:
        if severity is None:
            return len(self.anomalies)
        _check_severity(severity)
        return sum(a.severity == severity for a in self.anomalies)

    def worst(self) -> str | None:
        """The highest severity present, or None when the data passed."""
        if not self.anomalies:
            return None
        return max((a.severity for a in self.anomalies), key=_RANK.__getitem__)

    def blocks(self, threshold: str = "high") -> bool:
        """Whether any anomaly is at or above `threshold`, i.e. retraining should wait."""
        _check_severity(threshold)
        return any(_RANK[a.severity] >= _RANK[threshold] for a in self.anomalies)

    def to_dict(self) -> dict:
        return {
            "anomalies": [a.to_dict() for a in self.anomalies],
            "rows_new": int(self.rows_new),
            "rows_reference": int(self.rows_reference),
            "counts": {s: self.count(s) for s in reversed(SEVERITIES)},
        }


def validate_frame(
    new: pd.DataFrame,
    reference: pd.DataFrame,
    schema: dict,
    *,
    psi_threshold: float = 0.25,
    linf_threshold: float = 0.2,
    ks_alpha: float = 0.01,
) -> ValidationReport:
    """Compare `new` with `reference`, whose columns `schema` describes; see the module rules."""
    if not psi_threshold > 0:
        raise ValueError(f"psi_threshold must be positive, got {psi_threshold}")
    if not 0 < linf_threshold <= 1:
        raise ValueError(f"linf_threshold must be in (0, 1], got {linf_threshold}")
    if not 0 < ks_alpha < 1:
        raise ValueError(f"ks_alpha must be in (0, 1), got {ks_alpha}")
    columns = _schema_columns(schema)
    target = schema.get("target")
    rows_new = len(new)
    found: list[Anomaly] = []

    if rows_new == 0:
        what = "no rows" if len(new.columns) else "no rows and no columns"
        found.append(Anomaly("", "empty", "high", f"The new data has {what} (0 rows to check)."))
    # A frame with neither rows nor columns is one problem, not one missing column per schema entry.
    if rows_new or len(new.columns):
        found += _presence(new, columns, target)
    if rows_new:
        for name, ctype in columns:
            if name in new.columns and name in reference.columns:
                found += _check_column(
                    name,
                    ctype,
                    _column(new, name),
                    _column(reference, name),
                    psi_threshold=psi_threshold,
                    linf_threshold=linf_threshold,
                    ks_alpha=ks_alpha,
                )
    # Stable sort: most severe first, table-level before columns, schema order within a severity.
    found.sort(key=lambda a: -_RANK[a.severity])
    return ValidationReport(found, rows_new, len(reference))


def _schema_columns(schema: dict) -> list[tuple[str, str]]:
    out = []
    for entry in schema.get("columns") or []:
        name, ctype = entry.get("name"), entry.get("type")
        if name is None:
            raise ValueError(f"schema column without a name: {entry!r}")
        if ctype not in COLUMN_TYPES:
            raise ValueError(
                f"schema column {name!r} has unknown type {ctype!r}; "
                f"expected one of {', '.join(COLUMN_TYPES)}"
            )
        out.append((name, ctype))
    return out


def _column(frame: pd.DataFrame, name: str) -> pd.Series:
    col = frame[name]
    # Duplicate headers return a frame; the first copy is the one pandas readers keep by name.
    return col.iloc[:, 0] if isinstance(col, pd.DataFrame) else col


def _presence(new: pd.DataFrame, columns: list[tuple[str, str]], target: str | None) -> list:
    found = []
    types = dict(columns)
    expected = list(types)
    if target and target not in types:
        expected.append(target)
    for name in expected:
        if name in new.columns:
            continue
        if name == target:
            detail = (
                f"Target column '{name}' is missing from the new data, which has "
                f"{len(new.columns)} columns: it cannot be used for retraining."
            )
        else:
            detail = (
                f"Schema column '{name}' ({types[name]}) is missing from the new data, "
                f"which has {len(new.columns)} columns."
            )
        found.append(Anomaly(str(name), "missing_column", "high", detail))
    known = set(expected)
    for name in new.columns:
        if name not in known:
            filled = int((~_missing_mask(_column(new, name))).sum())
            detail = (
                f"Column '{name}' is not in the reference schema ({filled} non-missing values); "
                "it is ignored until the schema is updated."
            )
            found.append(Anomaly(str(name), "new_column", "low", detail))
    return found


def _check_column(
    name: str,
    ctype: str,
    new: pd.Series,
    ref: pd.Series,
    *,
    psi_threshold: float,
    linf_threshold: float,
    ks_alpha: float,
) -> list[Anomaly]:
    miss_new, miss_ref = _missing_mask(new), _missing_mask(ref)
    found = _missing_jump(name, miss_new, miss_ref)
    values_new, values_ref = new[~miss_new], ref[~miss_ref]
    rows = len(new)
    if ctype in NUMBER_TYPES:
        found += _check_numbers(
            name,
            ctype,
            values_new,
            values_ref,
            rows,
            psi_threshold=psi_threshold,
            ks_alpha=ks_alpha,
        )
    elif ctype == "timestamp":
        found += _check_timestamps(name, values_new, values_ref, rows)
    elif ctype in CATEGORY_TYPES:
        found += _check_categories(name, ctype, values_new, values_ref, rows, linf_threshold)
    return found


# ---------------------------------------------------------------------------- parsing helpers


def _missing_mask(s: pd.Series) -> np.ndarray:
    """NaN/None/NA, plus blank strings and the text that str() gives missing values ("nan")."""
    mask = s.isna().to_numpy(dtype=bool)
    api = pd.api.types
    if not (api.is_numeric_dtype(s) or api.is_bool_dtype(s) or api.is_datetime64_any_dtype(s)):
        blank = s.astype("string").str.strip().isin(_MISSING_TEXT)
        mask = mask | blank.to_numpy(dtype=bool, na_value=False)
    return mask


def _to_float(s: pd.Series) -> np.ndarray:
    """Numbers as float64; values that are not numbers (as text or otherwise) become NaN."""
    api = pd.api.types
    if (api.is_numeric_dtype(s) or api.is_bool_dtype(s)) and not api.is_complex_dtype(s):
        return s.to_numpy(dtype="float64", na_value=np.nan)
    parsed = pd.to_numeric(s.astype("string").str.strip(), errors="coerce")
    return parsed.to_numpy(dtype="float64", na_value=np.nan)


def _to_datetime(s: pd.Series) -> pd.Series:
    """Timestamps in UTC (so naive and zone-aware values compare); unparseable values are NaT."""
    try:
        return pd.to_datetime(s, errors="coerce", format="mixed", utc=True)
    except (TypeError, ValueError, OverflowError):
        # Mixed objects (e.g. dates beside dicts) can defeat the vectorised parser; text never does.
        return pd.to_datetime(s.astype("string"), errors="coerce", format="mixed", utc=True)


def _fractional(x: np.ndarray) -> np.ndarray:
    return np.isfinite(x) & (x != np.floor(x))


def _category_key(value: object, boolean: bool) -> str:
    """One spelling per category, so 3, 3.0 and '3' (or True and 'true' for booleans) match."""
    if isinstance(value, (bool, np.bool_)):
        key = str(bool(value))
    elif isinstance(value, (int, np.integer)):
        key = str(int(value))
    elif isinstance(value, (float, np.floating)) and math.isfinite(value) and value == int(value):
        key = str(int(value))
    else:
        key = str(value).strip()
    return _BOOL_TOKENS.get(key.lower(), key) if boolean else key


def _category_counts(values: pd.Series, boolean: bool) -> pd.Series:
    try:
        counts = values.value_counts(dropna=True)
    except TypeError:  # unhashable values (lists, dicts from JSON): count their spellings instead
        counts = values.map(lambda v: _category_key(v, boolean)).value_counts(dropna=True)
    if counts.empty:
        return pd.Series(dtype="int64")
    keys = [_category_key(v, boolean) for v in counts.index]
    return pd.Series(counts.to_numpy(), index=keys).groupby(level=0).sum()


# ---------------------------------------------------------------------------- formatting


def _pct(share: float) -> str:
    if 0 < share < 0.001:
        return "<0.1%"
    return f"{share:.1%}"


def _num(x: float) -> str:
    return f"{x:.4g}"


def _examples(values: object, limit: int) -> str:
    picked = []
    for value in pd.unique(np.asarray(values, dtype=object)):
        text = value if isinstance(value, str) else str(value)
        picked.append(repr(text if len(text) <= 40 else text[:37] + "..."))
        if len(picked) == limit:
            break
    return ", ".join(picked)


def _when(ts: pd.Timestamp) -> str:
    return ts.strftime("%Y-%m-%d") if ts == ts.normalize() else ts.strftime("%Y-%m-%d %H:%M:%S")


# ---------------------------------------------------------------------------- checks


def _missing_jump(name: str, miss_new: np.ndarray, miss_ref: np.ndarray) -> list[Anomaly]:
    rate_new = float(miss_new.mean()) if len(miss_new) else 0.0
    rate_ref = float(miss_ref.mean()) if len(miss_ref) else 0.0
    if len(miss_new) and miss_new.all() and rate_ref < 1.0:
        detail = (
            f"All {len(miss_new)} values are missing in the new data "
            f"(reference: {_pct(rate_ref)} missing)."
        )
        return [Anomaly(name, "missing_rate_jump", "high", detail)]
    rise = rate_new - rate_ref
    if rise > MISSING_RISE and rate_new >= 2 * rate_ref:
        severity = "high" if rise > MISSING_RISE_HIGH else "medium"
        detail = (
            f"Missing share rose from {_pct(rate_ref)} to {_pct(rate_new)} "
            f"(+{rise * 100:.1f} points, {int(miss_new.sum())} missing values)."
        )
        return [Anomaly(name, "missing_rate_jump", severity, detail)]
    return []


def _check_numbers(
    name: str,
    ctype: str,
    raw_new: pd.Series,
    raw_ref: pd.Series,
    rows: int,
    *,
    psi_threshold: float,
    ks_alpha: float,
) -> list[Anomaly]:
    found = []
    x_new, x_ref = _to_float(raw_new), _to_float(raw_ref)
    bad = np.isnan(x_new)
    if len(x_new) and bad.mean() > TYPE_SHARE:
        detail = (
            f"{_pct(bad.mean())} of non-missing values ({int(bad.sum())} of {len(x_new)}) "
            f"do not parse as numbers, e.g. {_examples(raw_new[bad], 3)}; "
            f"the column is no longer {ctype}."
        )
        found.append(Anomaly(name, "type_change", "high", detail))
    x_new, x_ref = x_new[~bad], x_ref[~np.isnan(x_ref)]

    # Only a reference of whole numbers makes fractions a change rather than the usual data.
    if ctype == "integer" and len(x_new) and not _fractional(x_ref).any():
        frac = _fractional(x_new)
        if frac.any():
            examples = ", ".join(_num(v) for v in pd.unique(x_new[frac])[:3])
            detail = (
                f"{_pct(frac.mean())} of numeric values ({int(frac.sum())} of {len(x_new)}) "
                f"are fractional, e.g. {examples}, in an integer column."
            )
            found.append(Anomaly(name, "type_change", "high", detail))

    finite_ref = x_ref[np.isfinite(x_ref)]
    if len(finite_ref) and len(x_new):
        lo, hi = float(finite_ref.min()), float(finite_ref.max())
        below, above = int((x_new < lo).sum()), int((x_new > hi).sum())
        if below or above:
            share = (below + above) / rows
            detail = (
                f"{below + above} values ({_pct(share)} of rows; {below} below, {above} above) "
                f"fall outside the reference range [{_num(lo)}, {_num(hi)}]."
            )
            severity = "medium" if share > ROW_SHARE else "low"
            found.append(Anomaly(name, "out_of_range", severity, detail))

    drift = _numeric_drift(name, finite_ref, x_new[np.isfinite(x_new)], psi_threshold, ks_alpha)
    if drift:
        found.append(drift)
    return found


def _psi(ref: np.ndarray, new: np.ndarray) -> float:
    """Population stability index over bins cut at the reference's deciles."""
    quantiles = np.linspace(0, 1, PSI_BINS + 1)[1:-1]
    # Ties in the reference (discrete data) merge bins instead of leaving them empty.
    edges = np.unique(np.quantile(ref, quantiles))
    bins = len(edges) + 1
    p = np.bincount(np.searchsorted(edges, ref, side="right"), minlength=bins) / len(ref)
    q = np.bincount(np.searchsorted(edges, new, side="right"), minlength=bins) / len(new)
    p, q = np.clip(p, PSI_EPS, None), np.clip(q, PSI_EPS, None)
    return float(np.sum((q - p) * np.log(q / p)))


def _numeric_drift(
    name: str, ref: np.ndarray, new: np.ndarray, psi_threshold: float, ks_alpha: float
) -> Anomaly | None:
    if min(len(ref), len(new)) < MIN_DRIFT_VALUES:
        return None
    psi = _psi(ref, new)
    if psi <= psi_threshold:
        return None
    ks = stats.ks_2samp(ref, new)
    statistic, pvalue = float(ks.statistic), float(ks.pvalue)
    severity = "high" if psi > 2 * psi_threshold else "medium"
    limit = 2 * psi_threshold if severity == "high" else psi_threshold
    if pvalue < ks_alpha:
        verdict = "the distribution moved"
    else:
        severity = "low"
        verdict = f"not confirmed by KS at alpha {ks_alpha:g}, so possibly sampling noise"
    detail = (
        f"PSI {psi:.2f} (> {limit:g}), KS statistic {statistic:.2f} (p={pvalue:.2g}): {verdict}; "
        f"mean {_num(float(ref.mean()))} -> {_num(float(new.mean()))}, "
        f"median {_num(float(np.median(ref)))} -> {_num(float(np.median(new)))}."
    )
    return Anomaly(name, "drift", severity, detail)


def _check_timestamps(
    name: str, raw_new: pd.Series, raw_ref: pd.Series, rows: int
) -> list[Anomaly]:
    found = []
    t_new, t_ref = _to_datetime(raw_new), _to_datetime(raw_ref)
    bad = t_new.isna().to_numpy(dtype=bool)
    if len(t_new) and bad.mean() > TYPE_SHARE:
        detail = (
            f"{_pct(bad.mean())} of non-missing values ({int(bad.sum())} of {len(t_new)}) "
            f"do not parse as timestamps, e.g. {_examples(raw_new[bad], 3)}."
        )
        found.append(Anomaly(name, "type_change", "high", detail))
    t_new, t_ref = t_new[~bad], t_ref.dropna()
    if len(t_ref) and len(t_new):
        lo, hi = t_ref.min(), t_ref.max()
        below, above = int((t_new < lo).sum()), int((t_new > hi).sum())
        if below or above:
            share = (below + above) / rows
            detail = (
                f"{below + above} timestamps ({_pct(share)} of rows; {below} before, "
                f"{above} after) fall outside the reference range {_when(lo)} to {_when(hi)} (UTC)."
            )
            severity = "medium" if share > ROW_SHARE else "low"
            found.append(Anomaly(name, "out_of_range", severity, detail))
    return found


def _check_categories(
    name: str,
    ctype: str,
    raw_new: pd.Series,
    raw_ref: pd.Series,
    rows: int,
    linf_threshold: float,
) -> list[Anomaly]:
    found = []
    boolean = ctype == "boolean"
    c_new, c_ref = _category_counts(raw_new, boolean), _category_counts(raw_ref, boolean)
    if len(c_ref) and len(c_new):
        unseen = c_new[~c_new.index.isin(c_ref.index)].sort_values(ascending=False, kind="stable")
        if len(unseen):
            share = int(unseen.sum()) / rows
            detail = (
                f"{int(unseen.sum())} rows ({_pct(share)}) hold {len(unseen)} value(s) not seen "
                f"in the reference, e.g. {_examples(unseen.index, 5)}."
            )
            severity = "medium" if share > ROW_SHARE else "low"
            found.append(Anomaly(name, "unseen_categories", severity, detail))

    total_new, total_ref = int(c_new.sum()), int(c_ref.sum())
    if min(total_new, total_ref) >= MIN_DRIFT_VALUES:
        keys = c_new.index.union(c_ref.index)
        p_new = c_new.reindex(keys, fill_value=0) / total_new
        p_ref = c_ref.reindex(keys, fill_value=0) / total_ref
        diff = (p_new - p_ref).abs()
        linf, top = float(diff.max()), diff.idxmax()
        if linf > linf_threshold:
            severity = "high" if linf > 2 * linf_threshold else "medium"
            limit = 2 * linf_threshold if severity == "high" else linf_threshold
            detail = (
                f"L-infinity distance {linf:.2f} (> {limit:g}) between value frequencies; "
                f"the largest change is {top!r}: {_pct(float(p_ref[top]))} -> "
                f"{_pct(float(p_new[top]))}."
            )
            found.append(Anomaly(name, "drift", severity, detail))
    return found
