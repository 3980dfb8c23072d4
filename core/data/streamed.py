"""The table checks of `core.data.tabular.prepare_table`, made from a version's stored statistics
instead of its rows: what the precheck and the streaming worker know of a large table before
reading it. Same rules (core.data.tabular.feature_role, MIN_ROWS, MAX_CLASSES, CLASS_LIMIT), same
messages; then the split and the training split's statistics, read from the Parquet file a
row group at a time. Memory: one byte per row (its part), the target column while splitting,
one row group in a pass, and the test split's targets. No TensorFlow.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core.data.stats import class_label
from core.data.tabular import CLASS_LIMIT, MAX_CLASSES, MIN_ROWS, feature_role
from core.errors import BadInput
from core.training.features import FeatureSpec, raw_arrays

LEFT_OUT = ("text", "timestamp", "image_path")
PARTS = ("train", "validation", "test")
SAMPLE_ROWS = 100_000  # training rows that quantile bins (Discretization) adapt on
TEST_HEAD = 64  # test rows kept as examples (test_sample.csv, the exports' parity checks)


@dataclass
class StreamedTable:
    """`TableInfo` without a frame: the roles of the columns and what the stats say."""

    target: str
    task: str
    numeric: list[str]
    categorical: list[str]
    classes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    hashed: list[str] = field(default_factory=list)
    integer_categories: list[str] = field(default_factory=list)
    rows: int = 0  # rows with a target value

    @property
    def features(self) -> list[str]:
        return self.numeric + self.categorical + self.hashed + self.integer_categories


def _types(schema: dict[str, Any] | None) -> dict[str, str]:
    return {c["name"]: c["type"] for c in (schema or {}).get("columns", [])}


def not_streamable(stats: dict[str, Any], schema: dict[str, Any] | None) -> str | None:
    """Why the table must be read into memory to train, or None. Numbers stored as text (a
    mixed-type column) are parsed and checked value by value by the in-memory table checks."""
    types = _types(schema)
    for name, col in stats["columns"].items():
        declared = types.get(name)
        if col["kind"] == "string" and declared in ("numeric", "integer"):
            return f"column {name!r} holds numbers stored as text"
        if col["kind"] == "other" and declared not in LEFT_OUT:
            return f"column {name!r} is of type {col['type']}"
    return None


def infer_task_from_stats(col: dict[str, Any]) -> str:
    """`core.data.tabular.infer_task` from a column's statistics."""
    if col["kind"] != "number":
        return "classification"
    exact = col.get("distinct_exact", False)
    small = exact and col["distinct"] <= CLASS_LIMIT
    return "classification" if col.get("integral") and small else "regression"


def plan_table(
    stats: dict[str, Any], schema: dict[str, Any] | None, target: str, task: str = "auto"
) -> StreamedTable:
    """Check a large table for training on `target` from its statistics; BadInput as
    `prepare_table` would say it."""
    columns = stats["columns"]
    if len(columns) < 2:
        raise BadInput(
            f"the table has a single column ({next(iter(columns), 'none')}): it needs at least "
            "one feature column and a target column (is the delimiter right?)"
        )
    if not target:
        raise BadInput(f"choose a target column; columns are: {', '.join(columns)}")
    if target not in columns:
        raise BadInput(f"there is no column {target!r}; columns are: {', '.join(columns)}")
    warnings: list[str] = []
    y = columns[target]
    if y["count"] == 0:
        raise BadInput(f"the target column {target!r} has no values")
    if y["missing"]:
        warnings.append(f"{y['missing']} row(s) with no {target!r} value dropped")
    rows = int(y["count"])
    task = infer_task_from_stats(y) if task == "auto" else task
    if task not in ("classification", "regression"):
        raise BadInput(f"unknown task {task!r}: use classification, regression or auto")
    classes: list[str] = []
    if task == "classification":
        if not y.get("distinct_exact") or y["distinct"] > MAX_CLASSES:
            raise BadInput(
                f"the target {target!r} has {y['distinct']} distinct values: too many classes "
                f"(at most {MAX_CLASSES}); for a number, choose the regression task"
            )
        counts: dict[str, int] = {}
        for value, count in y["values"]:
            label = class_label(value, y)
            counts[label] = counts.get(label, 0) + count
        if len(counts) < 2:
            raise BadInput(
                f"the target {target!r} has a single class ({next(iter(counts))!r}): a "
                "classifier needs at least two classes"
            )
        classes = sorted(counts)
        rare = [c for c, n in sorted(counts.items(), key=lambda kv: -kv[1]) if n < 2]
        if rare:
            warnings.append(f"classes with a single row: {', '.join(rare[:5])}")
    else:
        if y["kind"] != "number":
            raise BadInput(f"the target {target!r} is not numeric, so it cannot be regressed")
        if y["distinct"] < 2:
            raise BadInput(f"the target {target!r} is constant ({y['min']}): nothing to learn")
    if rows < MIN_ROWS:
        raise BadInput(f"the table has {rows} usable rows; at least {MIN_ROWS} are needed")

    types = _types(schema)
    info = StreamedTable(target, task, [], [], classes, warnings, rows=rows)
    roles = {
        "numeric": info.numeric,
        "categorical": info.categorical,
        "hashed": info.hashed,
        "integer": info.integer_categories,
    }
    for name, col in columns.items():
        if name == target:
            continue
        role, warning = feature_role(
            name,
            types.get(name),
            all_missing=col["count"] == 0,
            is_number=col["kind"] == "number",
            integral=bool(col.get("integral")),
            distinct=lambda col=col: col.get("distinct", 0) + (1 if col["missing"] else 0),
            rows=rows,
        )
        if warning:
            warnings.append(warning)
        if role:
            roles[role].append(name)
    if not info.features:
        raise BadInput("no usable feature columns are left besides the target")
    return info


