"""Streaming a large stored table into training: the split, the training split's statistics and
tf.data pipelines, all reading the version's Parquet file a row group at a time.

Memory: the split keeps one byte per row (which part it is in) and, while splitting, the target
column; a pass holds MIX_GROUPS row groups; only the test split is gathered in memory (it is
evaluated at the end). Imported only inside workers (it imports TensorFlow).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import tensorflow as tf

from core.training.features import FeatureSpec, raw_arrays

PARTS = ("train", "validation", "test")
MIX_GROUPS = 4  # row groups read and shuffled together: rows mix across groups
CHUNK_ROWS = 8_192  # rows per generator element, cut into batches inside tf.data
SAMPLE_ROWS = 100_000  # training rows that quantile bins (Discretization) adapt on


def split_parts(parquet: Path, spec, target: str, task: str, target_stats: dict, schema):
    """int8 per stored row: 0 train, 1 validation, 2 test, -1 no target value. The same rows
    as the in-memory split (core.training.split.table_split): it is called on the positions of
    the rows with a target, with the same labels (and time column) and seed."""
    from core.training.split import table_split

    time_column = spec.time_column or (schema or {}).get("time_column")
    columns = [target] + ([time_column] if spec.split == "time" and time_column else [])
    table = pq.read_table(parquet, columns=list(dict.fromkeys(columns)))
    y = table.column(target).to_pandas()
    keep = y.notna().to_numpy()
    frame = pd.DataFrame({"_row": np.flatnonzero(keep)})
    if len(columns) > 1 and time_column in table.column_names:
        frame[time_column] = table.column(time_column).to_pandas()[keep].reset_index(drop=True)
    del table
    labels = None
    if task == "classification":
        labels = class_labels(y[keep].reset_index(drop=True), target_stats)
    parts = table_split(frame, spec, labels, schema)
    out = np.full(len(y), -1, np.int8)
    for code, name in enumerate(PARTS):
        out[parts[name]["_row"].to_numpy()] = code
    return out


def class_labels(y: pd.Series, column: dict) -> pd.Series:
    """Target values as class names, as the stored statistics name them (class_label)."""
    if column["kind"] == "number" and column.get("integral"):
        return y.astype("int64").astype(str)
    return y.astype(str)


def _groups(parquet: Path, columns: list[str], parts: np.ndarray, order: list[int] | None = None):
    """(part codes, frame) per row group, in `order` (default: file order)."""
    pf = pq.ParquetFile(parquet)
    starts = np.cumsum([0] + [pf.metadata.row_group(i).num_rows for i in range(pf.num_row_groups)])
    for g in order if order is not None else range(pf.num_row_groups):
        offset = int(starts[g])
        for batch in pf.iter_batches(batch_size=65_536, row_groups=[g], columns=columns):
            n = batch.num_rows
            yield parts[offset : offset + n], batch.to_pandas()
            offset += n


def num_row_groups(parquet: Path) -> int:
    return pq.ParquetFile(parquet).num_row_groups


def train_statistics(parquet: Path, parts: np.ndarray, features: list[FeatureSpec], target: str):
    """One pass over the file: per training-split input the mean and variance of the filled
    values (what Normalization.adapt computes on them), the vocabulary or integer codes, and a
    bounded sample for quantile bins; plus the test split's rows, gathered for evaluation."""
    acc: dict[str, dict[str, Any]] = {
        f.input: {"n": 0, "k": 0, "mean": 0.0, "m2": 0.0} for f in features
    }
    vocab: dict[str, set] = {f.input: set() for f in features}
    samples: dict[str, list] = {f.input: [] for f in features if f.dtype == "float32_binned"}
    test: list[pd.DataFrame] = []
    columns = list(dict.fromkeys([f.column for f in features] + [target]))
    for codes, frame in _groups(parquet, columns, parts):
        if (codes == 2).any():
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
    return stats, test_frame


def table_dataset(
    parquet: Path,
    parts: np.ndarray,
    part: str,
    features: list[FeatureSpec],
    targets: Targets,
    preprocess,
    batch_size: int,
    shuffle: bool = False,
    seed: int = 0,
) -> tf.data.Dataset:
    """Batches of (preprocessed features, targets) of one split, read from the file as they go.

    Each epoch (each new iterator) reads the row groups in a fresh seeded order, shuffles the
    rows of MIX_GROUPS groups at a time, and hands chunks of CHUNK_ROWS rows to tf.data, which
    preprocesses them in parallel, cuts them into batches and prefetches.
    """
    code = PARTS.index(part)
    count = int((parts == code).sum())
    chunk = batch_size * max(1, CHUNK_ROWS // batch_size)
    columns = list(dict.fromkeys([f.column for f in features] + [targets.column]))
    groups = num_row_groups(parquet)
    epochs = itertools.count()

    def chunks():
        rng = np.random.default_rng([seed, next(epochs)])
        order = [int(g) for g in rng.permutation(groups)] if shuffle else None
        stream = _groups(parquet, columns, parts, order)
        carry = None  # rows short of a whole chunk, served with the next block
        while True:
            block = list(itertools.islice(stream, MIX_GROUPS))
            frames = [carry] if carry is not None else []
            frames += [frame[codes == code] for codes, frame in block]
            frames = [f for f in frames if len(f)]
            last = not block
            if frames:
                frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
                if shuffle:
                    frame = frame.iloc[rng.permutation(len(frame))]
                full = len(frame) if last else len(frame) - len(frame) % chunk
                for start in range(0, full, chunk):
                    piece = frame.iloc[start : start + chunk]
                    yield raw_arrays(piece, features), targets(piece)
                carry = frame.iloc[full:] if full < len(frame) else None
            if last:
                return

    signature = (
        {f.input: tf.TensorSpec((None, 1), _dtype(f.dtype)) for f in features},
        tf.TensorSpec((None,), targets.dtype),
    )
    ds = tf.data.Dataset.from_generator(chunks, output_signature=signature)
    ds = ds.map(lambda x, y: (preprocess(x), y), num_parallel_calls=tf.data.AUTOTUNE)
    ds = ds.rebatch(batch_size).prefetch(tf.data.AUTOTUNE)
    return ds.apply(tf.data.experimental.assert_cardinality(math.ceil(count / batch_size)))


@dataclass
class Targets:
    """A frame's target column as the network's targets: class ids (classes in the contract's
    order) or float32 numbers."""

    column: str
    stats: dict
    classes: list[str] | None = None

    @property
    def dtype(self):
        return tf.int32 if self.classes is not None else tf.float32

    def __call__(self, frame: pd.DataFrame) -> np.ndarray:
        y = frame[self.column]
        if self.classes is None:
            return y.to_numpy("float32")
        index = {c: i for i, c in enumerate(self.classes)}
        return class_labels(y, self.stats).map(index).to_numpy("int32")


def _dtype(kind: str):
    return {"float32": tf.float32, "float32_binned": tf.float32, "int64": tf.int64}.get(
        kind, tf.string
    )
