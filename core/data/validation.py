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

import numpy as np
import pandas as pd
from scipy import stats

# The findings' records, re-exported: callers import them from here.
from core.data.validation_report import (  # noqa: F401
    KINDS,
    RANK,
    SEVERITIES,
    Anomaly,
    ValidationReport,
)
from core.data.validation_values import (
    category_counts,
    fmt_examples,
    fmt_num,
    fmt_share,
    fmt_when,
    is_fractional,
    missing_mask,
    to_datetime,
    to_float,
)

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
    found.sort(key=lambda a: -RANK[a.severity])
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
            filled = int((~missing_mask(_column(new, name))).sum())
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
    miss_new, miss_ref = missing_mask(new), missing_mask(ref)
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


# ---------------------------------------------------------------------------- checks


def _missing_jump(name: str, miss_new: np.ndarray, miss_ref: np.ndarray) -> list[Anomaly]:
    rate_new = float(miss_new.mean()) if len(miss_new) else 0.0
    rate_ref = float(miss_ref.mean()) if len(miss_ref) else 0.0
    if len(miss_new) and miss_new.all() and rate_ref < 1.0:
        detail = (
            f"All {len(miss_new)} values are missing in the new data "
            f"(reference: {fmt_share(rate_ref)} missing)."
        )
        return [Anomaly(name, "missing_rate_jump", "high", detail)]
    rise = rate_new - rate_ref
    if rise > MISSING_RISE and rate_new >= 2 * rate_ref:
        severity = "high" if rise > MISSING_RISE_HIGH else "medium"
        detail = (
            f"Missing share rose from {fmt_share(rate_ref)} to {fmt_share(rate_new)} "
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
    x_new, x_ref = to_float(raw_new), to_float(raw_ref)
    bad = np.isnan(x_new)
    if len(x_new) and bad.mean() > TYPE_SHARE:
        detail = (
            f"{fmt_share(bad.mean())} of non-missing values ({int(bad.sum())} of {len(x_new)}) "
            f"do not parse as numbers, e.g. {fmt_examples(raw_new[bad], 3)}; "
            f"the column is no longer {ctype}."
        )
        found.append(Anomaly(name, "type_change", "high", detail))
    x_new, x_ref = x_new[~bad], x_ref[~np.isnan(x_ref)]

    # Only a reference of whole numbers makes fractions a change rather than the usual data.
    if ctype == "integer" and len(x_new) and not is_fractional(x_ref).any():
        frac = is_fractional(x_new)
        if frac.any():
            examples = ", ".join(fmt_num(v) for v in pd.unique(x_new[frac])[:3])
            detail = (
                f"{fmt_share(frac.mean())} of numeric values ({int(frac.sum())} of {len(x_new)}) "
                f"are fractional, e.g. {examples}, in an integer column."
            )
            found.append(Anomaly(name, "type_change", "high", detail))

    finite_ref = x_ref[np.isfinite(x_ref)]
    if len(finite_ref) and len(x_new):
        lo, hi = float(finite_ref.min()), float(finite_ref.max())
        found += _out_of_range(
            name,
            x_new,
            lo,
            hi,
            rows,
            lambda n, below, above, share: (
                f"{n} values ({share} of rows; {below} below, {above} "
                f"above) fall outside the reference range [{fmt_num(lo)}, {fmt_num(hi)}]."
            ),
        )

    drift = _numeric_drift(name, finite_ref, x_new[np.isfinite(x_new)], psi_threshold, ks_alpha)
    if drift:
        found.append(drift)
    return found


def _out_of_range(name: str, new, lo, hi, rows: int, describe) -> list[Anomaly]:
    """Values of `new` outside the reference's [lo, hi]: one finding, medium once they are more
    than ROW_SHARE of the rows; `describe(count, below, above, share)` words it."""
    below, above = int((new < lo).sum()), int((new > hi).sum())
    if not (below or above):
        return []
    share = (below + above) / rows
    severity = "medium" if share > ROW_SHARE else "low"
    detail = describe(below + above, below, above, fmt_share(share))
    return [Anomaly(name, "out_of_range", severity, detail)]


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
        f"mean {fmt_num(float(ref.mean()))} -> {fmt_num(float(new.mean()))}, "
        f"median {fmt_num(float(np.median(ref)))} -> {fmt_num(float(np.median(new)))}."
    )
    return Anomaly(name, "drift", severity, detail)


def _check_timestamps(
    name: str, raw_new: pd.Series, raw_ref: pd.Series, rows: int
) -> list[Anomaly]:
    found = []
    t_new, t_ref = to_datetime(raw_new), to_datetime(raw_ref)
    bad = t_new.isna().to_numpy(dtype=bool)
    if len(t_new) and bad.mean() > TYPE_SHARE:
        detail = (
            f"{fmt_share(bad.mean())} of non-missing values ({int(bad.sum())} of {len(t_new)}) "
            f"do not parse as timestamps, e.g. {fmt_examples(raw_new[bad], 3)}."
        )
        found.append(Anomaly(name, "type_change", "high", detail))
    t_new, t_ref = t_new[~bad], t_ref.dropna()
    if len(t_ref) and len(t_new):
        lo, hi = t_ref.min(), t_ref.max()
        found += _out_of_range(
            name,
            t_new,
            lo,
            hi,
            rows,
            lambda n, below, above, share: (
                f"{n} timestamps ({share} of rows; {below} before, "
                f"{above} after) fall outside the reference range {fmt_when(lo)} to {fmt_when(hi)} "
                "(UTC)."
            ),
        )
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
    c_new, c_ref = category_counts(raw_new, boolean), category_counts(raw_ref, boolean)
    if len(c_ref) and len(c_new):
        unseen = c_new[~c_new.index.isin(c_ref.index)].sort_values(ascending=False, kind="stable")
        if len(unseen):
            share = int(unseen.sum()) / rows
            detail = (
                f"{int(unseen.sum())} rows ({fmt_share(share)}) hold {len(unseen)} value(s) not "
                f"seen in the reference, e.g. {fmt_examples(unseen.index, 5)}."
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
                f"the largest change is {top!r}: {fmt_share(float(p_ref[top]))} -> "
                f"{fmt_share(float(p_new[top]))}."
            )
            found.append(Anomaly(name, "drift", severity, detail))
    return found
