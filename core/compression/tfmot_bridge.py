"""Pruning, clustering and QAT for Keras 3 networks through tf_keras (the weight bridge).

The Model Optimization toolkit only wraps tf_keras (Keras 2) layers. The same graph is rebuilt
with `tf_keras.layers` (layer by layer, following the functional graph, so branches such as a
forecaster's last-value skip come along), the Keras 3 weights are copied in by layer name
(outputs match exactly), the toolkit wraps and fine-tunes the layers it supports, and the
stripped weights are copied back into a Keras 3 clone. `tensorflow_model_optimization` is
imported here only, inside the worker: importing it sets TF_USE_LEGACY_KERAS=1 for the process.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from core.compression.preflight import WRAPS, graph_layers
from core.errors import BadInput


def _tfmot():
    import tensorflow_model_optimization as tfmot

    return tfmot


_CUSTOM: dict[str, Any] = {}


def _last_value_layer():
    """tf_keras twin of core.training.layers.LastValue (the forecasters' skip connection)."""
    if "LastValueTK" in _CUSTOM:
        return _CUSTOM["LastValueTK"]
    import tensorflow as tf
    import tf_keras

    from core.training.layers import LastValueConfig

    class LastValueTK(LastValueConfig, tf_keras.layers.Layer):
        def call(self, window):
            if self.season:
                picked = tf.gather(window, self.steps(int(window.shape[1])), axis=1)
                values = tf.gather(picked, self.indices, axis=-1)
                return values * tf.constant(self.std) + tf.constant(self.mean)
            last = tf.gather(window[:, -1, :], self.indices, axis=-1)
            last = last * tf.constant(self.std) + tf.constant(self.mean)
            return tf.repeat(tf.expand_dims(last, 1), self.horizon, axis=1)

    _CUSTOM["LastValueTK"] = LastValueTK
    return LastValueTK


def custom_objects() -> dict[str, Any]:
    return {"LastValueTK": _last_value_layer()}


def _value(v: Any) -> Any:
    """A config number or list; Keras 3 serializes numpy arrays as {"class_name": "__numpy__"}."""
    if isinstance(v, dict) and v.get("class_name") == "__numpy__":
        v = v["config"]["value"]
    if isinstance(v, (list, tuple)):
        return float(v[0]) if len(v) == 1 else [float(x) for x in v]
    return v


def _make(kind: str, cfg: dict[str, Any], name: str):
    """A tf_keras layer equal to a Keras 3 layer of class `kind` with config `cfg`."""
    import tf_keras

    L = tf_keras.layers
    act = cfg.get("activation")
    if kind == "Dense":
        return L.Dense(cfg["units"], activation=act, use_bias=cfg["use_bias"], name=name)
    if kind in ("Conv1D", "Conv2D"):
        return getattr(L, kind)(
            cfg["filters"],
            tuple(cfg["kernel_size"]),
            strides=tuple(cfg["strides"]),
            padding=cfg["padding"],
            dilation_rate=tuple(cfg["dilation_rate"]),
            activation=act,
            use_bias=cfg["use_bias"],
            name=name,
        )
    if kind in ("MaxPooling1D", "MaxPooling2D"):
        return getattr(L, kind)(
            tuple(cfg["pool_size"]), strides=cfg.get("strides"), padding=cfg["padding"], name=name
        )
    if kind in ("GlobalAveragePooling1D", "GlobalAveragePooling2D"):
        return getattr(L, kind)(keepdims=bool(cfg.get("keepdims", False)), name=name)
    if kind == "Dropout":
        return L.Dropout(cfg["rate"], name=name)
    if kind == "Rescaling":
        return L.Rescaling(_value(cfg["scale"]), offset=_value(cfg["offset"]), name=name)
    if kind == "Reshape":
        return L.Reshape(tuple(cfg["target_shape"]), name=name)
    if kind == "Flatten":
        return L.Flatten(name=name)
    if kind == "Add":
        return L.Add(name=name)
    if kind == "Embedding":
        return L.Embedding(cfg["input_dim"], cfg["output_dim"], name=name)
    if kind in ("LSTM", "GRU"):
        extra = {"reset_after": cfg.get("reset_after", True)} if kind == "GRU" else {}
        return getattr(L, kind)(
            cfg["units"],
            activation=cfg["activation"],
            recurrent_activation=cfg["recurrent_activation"],
            use_bias=cfg["use_bias"],
            return_sequences=cfg["return_sequences"],
            unroll=cfg.get("unroll", False),
            name=name,
            **extra,
        )
    if kind == "LastValue":
        keys = ("indices", "mean", "std", "horizon")
        season = int(cfg.get("season", 0))
        return _last_value_layer()(**{k: cfg[k] for k in keys}, season=season, name=name)
    raise BadInput(f"the weight bridge cannot rebuild layer {name!r} ({kind})")


def rebuild_tf_keras(network):
    """The Keras 3 functional network as a tf_keras model with the same weights."""
    import tf_keras

    config = network.get_config()
    tensors: dict[str, Any] = {}
    inputs = []
    for layer in graph_layers(config):
        kind, cfg, name = layer["class_name"], layer["config"], layer["name"]
        if kind == "InputLayer":
            shape = tuple(cfg.get("batch_shape") or cfg.get("batch_input_shape"))[1:]
            tensors[name] = tf_keras.Input(shape=shape, dtype=cfg.get("dtype"), name=name)
            inputs.append(tensors[name])
            continue
        args = [tensors[n] for n in layer["inbound"]]
        tensors[name] = _make(kind, cfg, name)(args[0] if len(args) == 1 else args)
    outputs = [tensors[o[0]] for o in _output_names(config)]
    if not inputs:
        raise BadInput("the network has no input layer")
    rebuilt = tf_keras.Model(
        inputs if len(inputs) > 1 else inputs[0],
        outputs if len(outputs) > 1 else outputs[0],
        name=f"{network.name}_tf_keras",
    )
    for layer in network.layers:
        weights = layer.get_weights()
        if weights:
            rebuilt.get_layer(layer.name).set_weights(weights)
    return rebuilt


def _output_names(config: dict[str, Any]) -> list[list]:
    outs = config.get("output_layers") or []
    if outs and not isinstance(outs[0], (list, tuple)):
        outs = [outs]
    return [list(o) for o in outs]


def _wrap(model, method: str, wrapper):
    """Clone `model`, applying `wrapper` to the layers `method` wraps (WRAPS in preflight)."""
    import tf_keras

    wanted = WRAPS[method]

    def clone(layer):
        kind = type(layer).__name__
        if kind in wanted:
            return wrapper(layer)
        return layer.__class__.from_config(layer.get_config())

    with tf_keras.utils.custom_object_scope(custom_objects()):
        return tf_keras.models.clone_model(model, clone_function=clone)


@dataclass
class FineTune:
    x: np.ndarray  # preprocessed training features (the network's input)
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


def _schedule(tfmot, sparsity: float, schedule: str, steps: int):
    if schedule == "constant":
        return tfmot.sparsity.keras.ConstantSparsity(float(sparsity), begin_step=0, frequency=1)
    if schedule != "polynomial":
        raise BadInput(f"unknown pruning schedule {schedule!r}: polynomial or constant")
    return tfmot.sparsity.keras.PolynomialDecay(
        initial_sparsity=0.0,
        final_sparsity=float(sparsity),
        begin_step=0,
        end_step=max(1, int(steps * 2 / 3)),
        frequency=1,
    )


def prune(model, sparsity: float, data: FineTune, on_epoch=None, schedule: str = "polynomial"):
    """Magnitude pruning to `sparsity` (polynomial decay over the first 2/3 of fine-tuning, or
    constant from the first step), fine-tuned, then stripped."""
    tfmot = _tfmot()
    steps = max(1, int(np.ceil(len(data.x) / data.batch_size))) * data.epochs
    sched = _schedule(tfmot, sparsity, schedule, steps)
    wrapped = _wrap(
        model, "prune", lambda layer: tfmot.sparsity.keras.prune_low_magnitude(layer, sched)
    )
    _fit(wrapped, data, [tfmot.sparsity.keras.UpdatePruningStep()], on_epoch)
    return tfmot.sparsity.keras.strip_pruning(wrapped)


CENTROIDS = {
    "kmeans++": "KMEANS_PLUS_PLUS",
    "linear": "LINEAR",
    "density": "DENSITY_BASED",
    "random": "RANDOM",
}


def cluster(model, clusters: int, data: FineTune, on_epoch=None, centroids: str = "kmeans++"):
    """Weight clustering with the chosen centroid initialisation, fine-tuned, then stripped."""
    tfmot = _tfmot()
    if centroids not in CENTROIDS:
        raise BadInput(f"unknown centroid initialisation {centroids!r}: {', '.join(CENTROIDS)}")
    init = getattr(tfmot.clustering.keras.CentroidInitialization, CENTROIDS[centroids])

    def wrap(layer):
        if sum(int(np.prod(w.shape)) for w in layer.trainable_weights[:1]) <= clusters:
            return layer.__class__.from_config(layer.get_config())  # too small to cluster
        return tfmot.clustering.keras.cluster_weights(
            layer, number_of_clusters=int(clusters), cluster_centroids_init=init
        )

    wrapped = _wrap(model, "cluster", wrap)
    _fit(wrapped, data, (), on_epoch)
    return tfmot.clustering.keras.strip_clustering(wrapped)


def qat(model, data: FineTune, on_epoch=None, scheme=None):
    """Quantization-aware training: supported layers annotated, the rest kept in float.

    `scheme`: None (default 8-bit), `prune` (sparsity-preserving) or `cluster`
    (cluster-preserving), from tfmot's quantization.keras.collab_opts.
    """
    tfmot = _tfmot()
    q = tfmot.quantization.keras
    annotated = _wrap(model, "qat", q.quantize_annotate_layer)
    args = []
    if scheme == "prune":
        from tensorflow_model_optimization.python.core.quantization.keras.collab_opts.prune_preserve import (  # noqa: E501
            default_8bit_prune_preserve_quantize_scheme as pqat,
        )

        args = [pqat.Default8BitPrunePreserveQuantizeScheme()]
    elif scheme == "cluster":
        from tensorflow_model_optimization.python.core.quantization.keras.collab_opts.cluster_preserve import (  # noqa: E501
            default_8bit_cluster_preserve_quantize_scheme as cqat,
        )

        args = [cqat.Default8BitClusterPreserveQuantizeScheme(preserve_sparsity=False)]
    with q.quantize_scope(custom_objects()):
        aware = q.quantize_apply(annotated, *args)
    _fit(aware, data, (), on_epoch)
    return aware


def kernels(model) -> list[np.ndarray]:
    """The main weight (kernel, embeddings) of every layer the toolkit prunes or clusters."""
    out = []
    for layer in model.layers:
        if type(layer).__name__ in WRAPS["prune"] and layer.get_weights():
            out.append(np.asarray(layer.get_weights()[0]))
    return out


def dense_kernels(model) -> list[np.ndarray]:  # the name older callers use
    return kernels(model)


def qat_kernels(aware) -> list[np.ndarray]:
    """The float kernels inside a QAT model (sparsity and distinct values after QAT)."""
    out = []
    for w in aware.weights:
        name = w.name.split("/")[-1].split(":")[0]
        if name in ("kernel", "embeddings", "depthwise_kernel"):
            out.append(np.asarray(w.numpy()))
    return out


def copy_back(network, stripped) -> Any:
    """A Keras 3 clone of `network` holding the stripped tf_keras weights (by layer name)."""
    import keras

    clone = keras.models.clone_model(network)
    for layer in clone.layers:
        if layer.get_weights():
            layer.set_weights(stripped.get_layer(layer.name).get_weights())
    return clone
