"""The input pipeline a profile runs: the run's training data, with the what-if knobs applied.

Table runs: the run's training rows (rebuilt from its spec, as compression does) go through the
run's own `preprocessing.keras` inside tf.data, the way serving raw rows works:
rows -> batch -> map(preprocessing, parallel calls) -> [cache] -> [prefetch]. Every knob then
changes something real. Other runs (images, text, series) use their family's training pipeline
(with the knobs that fit on top of it: cache and prefetch).

Imported only inside the profile job (it imports TensorFlow).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tensorflow as tf

from core.specs import ProfileSpec, TrainSpec


@dataclass
class ProfilePipeline:
    dataset: Any  # tf.data.Dataset of (network inputs, y), one epoch
    rows: int
    batch_size: int
    steps_per_epoch: int
    has_map: bool
    is_classification: bool
    notes: list[str] = field(default_factory=list)


def _options(spec: ProfileSpec) -> tf.data.Options:
    """Keep tf.data from undoing a knob: no prefetch injected when prefetch is off, no
    sequential map made parallel behind the user's back."""
    options = tf.data.Options()
    options.experimental_optimization.inject_prefetch = spec.prefetch != "off"
    options.experimental_optimization.map_parallelization = spec.parallel_calls == "auto"
    return options


def _tail(ds, spec: ProfileSpec):
    if spec.cache:
        ds = ds.cache()
    if spec.prefetch != "off":
        ds = ds.prefetch(tf.data.AUTOTUNE if spec.prefetch == "auto" else int(spec.prefetch))
    return ds.with_options(_options(spec))


def table_pipeline(spec: ProfileSpec, run, folder: Path, preprocess) -> ProfilePipeline:
    from core.compression.data import rebuild_split

    data = rebuild_split(run.spec, run.result or {}, folder)
    train_spec = TrainSpec.from_dict(run.spec)
    batch = spec.batch_size or train_spec.batch_size
    x = {k: (v.astype(str) if v.dtype.kind in "OUS" else v) for k, v in data.train_x.items()}
    rows = len(data.train_y)
    ds = tf.data.Dataset.from_tensor_slices((x, data.train_y)).batch(batch)
    calls = tf.data.AUTOTUNE if spec.parallel_calls == "auto" else int(spec.parallel_calls)
    ds = ds.map(
        lambda a, y: (preprocess(a, training=False), y),
        num_parallel_calls=None if calls == 1 else calls,
        deterministic=True,
    )
    classification = (run.result or {}).get("task", "") == "classification" or bool(
        (run.result or {}).get("classes")
    )
    return ProfilePipeline(
        _tail(ds, spec),
        rows,
        batch,
        math.ceil(rows / batch),
        True,
        classification,
        data.notes,
    )


def family_pipeline(spec: ProfileSpec, run, scratch: Path, reporter) -> ProfilePipeline:
    """Images, text and series: the family's own training pipeline, rebuilt from the spec."""
    import dataclasses

    from core.data.resolve import load_data
    from core.training.build import prepare
    from core.training.precheck import plan

    train_spec = TrainSpec.from_dict(run.spec)
    if spec.batch_size:
        train_spec = dataclasses.replace(train_spec, batch_size=spec.batch_size)
    loaded = load_data(train_spec.data, bounded=True)
    task, _ = plan(train_spec, loaded)
    scratch.mkdir(parents=True, exist_ok=True)
    prepared = prepare(train_spec, task, loaded, scratch, reporter)
    rows = int(prepared.rows.get("train", 0))
    notes = loaded.notes + [
        f"the {prepared.input_kind} pipeline is the one training used: parallel map calls do "
        "not apply, and its own prefetch stays in place"
    ]
    return ProfilePipeline(
        _tail(prepared.train, spec),
        rows,
        train_spec.batch_size,
        max(1, math.ceil(rows / train_spec.batch_size)),
        False,
        prepared.is_classification,
        notes,
    )
