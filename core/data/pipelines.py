"""tf.data input pipelines for every task, built the way TensorFlow's guide advises:
parallel decode/map, `cache` after the expensive steps, `shuffle`, `batch`, `prefetch(AUTOTUNE)`.

Imported only inside workers (it imports TensorFlow).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import tensorflow as tf

AUTOTUNE = tf.data.AUTOTUNE


def finish(ds: tf.data.Dataset, batch_size: int, shuffle: bool, seed: int, size: int):
    """cache -> shuffle -> batch -> prefetch, the common tail of every pipeline."""
    ds = ds.cache()
    if shuffle:
        ds = ds.shuffle(max(size, 1), seed=seed, reshuffle_each_iteration=True)
    return ds.batch(batch_size).prefetch(AUTOTUNE)


EPOCH_BYTES = 1 << 28  # arrays up to this size gather an epoch's rows in one go
CHUNK_BYTES = 1 << 25  # beyond that, windows are gathered in chunks of whole batches this big


def batches_of(
    n: int,
    batch_size: int,
    shuffle: bool,
    seed: int,
    take: Callable,
    at_once: bool,
    chunk_batches: int = 1,
) -> tf.data.Dataset:
    """Batches of rows gathered by position: `take(positions)` -> those rows, from memory.

    Each epoch (each new iterator) draws a fresh permutation of the n positions in one op,
    seeded (the sequence of epochs' permutations is fixed by `seed`). With `at_once`, the
    epoch's rows are then gathered in one go and served as slices, which is as fast as
    iterating batches already in memory; otherwise batch by batch, in parallel ahead of the
    consumer (memory stays bounded). Shuffling element by element through a buffer and a cache,
    as `finish` does, costs microseconds per element, and the cache holds the data a second time.
    With `chunk_batches` > 1 (and not `at_once`), each parallel gather takes that many
    consecutive batches' rows and serves them as slices: the same batches in the same order,
    fewer and larger gathers, memory bounded by the chunks in flight.
    """
    if shuffle:  # two int64 per epoch, new ones at each iteration
        keys = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(2).take(1)
    else:
        keys = tf.data.Dataset.from_tensors(tf.zeros([2], tf.int64))

    def epoch(key):
        order = tf.range(n, dtype=tf.int64)
        if shuffle:
            order = tf.random.experimental.stateless_shuffle(order, seed=key)
        if at_once:
            return _slices(take(order), n, batch_size)
        if chunk_batches > 1:
            return _chunked(order, n, batch_size, chunk_batches, take)
        starts = tf.data.Dataset.range(0, n, batch_size)
        return starts.map(
            lambda start: take(order[start : start + batch_size]), num_parallel_calls=AUTOTUNE
        )

    return keys.flat_map(epoch).prefetch(AUTOTUNE)


def _chunked(order, n: int, batch_size: int, k: int, take: Callable) -> tf.data.Dataset:
    """Batches of `take(order[...])`, gathered `k` whole batches at a time in parallel; the rows
    left after the last whole chunk are gathered once and served as `_slices` does."""
    rows = k * batch_size
    chunks = n // rows

    def chunk(c):
        part = take(order[c * rows : (c + 1) * rows])
        return tf.nest.map_structure(lambda t: tf.reshape(t, [k, batch_size, *t.shape[1:]]), part)

    body = (
        tf.data.Dataset.range(chunks)
        .map(chunk, num_parallel_calls=AUTOTUNE)
        # flat_map spreads a tuple element over the function's arguments: gather them back
        .flat_map(lambda *t: tf.data.Dataset.from_tensor_slices(t if len(t) > 1 else t[0]))
    )
    rest = n - chunks * rows
    if not rest:
        return body.concatenate(_slices(take(order[:0]), 0, batch_size))
    return body.concatenate(_slices(take(order[chunks * rows :]), rest, batch_size))


def _slices(tensors: Any, n: int, batch_size: int) -> tf.data.Dataset:
    """Consecutive batches of `tensors` (n rows): full ones, then the rest (batch's shapes)."""
    full = n // batch_size

    def whole(t):
        return tf.reshape(t[: full * batch_size], [full, batch_size, *t.shape[1:]])

    body = tf.data.Dataset.from_tensor_slices(tf.nest.map_structure(whole, tensors))
    rest = tf.data.Dataset.from_tensors(
        tf.nest.map_structure(lambda t: t[full * batch_size :], tensors)
    )
    # concatenated even when empty, so the batch dimension is None as with .batch()
    return body.concatenate(rest if n % batch_size else rest.take(0))


def _row_bytes(tensors: Any) -> int:
    return sum(
        int(np.prod(t.shape[1:])) * (t.dtype.size if t.dtype != tf.string else 64)
        for t in tf.nest.flatten(tensors)
    )


def array_dataset(x: Any, y: np.ndarray, batch_size: int, shuffle: bool = False, seed: int = 0):
    """Tensors already in memory (preprocessed features, windows, token ids)."""
    try:
        tensors = tf.nest.map_structure(tf.convert_to_tensor, (x, y))
    except (TypeError, ValueError):
        tensors = None  # e.g. sparse or ragged: element by element, as from_tensor_slices can
    if tensors is None or not all(isinstance(t, tf.Tensor) for t in tf.nest.flatten(tensors)):
        ds = tf.data.Dataset.from_tensor_slices((x, y))
        return finish(ds, batch_size, shuffle, seed, len(y))
    if not shuffle:
        return _slices(tensors, len(y), batch_size).prefetch(AUTOTUNE)

    def take(positions):
        return tf.nest.map_structure(lambda t: tf.gather(t, positions), tensors)

    at_once = len(y) * _row_bytes(tensors) <= EPOCH_BYTES
    return batches_of(len(y), batch_size, shuffle, seed, take, at_once)


def decode_image(path: tf.Tensor, size: tuple[int, int]) -> tf.Tensor:
    """Read one PNG/JPEG as float32 RGB, resized to `size` (pixel values stay 0-255)."""
    raw = tf.io.read_file(path)
    image = tf.io.decode_image(raw, channels=3, expand_animations=False)
    image.set_shape([None, None, 3])
    return tf.image.resize(image, size)


def image_dataset(
    paths: list[str] | list[Path],
    labels: np.ndarray,
    size: tuple[int, int],
    batch_size: int,
    shuffle: bool = False,
    seed: int = 0,
    augment: Callable[[tf.Tensor], tf.Tensor] | None = None,
):
    """Files -> decoded, resized images (parallel map) -> cache -> shuffle -> batch -> prefetch."""
    ds = tf.data.Dataset.from_tensor_slices(([str(p) for p in paths], labels))
    ds = ds.map(lambda p, y: (decode_image(p, size), y), num_parallel_calls=AUTOTUNE)
    ds = finish(ds, batch_size, shuffle, seed, len(labels))
    if augment is not None:
        ds = ds.map(lambda x, y: (augment(x), y), num_parallel_calls=AUTOTUNE)
    return ds


def text_dataset(
    texts: np.ndarray, labels: np.ndarray, batch_size: int, shuffle: bool = False, seed: int = 0
):
    """Raw strings: TextVectorization runs inside the model, so serving takes raw text too."""
    ds = tf.data.Dataset.from_tensor_slices((tf.constant(texts.astype(str)), labels))
    return finish(ds, batch_size, shuffle, seed, len(labels))


def window_dataset(
    values: np.ndarray,
    targets: np.ndarray,
    starts: np.ndarray,
    spec,
    batch_size: int,
    shuffle: bool = False,
    seed: int = 0,
):
    """Sliding windows gathered in the pipeline from the series (same indices as the preview).

    A batch of windows is one gather of `starts[batch] + offsets` from the series, made in
    parallel ahead of the consumer.
    """
    offsets_in = tf.range(spec.input_width)
    offsets_out = spec.input_width + tf.range(spec.horizon)
    series = tf.constant(values, tf.float32)
    labels = tf.constant(targets, tf.float32)
    first = tf.constant(np.asarray(starts).astype("int32"))

    def take(positions):
        at = tf.gather(first, positions)[:, None]
        return tf.gather(series, at + offsets_in), tf.gather(labels, at + offsets_out)

    # Windows overlap, so an epoch's worth is about input_width times the series: gathered in
    # one go (served as slices, as fast as windows already in memory) while that stays under
    # EPOCH_BYTES; beyond, in chunks of whole batches of about CHUNK_BYTES each (memory bounded
    # by the chunks in flight). One gather per batch fed a training step at ~0.5x of in-memory
    # speed, chunks at 0.86-0.95x (benchmarks/README.md, tfdata_pipeline.py --chunked): the
    # per-gather overhead, not the copying, is what a chunk amortises.
    row_bytes = 4 * (
        spec.input_width * int(np.prod(values.shape[1:]))
        + spec.horizon * int(np.prod(targets.shape[1:]))
    )
    at_once = len(starts) * row_bytes <= EPOCH_BYTES
    chunk = max(1, CHUNK_BYTES // max(1, batch_size * row_bytes))
    return batches_of(
        len(starts), batch_size, shuffle, seed, take, at_once=at_once, chunk_batches=chunk
    )
