"""The training toolkit: what every subsystem that builds, compiles or feeds a model shares.

Tuning, AutoML, export, compression, profiling and pipelines import these public names instead
of the training job's internals. Keras and TensorFlow are imported inside the functions, so the
module itself stays importable without them (specs, catalog defaults, class weights).
"""

from __future__ import annotations

import dataclasses
import importlib
from types import ModuleType

import numpy as np

from core.errors import BadInput
from core.specs import OPTIMIZERS, SCHEDULES, TrainSpec
from core.training.precheck import INPUT_KIND

# Input kind -> the module in core/training/families that prepares that kind of data.
FAMILY = {"table": "tabular", "image": "images", "text": "text", "sequence": "forecasting"}


def family_for(task: str) -> ModuleType:
    """The task family module (tabular, images, text, forecasting) whose `prepare` a task uses."""
    return importlib.import_module(f"core.training.families.{FAMILY[INPUT_KIND[task]]}")


def with_task(spec: TrainSpec, task: str) -> TrainSpec:
    return dataclasses.replace(spec, task=task)


def prepare(spec: TrainSpec, task: str, loaded, folder, reporter):
    """The family's `prepare` for a planned task: datasets, preprocessing model and contract."""
    return family_for(task).prepare(
        spec if spec.task == task else with_task(spec, task), loaded, folder, reporter
    )


def to_tensors(inputs):
    """Keras 3 refuses numpy string arrays: strings go in as tf.constant."""
    import tensorflow as tf

    def one(v):
        return tf.constant(v.astype(str)) if v.dtype.kind in "OUS" else tf.constant(v)

    return {k: one(v) for k, v in inputs.items()} if isinstance(inputs, dict) else one(inputs)


def head_rows(inputs, n: int):
    if isinstance(inputs, dict):
        return {k: v[:n] for k, v in inputs.items()}
    return inputs[:n]


def loss_for(prepared) -> tuple[str, list[str]]:
    if prepared.is_classification:
        return "sparse_categorical_crossentropy", ["accuracy"]
    return "mse", ["mae"]


def build_network(spec, prepared, model_name: str, task: str):
    """The catalog network, wrapped to predict in target units (and from the last value)."""
    import keras

    from core.models.catalog import build

    hp = {
        **({"hidden_units": spec.hidden_units} if spec.hidden_units else {}),
        **({"dropout": spec.dropout} if spec.dropout else {}),
        **({"weights": spec.weights} if spec.weights else {}),
        **spec.hyperparameters,
        **prepared.hp,
    }
    network = build(model_name, hp, prepared.network_input_shape, task, prepared.outputs)
    if prepared.target_scale is None:
        return network
    # Predict in target units while the layers work near unit scale.
    mean, std = prepared.target_scale
    out = keras.layers.Rescaling(std, offset=mean, name="to_target_units")(network.output)
    if prepared.residual is not None:
        from core.training.layers import LastValue

        last = LastValue(**prepared.residual, name="last_value")(network.input)
        out = keras.layers.Add(name="forecast_from_last")([out, last])
    return keras.Model(network.input, out, name=network.name)


def learning_rate_for(spec: TrainSpec, model_name: str) -> float:
    """The spec's rate; 0 means a promoted trial's value, else the model's catalog default."""
    from core.models.catalog import default_hp

    return float(
        spec.learning_rate
        or spec.hyperparameters.get("learning_rate")
        or default_hp(model_name).get("learning_rate", 0.001)
    )


def make_optimizer(spec, learning_rate: float, train_ds, epochs: int):
    """The optimizer and learning-rate schedule a spec asks for."""
    import keras
    import tensorflow as tf

    if spec.optimizer not in OPTIMIZERS:
        raise BadInput(f"unknown optimizer {spec.optimizer!r}; choose {', '.join(OPTIMIZERS)}")
    if spec.schedule not in SCHEDULES:
        raise BadInput(f"unknown schedule {spec.schedule!r}; choose {', '.join(SCHEDULES)}")
    steps = int(train_ds.cardinality().numpy())
    steps = steps if steps > 0 else 100  # unknown cardinality: a sensible decay length
    rate = learning_rate
    if spec.schedule == "cosine":
        rate = keras.optimizers.schedules.CosineDecay(learning_rate, steps * max(epochs, 1))
    elif spec.schedule == "exponential":
        rate = keras.optimizers.schedules.ExponentialDecay(learning_rate, steps, 0.9)
    del tf
    return {
        "adam": lambda: keras.optimizers.Adam(rate),
        "adamw": lambda: keras.optimizers.AdamW(rate),
        "sgd": lambda: keras.optimizers.SGD(rate, momentum=0.9),
        "rmsprop": lambda: keras.optimizers.RMSprop(rate),
    }[spec.optimizer]()


def class_weight_for(spec, prepared, reporter) -> dict[int, float] | None:
    """Balanced class weights (n / (k * count)) computed on the training split."""
    if spec.class_weights == "none" or prepared.train_labels is None:
        return None
    if spec.class_weights != "balanced":
        raise BadInput(f"unknown class weights {spec.class_weights!r}; choose none or balanced")
    labels = prepared.train_labels
    k = len(prepared.contract.classes)
    counts = np.bincount(labels, minlength=k)
    weights = {i: float(len(labels) / (k * c)) if c else 0.0 for i, c in enumerate(counts)}
    reporter.event(
        "class weights: "
        + ", ".join(f"{prepared.contract.classes[i]} {w:.2f}" for i, w in weights.items())
    )
    return weights