def split_parts(parquet: Path, spec, target: str, task: str, target_stats: dict, schema):
    """(part per stored row as int8: 0 train, 1 validation, 2 test, -1 no target value; class
    ids per stored row for a classifier, else None). The same rows as the in-memory split
    (core.training.split.table_split): it is called on the positions of the rows with a target,
    with the same time column and seed, and labels that sort as the class names do."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from core.data.sources import memory_pool
    from core.training.split import (
        check_fractions,
        check_not_empty,
        shuffled_positions,
        stratifies,
        table_split,
        time_cuts,
    )

    # Arrow's default pool keeps what a row group freed for reuse: across a pass over a large
    # file that is hundreds of MB of peak memory. This process (a worker) reads with the pool
    # that gives memory back at once, as the CSV reader does.
    pa.set_memory_pool(memory_pool())
    time_column = spec.time_column or (schema or {}).get("time_column")
    by_time = spec.split == "time"
    columns = [target] + ([time_column] if by_time and time_column else [])
    table = pq.read_table(parquet, columns=list(dict.fromkeys(columns)))
    y = table.column(target)
    keep = ~np.asarray(y.is_null(nan_is_null=True))
    rows = np.flatnonzero(keep) if not keep.all() else None  # None: every row
    codes = class_codes(y, target_stats) if task == "classification" else None
    times = table.column(time_column) if by_time and time_column in table.column_names else None
    if by_time and (times is None or _is_time(times.type)):
        # Stored times (or none: the file's order) sort as they are, stably, with missing last,
        # as the in-memory rule sorts them once parsed; no string per row (10M rows: +1.5 GB).
        del table, y
        n = len(keep) if rows is None else len(rows)
        if times is None:
            order = np.arange(n)
        else:
            values = times.to_numpy()
            del times
            order = np.argsort(values if rows is None else values[rows], kind="stable")
            del values
        check_fractions(spec.validation_fraction, spec.test_fraction)
        cuts = time_cuts(n, spec.validation_fraction, spec.test_fraction)
        positions = [order[cuts[name]] for name in PARTS]
        if rows is not None:
            positions = [rows[p] for p in positions]
        check_not_empty(dict(zip(PARTS, positions, strict=True)))
    elif by_time:  # times stored as text: the in-memory rule itself parses them
        assert times is not None
        frame = pd.DataFrame({"_row": np.arange(len(keep)) if rows is None else rows})
        frame[time_column] = times.to_pandas()[keep].reset_index(drop=True)
        del table, y, times
        parts = table_split(frame, spec, None, schema)
        positions = [parts[name]["_row"].to_numpy() for name in PARTS]
    else:  # positions, not a frame: a stratified split of 10M rows then peaks at ~0.4 GB
        del table, y
        labels = None
        if codes is not None and stratifies(spec):
            labels = codes if rows is None else codes[rows]
        found = shuffled_positions(
            len(keep) if rows is None else len(rows),
            spec.validation_fraction,
            spec.test_fraction,
            spec.seed,
            labels,
        )
        del labels
        positions = list(found) if rows is None else [rows[p] for p in found]
    out = np.full(len(keep), -1, np.int8)
    for code, where in enumerate(positions):
        out[where] = code
    return out, codes


def _is_time(kind) -> bool:
    import pyarrow as pa

    return pa.types.is_timestamp(kind) or pa.types.is_date(kind)


def class_codes(y, column: dict) -> np.ndarray:
    """int32 class id per value (-1 where missing): the position of its class name
    (class_label) among the sorted names, computed in Arrow without a string per row.
    Stratifying on these ids splits exactly as on the names: same classes, same order."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if column["kind"] == "number" and column.get("integral"):
        # whole numbers are encoded as numbers (4 bytes a row), named as class_label names them
        encoded = pc.dictionary_encode(pc.cast(y, pa.int64())).combine_chunks()
        names = [str(v) for v in encoded.dictionary.to_pylist()]
    else:
        encoded = pc.dictionary_encode(pc.cast(y, pa.string())).combine_chunks()
        names = encoded.dictionary.to_pylist()
    if column["kind"] == "bool":
        names = [n.capitalize() for n in names]  # Arrow "true", Python "True"
    rank = np.empty(len(names) + 1, np.int32)
    rank[np.argsort(np.array(names, dtype=object))] = np.arange(len(names), dtype=np.int32)
    rank[-1] = -1  # missing
    indices = pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False)
    return rank[indices]  # -1 indexes the last entry: missing stays -1


