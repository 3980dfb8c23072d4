"""tf.data pipelines over a large stored table's Parquet file (the split and the training
split's statistics come from core.data.streamed): each epoch reads the row groups in a fresh
order, MIX_GROUPS at a time, so memory holds a few row groups, never the table.
Imported only inside workers (it imports TensorFlow).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import tensorflow as tf

from core.data.streamed import PARTS, class_labels, num_row_groups, row_groups
from core.training.features import FeatureSpec, raw_arrays

MIX_GROUPS = 4  # row groups read and shuffled together: rows mix across groups
CHUNK_ROWS = 8_192  # rows per generator element, cut into batches inside tf.data


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
    columns = [c for c in columns if c]
    groups = num_row_groups(parquet)
    epochs = itertools.count()

    def chunks():
        rng = np.random.default_rng([seed, next(epochs)])
        order = [int(g) for g in rng.permutation(groups)] if shuffle else None
        stream = row_groups(parquet, columns, parts, order)
        carry = None  # rows short of a whole chunk, served with the next block
        while True:
            # Each row group becomes this split's input arrays at once (float32, not the
            # frame's float64 columns): a block of MIX_GROUPS groups then costs ~1/3 of the
            # frames it came from (measured: +200 MiB -> +100 MiB over an epoch of 1M rows).
            pieces = [carry] if carry is not None else []
            last = True
            for codes, frame in itertools.islice(stream, MIX_GROUPS):
                last = False
                mine = frame[codes == code]
                if len(mine):
                    pieces.append((raw_arrays(mine, features), targets(mine)))
                del frame, mine
            if pieces:
                x, y = _concat(pieces)
                del pieces
                n = len(y)
                index = rng.permutation(n) if shuffle else np.arange(n)
                full = n if last else n - n % chunk
                for start in range(0, full, chunk):
                    rows = index[start : start + chunk]
                    yield {k: v[rows] for k, v in x.items()}, y[rows]
                rest = index[full:]
                carry = ({k: v[rest] for k, v in x.items()}, y[rest]) if len(rest) else None
                del x, y
            if last:
                return

    signature = (
        {f.input: tf.TensorSpec((None, 1), _dtype(f.dtype)) for f in features},
        tf.TensorSpec((None,), targets.dtype),
    )
    ds = tf.data.Dataset.from_generator(chunks, output_signature=signature)
    if preprocess is not None:
        ds = ds.map(lambda x, y: (preprocess(x), y), num_parallel_calls=tf.data.AUTOTUNE)
    ds = ds.rebatch(batch_size).prefetch(tf.data.AUTOTUNE)
    return ds.apply(tf.data.experimental.assert_cardinality(math.ceil(count / batch_size)))


def inputs_dataset(parquet: Path, parts: np.ndarray, part: str, features, batch_size=1024):
    """Raw inputs of one split in file order (no targets, no preprocessing), for predict."""
    nothing = Targets("", {}, None)
    ds = table_dataset(parquet, parts, part, features, nothing, None, batch_size)
    return ds.map(lambda x, y: x)


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
        if not self.column:  # inputs only
            return np.zeros(len(frame), np.float32)
        y = frame[self.column]
        if self.classes is None:
            return y.to_numpy("float32")
        index = {c: i for i, c in enumerate(self.classes)}
        return class_labels(y, self.stats).map(index).to_numpy("int32")


def _concat(pieces: list[tuple[dict[str, np.ndarray], np.ndarray]]):
    if len(pieces) == 1:
        return pieces[0]
    x = {k: np.concatenate([p[0][k] for p in pieces]) for k in pieces[0][0]}
    return x, np.concatenate([p[1] for p in pieces])


def _dtype(kind: str):
    return {"float32": tf.float32, "float32_binned": tf.float32, "int64": tf.int64}.get(
        kind, tf.string
    )
