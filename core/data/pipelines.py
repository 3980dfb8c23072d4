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


def array_dataset(x: Any, y: np.ndarray, batch_size: int, shuffle: bool = False, seed: int = 0):
    """Tensors already in memory (preprocessed features, windows, token ids)."""
    ds = tf.data.Dataset.from_tensor_slices((x, y))
    return finish(ds, batch_size, shuffle, seed, len(y))


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
    """Sliding windows gathered in the pipeline from the series (same indices as the preview)."""
    offsets_in = tf.range(spec.input_width)
    offsets_out = spec.input_width + tf.range(spec.horizon)
    series = tf.constant(values, tf.float32)
    labels = tf.constant(targets, tf.float32)

    def gather(start):
        return tf.gather(series, start + offsets_in), tf.gather(labels, start + offsets_out)

    ds = tf.data.Dataset.from_tensor_slices(starts.astype("int32"))
    ds = ds.map(gather, num_parallel_calls=AUTOTUNE)
    return finish(ds, batch_size, shuffle, seed, len(starts))
