"""Per-column statistics of a stored table, computed at import in one streaming pass over its
Parquet file and stored beside it (`stats.json`), so prechecks never read the rows again.

    {"format": 1, "rows": N, "row_groups": K,
     "columns": {name: {"type": arrow type, "kind": number|bool|string|other,
                        "count", "missing", "min", "max", "mean", "var" (population, over the
                        present values), "integral": all present numbers whole,
                        "distinct": exact count up to VOCAB_CAP, else an estimate,
                        "distinct_exact": bool, "values": [[value, count], ...] while exact}}}

Memory is one row group at a time plus VOCAB_CAP values per column. pyarrow + numpy + pandas'
hashing only; no TensorFlow.
"""

from __future__ import annotations

import json
import math
import os
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from core.data.limits import VOCAB_CAP

STATS_FORMAT = 1
SKETCH = 1_024  # smallest hashes kept per column to estimate distinct counts beyond the cap


def _kind(t: pa.DataType) -> str:
    if pa.types.is_boolean(t):
        return "bool"
    if pa.types.is_integer(t) or pa.types.is_floating(t):
        return "number"
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_dictionary(t):
        return "string"
    return "other"


class _Column:
    """Running statistics of one column (Chan et al.'s pairwise update for mean/variance)."""

    def __init__(self, kind: str, arrow_type: str) -> None:
        self.kind, self.type = kind, arrow_type
        self.count = self.missing = 0
        self.mean = self.m2 = 0.0
        self.min: float | None = None
        self.max: float | None = None
        self.integral = True
        self.values: dict[Any, int] | None = {}
        self.hashes = np.empty(0, np.uint64)

    def add(self, arr: pa.Array) -> None:
        from pandas.util import hash_array

        if self.kind == "number":
            x = arr.to_numpy(zero_copy_only=False).astype(np.float64, copy=False)
            present = x[~np.isnan(x)]
            self.missing += len(x) - len(present)
            n = len(present)
            if n:
                mean = float(present.mean())
                m2 = float(((present - mean) ** 2).sum())
                total = self.count + n
                delta = mean - self.mean
                self.mean += delta * n / total
                self.m2 += m2 + delta * delta * self.count * n / total
                self.count = total
                lo, hi = float(present.min()), float(present.max())
                self.min = lo if self.min is None else min(self.min, lo)
                self.max = hi if self.max is None else max(self.max, hi)
                finite = np.isfinite(present)
                self.integral = self.integral and bool(
                    finite.all() and (present == np.trunc(present)).all()
                )
            keys = present
        else:
            self.missing += arr.null_count
            self.count += len(arr) - arr.null_count
            if self.kind == "other":
                return
            keys = np.asarray(arr.drop_null().to_numpy(zero_copy_only=False), dtype=object)
        if self.values is not None:
            uniq, counts = np.unique(keys, return_counts=True)
            for k, c in zip(uniq.tolist(), counts.tolist(), strict=True):
                self.values[k] = self.values.get(k, 0) + c
            if len(self.values) > VOCAB_CAP:
                self.values = None  # too many to keep: estimate from hashes from now on
        if len(keys):
            h = np.unique(hash_array(keys if self.kind == "number" else keys.astype(str)))
            self.hashes = np.union1d(self.hashes, h[:SKETCH])[:SKETCH]

    def result(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.type, "kind": self.kind}
        out.update(count=self.count, missing=self.missing)
        if self.kind == "number":
            out.update(
                min=self.min,
                max=self.max,
                mean=self.mean if self.count else None,
                var=self.m2 / self.count if self.count else None,
                integral=bool(self.integral and self.count),
            )
        if self.values is not None:
            out["distinct"], out["distinct_exact"] = len(self.values), True
            out["values"] = [[k, c] for k, c in sorted(self.values.items(), key=_order)]
        else:  # k-minimum-values estimate: the k-th smallest of n uniform hashes is about k/n
            kth = float(self.hashes[-1]) / 2.0**64 if len(self.hashes) else 1.0
            out["distinct"] = int(min((SKETCH - 1) / max(kth, 1e-300), self.count))
            out["distinct_exact"] = False
        return out


def _order(item):
    key = item[0]
    return (0, key, "") if isinstance(key, (int, float)) else (1, 0, str(key))


def compute_stats(parquet: Path) -> dict[str, Any]:
    """Statistics of every column of a Parquet file, reading one row group at a time."""
    import pyarrow.parquet as pq

    pf = pq.ParquetFile(parquet)
    schema = pf.schema_arrow
    cols = {f.name: _Column(_kind(f.type), str(f.type)) for f in schema}
    rows = 0
    for i in range(pf.num_row_groups):
        group = pf.read_row_group(i)
        rows += group.num_rows
        for name, col in cols.items():
            for chunk in group.column(name).chunks:
                col.add(chunk)
        del group
    return {
        "format": STATS_FORMAT,
        "rows": rows,
        "row_groups": pf.num_row_groups,
        "columns": {name: _finite(col.result()) for name, col in cols.items()},
    }


def _finite(d: dict[str, Any]) -> dict[str, Any]:
    return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in d.items()}


def write_stats(folder: Path, parquet: Path) -> dict[str, Any]:
    stats = compute_stats(parquet)
    tmp = folder / f".stats-{uuid.uuid4().hex}.json"
    tmp.write_text(json.dumps(stats, default=str))
    os.replace(tmp, folder / "stats.json")
    return stats


def load_stats(folder: Path, parquet: Path) -> dict[str, Any]:
    """The stored statistics; a version imported before they existed gets them computed now
    (one streaming pass) and kept beside it when the workspace can be written."""
    path = folder / "stats.json"
    try:
        stats = json.loads(path.read_text())
        if stats.get("format") == STATS_FORMAT:
            return stats
    except (OSError, ValueError):
        pass
    try:
        return write_stats(folder, parquet)
    except OSError:  # a read-only workspace: computed, not kept
        return compute_stats(parquet)


def class_label(value: Any, column: dict[str, Any]) -> str:
    """A stored value as `core.data.tabular.class_labels` names it (whole numbers as integers)."""
    if column["kind"] == "number" and column.get("integral"):
        return str(int(value))
    return str(value)


def split_sizes(n: int, validation_fraction: float, test_fraction: float, time: bool) -> dict:
    """Rows per part of `core.training.split.split_rows` on n rows, without the rows: a time
    split cuts at int(n * fraction); a random or stratified one takes ceil(n * test) for test,
    then ceil(rest * validation / (1 - test)) for validation, as scikit-learn does."""
    if time:
        train_end = int(n * (1 - validation_fraction - test_fraction))
        val_end = int(n * (1 - test_fraction))
        return {"train": train_end, "validation": val_end - train_end, "test": n - val_end}
    test = math.ceil(test_fraction * n)
    rest = n - test
    validation = math.ceil(validation_fraction / (1 - test_fraction) * rest)
    return {"train": rest - validation, "validation": validation, "test": test}