def class_labels(y: pd.Series, column: dict) -> pd.Series:
    """Target values as class names, as the stored statistics name them (class_label)."""
    if column["kind"] == "number" and column.get("integral"):
        return y.astype("int64").astype(str)
    return y.astype(str)


def row_groups(
    parquet: Path, columns: list[str], parts: np.ndarray, order: list[int] | None = None
):
    """(part codes, frame) per row group, in `order` (default: file order)."""
    import pyarrow.parquet as pq

    pf = pq.ParquetFile(parquet)
    starts = np.cumsum([0] + [pf.metadata.row_group(i).num_rows for i in range(pf.num_row_groups)])
    for g in order if order is not None else range(pf.num_row_groups):
        offset = int(starts[g])
        for batch in pf.iter_batches(batch_size=65_536, row_groups=[g], columns=columns):
            n = batch.num_rows
            yield parts[offset : offset + n], batch.to_pandas()
            offset += n


def num_row_groups(parquet: Path) -> int:
    import pyarrow.parquet as pq

    return pq.ParquetFile(parquet).num_row_groups


def train_statistics(parquet: Path, parts: np.ndarray, features: list[FeatureSpec], target: str):
    """One pass over the file: per training-split input the mean and variance of the filled
    values (what Normalization.adapt computes on them), the vocabulary or integer codes, and a
    bounded sample for quantile bins; plus the test split's first TEST_HEAD rows (file order,
    as the test stream serves them)."""
    acc: dict[str, dict[str, Any]] = {
        f.input: {"n": 0, "k": 0, "mean": 0.0, "m2": 0.0} for f in features
    }
    vocab: dict[str, set] = {f.input: set() for f in features}
    samples: dict[str, list] = {f.input: [] for f in features if f.dtype == "float32_binned"}
    test: list[pd.DataFrame] = []
    columns = list(dict.fromkeys([f.column for f in features] + [target]))
    for codes, frame in row_groups(parquet, columns, parts):
        if (codes == 2).any() and sum(map(len, test)) < TEST_HEAD:
            test.append(frame[codes == 2])
        train = frame[codes == 0]
        if train.empty:
            continue
        arrays = raw_arrays(train, features)
        for f in features:
            values = arrays[f.input].ravel()
            if f.dtype in ("float32", "float32_binned"):
                a = acc[f.input]
                present = values[~np.isnan(values)].astype(np.float64)
                a["n"] += len(values)
                if len(present):  # Chan et al.: merge this batch's mean and squared deviations
                    mean = float(present.mean())
                    m2 = float(((present - mean) ** 2).sum())
                    total = a["k"] + len(present)
                    delta = mean - a["mean"]
                    a["mean"] += delta * len(present) / total
                    a["m2"] += m2 + delta * delta * a["k"] * len(present) / total
                    a["k"] = total
                if f.input in samples and sum(map(len, samples[f.input])) < SAMPLE_ROWS:
                    samples[f.input].append(values)
            elif f.dtype == "int64":
                vocab[f.input].update(int(v) for v in np.unique(values) if v != -1)
            elif f.dtype == "string":
                vocab[f.input].update(v for v in pd.unique(values) if v != "")
    stats: dict[str, dict] = {}
    for f in features:
        a = acc[f.input]
        if f.dtype in ("float32", "float32_binned"):
            # missing values are filled with the mean: they add rows but no squared deviation
            mean = a["mean"] if a["k"] else 0.0
            stats[f.input] = {"mean": mean, "variance": a["m2"] / a["n"] if a["n"] else 1.0}
            if f.input in samples:
                sample = np.concatenate(samples[f.input])[:SAMPLE_ROWS]
                stats[f.input]["sample"] = np.where(np.isnan(sample), mean, sample)
        elif f.dtype == "int64":
            stats[f.input] = {"codes": sorted(vocab[f.input])}
        elif f.dtype == "string":
            stats[f.input] = {"vocabulary": sorted(vocab[f.input])}
    test_frame = pd.concat(test, ignore_index=True) if test else pd.DataFrame(columns=columns)
    test_frame = test_frame.head(TEST_HEAD)
    return stats, test_frame
