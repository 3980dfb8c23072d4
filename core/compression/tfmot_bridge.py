"""Pruning, clustering and QAT for Keras 3 networks through tf_keras (the weight bridge).

The Model Optimization toolkit only wraps tf_keras (Keras 2) layers. The same architecture is
rebuilt with `tf_keras.layers`, the Keras 3 weights are copied in (outputs match exactly), the
toolkit wraps and fine-tunes it, and the stripped weights are copied back into a Keras 3 clone.
`tensorflow_model_optimization` is imported here only, inside the worker: importing it sets
TF_USE_LEGACY_KERAS=1 for the process.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from core.errors import BadInput


def _tfmot():
    import tensorflow_model_optimization as tfmot

    return tfmot


def rebuild_tf_keras(network):
    """The Keras 3 Dense chain as a functional tf_keras model with the same weights."""
    import tf_keras

    x = inputs = None
    for layer in network.layers:
        kind = type(layer).__name__
        cfg = layer.get_config()
        if kind == "InputLayer":
            shape = tuple(cfg.get("batch_shape") or cfg.get("batch_input_shape"))[1:]
            x = inputs = tf_keras.Input(shape=shape, name=layer.name)
            continue
        if kind == "Dense":
            new = tf_keras.layers.Dense(
                cfg["units"],
                activation=cfg["activation"],
                use_bias=cfg["use_bias"],
                name=layer.name,
            )
        elif kind == "Dropout":
            new = tf_keras.layers.Dropout(cfg["rate"], name=layer.name)
        elif kind == "Rescaling":
            new = tf_keras.layers.Rescaling(cfg["scale"], offset=cfg["offset"], name=layer.name)
        elif kind == "Reshape":
            new = tf_keras.layers.Reshape(tuple(cfg["target_shape"]), name=layer.name)
        elif kind == "Flatten":
            new = tf_keras.layers.Flatten(name=layer.name)
        else:
            raise BadInput(f"the weight bridge cannot rebuild layer {layer.name!r} ({kind})")
        x = new(x)
    if inputs is None:
        raise BadInput("the network has no input layer")
    rebuilt = tf_keras.Model(inputs, x, name=f"{network.name}_tf_keras")
    rebuilt.set_weights(network.get_weights())
    return rebuilt


def _wrap(model, wrap_dense):
    import tf_keras

    def clone(layer):
        if isinstance(layer, tf_keras.layers.Dense):
            return wrap_dense(layer)
        return layer.__class__.from_config(layer.get_config())

    return tf_keras.models.clone_model(model, clone_function=clone)


@dataclass
class FineTune:
    x: np.ndarray  # preprocessed training features
    y: np.ndarray
    classification: bool
    epochs: int
    batch_size: int = 32
    learning_rate: float = 0.001


def _fit(model, data: FineTune, callbacks=(), on_epoch=None):
    import tf_keras

    loss = "sparse_categorical_crossentropy" if data.classification else "mse"
    model.compile(tf_keras.optimizers.Adam(data.learning_rate), loss=loss)
    if data.epochs <= 0:
        return
    cbs = list(callbacks)
    if on_epoch is not None:
        cbs.append(tf_keras.callbacks.LambdaCallback(on_epoch_end=on_epoch))
    model.fit(
        data.x, data.y, epochs=data.epochs, batch_size=data.batch_size, verbose=2, callbacks=cbs
    )


def prune(model, sparsity: float, data: FineTune, on_epoch=None):
    """Polynomial-decay magnitude pruning to `sparsity` over the first 2/3 of fine-tuning."""
    tfmot = _tfmot()
    steps = max(1, int(np.ceil(len(data.x) / data.batch_size))) * data.epochs
    schedule = tfmot.sparsity.keras.PolynomialDecay(
        initial_sparsity=0.0,
        final_sparsity=float(sparsity),
        begin_step=0,
        end_step=max(1, int(steps * 2 / 3)),
        frequency=1,
    )
    wrapped = _wrap(model, lambda layer: tfmot.sparsity.keras.prune_low_magnitude(layer, schedule))
    _fit(wrapped, data, [tfmot.sparsity.keras.UpdatePruningStep()], on_epoch)
    return tfmot.sparsity.keras.strip_pruning(wrapped)


def cluster(model, clusters: int, data: FineTune, on_epoch=None):
    """k-means++-initialised weight clustering, fine-tuned, then stripped."""
    tfmot = _tfmot()
    init = tfmot.clustering.keras.CentroidInitialization.KMEANS_PLUS_PLUS

    def wrap(layer):
        if layer.kernel.shape.num_elements() <= clusters:
            return layer.__class__.from_config(layer.get_config())  # too small to cluster
        return tfmot.clustering.keras.cluster_weights(
            layer, number_of_clusters=int(clusters), cluster_centroids_init=init
        )

    wrapped = _wrap(model, wrap)
    _fit(wrapped, data, (), on_epoch)
    return tfmot.clustering.keras.strip_clustering(wrapped)


def qat(model, data: FineTune, on_epoch=None):
    """Quantization-aware training: Dense layers annotated, the rest kept in float."""
    tfmot = _tfmot()
    q = tfmot.quantization.keras
    annotated = _wrap(model, q.quantize_annotate_layer)
    with q.quantize_scope():
        aware = q.quantize_apply(annotated)
    _fit(aware, data, (), on_epoch)
    return aware


def dense_kernels(model) -> list[np.ndarray]:
    return [
        np.asarray(layer.get_weights()[0])
        for layer in model.layers
        if type(layer).__name__ == "Dense" and layer.get_weights()
    ]


def copy_back(network, stripped) -> Any:
    """A Keras 3 clone of `network` holding the stripped tf_keras weights."""
    import keras

    clone = keras.models.clone_model(network)
    clone.set_weights(stripped.get_weights())
    return clone
