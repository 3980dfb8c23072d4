"""A plain custom training loop for MultiWorkerMirroredStrategy.

Keras 3's `fit` fails under MultiWorkerMirroredStrategy (keras-team/keras#20585: "Attempt to
convert a value (PerReplica...)"), while `strategy.run` with a GradientTape works. So multiworker
runs train here: the same model, optimizer, data and epoch reports, and `fit` everywhere else.
ParameterServerStrategy needs a ClusterCoordinator, which `fit` does not drive either:
`fit_parameter_server` schedules the steps on the workers.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from core.errors import JobCanceled


def fit_distributed(network, prepared, strategy, optimizer, epochs: int, reporter) -> dict:
    import keras
    import tensorflow as tf

    classification = prepared.is_classification
    loss_fn = (
        keras.losses.SparseCategoricalCrossentropy(reduction="none")
        if classification
        else keras.losses.MeanSquaredError(reduction="none")
    )
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    train = strategy.experimental_distribute_dataset(prepared.train.with_options(options))
    val = strategy.experimental_distribute_dataset(prepared.validation.with_options(options))
    replicas = strategy.num_replicas_in_sync

    def per_example(y, p):
        loss = loss_fn(y, p)
        return tf.reduce_mean(tf.reshape(loss, [tf.shape(loss)[0], -1]), axis=1)

    def score(y, p):
        """Sum of correct predictions (classification) or of absolute errors (regression)."""
        if classification:
            hits = tf.equal(tf.cast(tf.argmax(p, -1), tf.int32), tf.cast(y, tf.int32))
            return tf.reduce_sum(tf.cast(hits, tf.float32))
        return tf.reduce_sum(
            tf.reduce_mean(
                tf.reshape(tf.abs(tf.cast(y, p.dtype) - p), [tf.shape(p)[0], -1]), axis=1
            )
        )

    def train_fn(x, y):
        with tf.GradientTape() as tape:
            p = network(x, training=True)
            losses = per_example(y, p)
            loss = tf.nn.compute_average_loss(
                losses, global_batch_size=tf.shape(losses)[0] * replicas
            )
        grads = tape.gradient(loss, network.trainable_variables)
        optimizer.apply_gradients(zip(grads, network.trainable_variables, strict=True))
        return tf.reduce_sum(losses), score(y, p), tf.cast(tf.shape(losses)[0], tf.float32)

    def val_fn(x, y):
        p = network(x, training=False)
        losses = per_example(y, p)
        return tf.reduce_sum(losses), score(y, p), tf.cast(tf.shape(losses)[0], tf.float32)

    @tf.function
    def train_step(batch):
        out = strategy.run(train_fn, args=batch)
        return [strategy.reduce(tf.distribute.ReduceOp.SUM, v, axis=None) for v in out]

    @tf.function
    def val_step(batch):
        out = strategy.run(val_fn, args=batch)
        return [strategy.reduce(tf.distribute.ReduceOp.SUM, v, axis=None) for v in out]

    metric = "accuracy" if classification else "mae"
    history: dict[str, list[float]] = {"loss": [], metric: [], "val_loss": [], f"val_{metric}": []}
    for epoch in range(epochs):
        for prefix, data, step in (("", train, train_step), ("val_", val, val_step)):
            total = [0.0, 0.0, 0.0]
            for batch in data:
                total = [a + float(b) for a, b in zip(total, step(batch), strict=True)]
            n = max(total[2], 1.0)
            history[f"{prefix}loss"].append(total[0] / n)
            history[f"{prefix}{metric}"].append(total[1] / n)
        if not report_epoch(history, epoch, epochs, reporter):
            break
    return history


def fit_parameter_server(network, prepared, strategy, optimizer, epochs: int, reporter) -> dict:
    """Asynchronous training under ParameterServerStrategy: the chief's ClusterCoordinator
    schedules steps on the workers, the variables live on the ps tasks. Keras 3's `fit` does not
    take this strategy, so the loop is explicit; validation runs on the chief after each epoch,
    with the same metrics and reports as `fit`."""
    import keras
    import tensorflow as tf

    classification = prepared.is_classification
    loss_fn = (
        keras.losses.SparseCategoricalCrossentropy()
        if classification
        else keras.losses.MeanSquaredError()
    )
    if not optimizer.built:  # its slots live on the ps: created here, not inside a step
        optimizer.build(network.trainable_variables)
    coordinator = tf.distribute.coordinator.ClusterCoordinator(strategy)
    steps = int(prepared.train.cardinality().numpy())
    steps = steps if steps > 0 else 100
    per_worker = coordinator.create_per_worker_dataset(prepared.train.repeat())
    iterator = iter(per_worker)

    def score(y, p):
        if classification:
            hits = tf.equal(tf.cast(tf.argmax(p, -1), tf.int32), tf.cast(y, tf.int32))
            return tf.reduce_sum(tf.cast(hits, tf.float32))
        err = tf.abs(tf.cast(y, p.dtype) - p)
        return tf.reduce_sum(tf.reduce_mean(tf.reshape(err, [tf.shape(p)[0], -1]), axis=1))

    @tf.function
    def train_step(it):
        def step(x, y):
            with tf.GradientTape() as tape:
                p = network(x, training=True)
                loss = loss_fn(y, p)
            grads = tape.gradient(loss, network.trainable_variables)
            optimizer.apply_gradients(zip(grads, network.trainable_variables, strict=True))
            n = tf.cast(tf.shape(p)[0], tf.float32)
            return loss * n, score(y, p), n

        x, y = next(it)
        return strategy.run(step, args=(x, y))

    metric = "accuracy" if classification else "mae"
    history: dict[str, list[float]] = {"loss": [], metric: [], "val_loss": [], f"val_{metric}": []}
    for epoch in range(epochs):
        results = [coordinator.schedule(train_step, args=(iterator,)) for _ in range(steps)]
        coordinator.join()
        totals = np.sum([[float(v) for v in r.fetch()] for r in results], axis=0)
        history["loss"].append(totals[0] / max(totals[2], 1.0))
        history[metric].append(totals[1] / max(totals[2], 1.0))
        val = np.zeros(3)
        for x, y in prepared.validation:  # on the chief, reading the variables from the ps
            p = network(x, training=False)
            n = float(tf.shape(p)[0])
            val += [float(loss_fn(y, p)) * n, float(score(y, p)), n]
        history["val_loss"].append(val[0] / max(val[2], 1.0))
        history[f"val_{metric}"].append(val[1] / max(val[2], 1.0))
        if not report_epoch(history, epoch, epochs, reporter):
            break
    return history


def report_epoch(history: dict[str, list[float]], epoch: int, epochs: int, reporter) -> bool:
    """Report an epoch's last values as `fit` would; False when a value is not finite (the loop
    stops, as TerminateOnNaN does). A cancel request raises JobCanceled."""
    values: dict[str, Any] = {k: v[-1] for k, v in history.items()}
    reporter.metrics(epoch + 1, values)
    reporter.progress(
        "training",
        epoch + 1,
        epochs,
        f"epoch {epoch + 1}/{epochs} · val_loss {values['val_loss']:.4g}",
    )
    if not all(math.isfinite(v) for v in values.values()):
        return False
    if reporter.should_stop():
        raise JobCanceled("canceled by the user")
    return True
