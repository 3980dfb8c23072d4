"""The training job: data -> preprocessing model + network -> end-to-end model, evaluated.

`run_train_job(spec, reporter, run_dir)` is the only entry point; the worker, the CLI (through the
worker) and notebooks call it alike. TensorFlow is imported here, never in the UI process. A task
family (tabular, images, text, forecasting) turns the data into pipelines and a preprocessing
model; everything after that is the same for every task.
"""

from __future__ import annotations

import importlib
import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from core.data.resolve import load_data
from core.errors import BadInput, JobCanceled
from core.runs.reporter import Reporter, raise_if_canceled
from core.specs import OPTIMIZERS, SCHEDULES, TrainSpec
from core.training.precheck import INPUT_KIND, plan

FAMILY = {"table": "tabular", "image": "images", "text": "text", "sequence": "forecasting"}


def _progress_callback(reporter: Reporter, epochs: int):
    import keras

    class ReportProgress(keras.callbacks.Callback):
        """Per-epoch metrics and progress to the reporter; cooperative cancel between epochs."""

        canceled = False

        def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
            values = {k: float(v) for k, v in (logs or {}).items() if np.isscalar(v)}
            reporter.metrics(epoch + 1, values)
            summary = " · ".join(f"{k} {v:.4g}" for k, v in values.items() if k.startswith("val_"))
            reporter.progress(
                "training", epoch + 1, epochs, f"epoch {epoch + 1}/{epochs} · {summary}"
            )
            if not all(math.isfinite(v) for v in values.values()):
                self.model.stop_training = True
            if reporter.should_stop():
                self.canceled = True
                self.model.stop_training = True

    return ReportProgress()


def _loss(prepared) -> tuple[str, list[str]]:
    if prepared.is_classification:
        return "sparse_categorical_crossentropy", ["accuracy"]
    return "mse", ["mae"]


def _build_network(spec, prepared, model_name: str, task: str):
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


def _last_good_checkpoint(path: Path):
    """Save the weights after every epoch whose losses are finite, so a NaN later in the run
    leaves the last good weights behind (Keras' ModelCheckpoint would save the NaN ones too)."""
    import keras

    class LastGoodCheckpoint(keras.callbacks.Callback):
        def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
            values = [float(v) for v in (logs or {}).values() if np.isscalar(v)]
            if values and all(math.isfinite(v) for v in values):
                self.model.save_weights(path)

    return LastGoodCheckpoint()


def _fit(network, prepared, spec, reporter, run_dir: Path, epochs: int, initial_epoch: int = 0):
    """One `fit` with progress, cancel, TensorBoard, a last-good checkpoint and early stopping."""
    import keras

    total = spec.epochs + (spec.fine_tune_epochs if spec.fine_tune_layers else 0)
    progress = _progress_callback(reporter, total)
    callbacks = [
        progress,
        keras.callbacks.TensorBoard(log_dir=str(run_dir / "tensorboard")),
        _last_good_checkpoint(run_dir / "checkpoint.weights.h5"),
        keras.callbacks.TerminateOnNaN(),
    ]
    if spec.early_stopping > 0:
        callbacks.append(
            keras.callbacks.EarlyStopping(
                monitor="val_loss", patience=spec.early_stopping, restore_best_weights=True
            )
        )
    history = network.fit(
        prepared.train,
        validation_data=prepared.validation,
        epochs=initial_epoch + epochs,
        initial_epoch=initial_epoch,
        verbose=2,
        callbacks=callbacks,
        class_weight=class_weight_for(spec, prepared, reporter) if initial_epoch == 0 else None,
    )
    if progress.canceled:
        raise JobCanceled("canceled by the user")
    hist = {k: [float(v) for v in vals] for k, vals in history.history.items()}
    if not all(math.isfinite(v) for vals in hist.values() for v in vals):
        kept = (run_dir / "checkpoint.weights.h5").exists()
        if kept:
            reporter.artifact("checkpoint.weights.h5", run_dir / "checkpoint.weights.h5")
        raise BadInput(
            "the loss became NaN or infinite, so training stopped: lower the learning rate, or "
            "check the data for extreme values"
            + ("; the last good weights are kept as checkpoint.weights.h5" if kept else "")
        )
    if len(history.epoch) < epochs:
        reporter.event(
            f"early stopping after epoch {initial_epoch + len(history.epoch)}: kept "
            "the weights with the best validation loss"
        )
    return hist


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


def _fine_tune(network, spec, learning_rate: float, reporter, loss, metrics) -> bool:
    """Unfreeze the backbone's top layers (BatchNormalization stays frozen) and recompile."""
    import keras

    name = getattr(network, "backbone_name", None)
    backbone = next((layer for layer in network.layers if layer.name == name), None)
    if backbone is None or not getattr(backbone, "layers", None):
        reporter.event("this backbone cannot be fine-tuned layer by layer; kept frozen", "warning")
        return False
    backbone.trainable = True
    for layer in backbone.layers[: -spec.fine_tune_layers]:
        layer.trainable = False
    for layer in backbone.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.trainable = False
    network.compile(keras.optimizers.Adam(learning_rate / 10), loss=loss, metrics=metrics)
    reporter.event(
        f"fine-tuning the top {spec.fine_tune_layers} backbone layers at learning "
        f"rate {learning_rate / 10:g}"
    )
    return True


def run_train_job(spec: TrainSpec, reporter: Reporter, run_dir: Path) -> dict[str, Any]:
    from core.training.distribute import make_strategy, start_local_workers, task_index

    run_dir.mkdir(parents=True, exist_ok=True)
    workers: list = []
    if spec.strategy == "multiworker" and "TF_CONFIG" not in os.environ:
        # This process is the chief: it starts the other workers on this machine.
        from core.training.distribute import free_ports, tf_config

        ports = free_ports(spec.workers)
        os.environ["TF_CONFIG"] = tf_config(ports, 0)
        workers = start_local_workers(json.dumps(spec.to_dict()), run_dir, ports)
        reporter.event(f"started {len(workers)} local worker process(es) for MultiWorkerMirrored")
    try:
        strategy = make_strategy(spec.strategy, spec.workers)
        return _train(spec, reporter, run_dir, strategy, chief=task_index() == 0)
    except BaseException:
        for proc in workers:  # a failed or canceled chief leaves no worker waiting on it
            proc.kill()
        raise
    finally:
        for proc in workers:
            try:
                proc.wait(timeout=60)
            except Exception:
                proc.kill()


def _train(spec: TrainSpec, reporter: Reporter, run_dir: Path, strategy, chief: bool):
    import keras

    from core.export.convert import parity, tflite_predict, to_tflite
    from core.models.backbones import describe
    from core.models.catalog import is_transfer
    from core.training.evaluation import evaluate
    from core.training.families.common import save_test_inputs

    reporter.progress("loading data", 0, 1, f"reading {spec.data}")
    loaded = load_data(spec.data)
    task, model_name = plan(spec, loaded)
    reporter.event(
        f"task {task}, model {model_name}, data {loaded.label} "
        f"(sha256 {loaded.lineage.get('sha256', '')[:12]}), strategy {spec.strategy} "
        f"({strategy.num_replicas_in_sync} replica(s))"
    )
    keras.utils.set_random_seed(spec.seed)
    family = importlib.import_module(f"core.training.families.{FAMILY[INPUT_KIND[task]]}")
    spec_for_family = spec if spec.task == task else _with_task(spec, task)
    prepared = family.prepare(spec_for_family, loaded, run_dir, reporter)
    for w in prepared.warnings:
        reporter.event(w, "warning")
    reporter.event(", ".join(f"{k} {v}" for k, v in prepared.rows.items()) + " examples")
    prepared.contract.save(run_dir / "features.json")
    reporter.artifact("features.json", run_dir / "features.json")
    raise_if_canceled(reporter)

    learning_rate = learning_rate_for(spec, model_name)
    if spec.fit_on_validation:
        prepared = _with_validation_in_training(prepared, reporter)
    if spec.mixed_precision:
        import tensorflow as tf

        if tf.config.list_physical_devices("GPU"):
            keras.mixed_precision.set_global_policy("mixed_float16")
            reporter.event("mixed precision: float16 compute, float32 weights")
        else:
            reporter.event("mixed precision needs a GPU; training in float32 on the CPU", "warning")
    loss, metrics = _loss(prepared)
    with strategy.scope():  # the one line that changes between strategies
        network = _build_network(spec, prepared, model_name, task)
        if spec.warm_start:
            _warm_start(network, spec.warm_start, run_dir, reporter)
        optimizer = make_optimizer(spec, learning_rate, prepared.train, spec.epochs)
        network.compile(optimizer, loss=loss, metrics=metrics)
        reporter.progress("training", 0, spec.epochs, "starting")
        if spec.strategy == "multiworker":
            from core.training.custom_loop import fit_distributed

            hist = fit_distributed(network, prepared, strategy, optimizer, spec.epochs, reporter)
        else:
            hist = _fit(network, prepared, spec, reporter, run_dir, spec.epochs)
        if spec.fine_tune_layers > 0 and spec.fine_tune_epochs > 0:
            if _fine_tune(network, spec, learning_rate, reporter, loss, metrics):
                more = _fit(
                    network,
                    prepared,
                    spec,
                    reporter,
                    run_dir,
                    spec.fine_tune_epochs,
                    initial_epoch=len(hist["loss"]),
                )
                hist = {k: hist.get(k, []) + more.get(k, []) for k in hist}
    if not chief:
        return {}  # only the chief evaluates and saves
    if strategy.num_replicas_in_sync > 1 or spec.strategy != "default":
        # Copy the trained weights into a plain (undistributed) model for evaluation and saving.
        trained = network.get_weights()
        network = _build_network(spec, prepared, model_name, task)
        network.set_weights(trained)
    (run_dir / "history.json").write_text(json.dumps(hist))

    reporter.progress("evaluating", 0, 1, "evaluating on the held-out test split")
    preprocess = prepared.preprocess
    inputs = preprocess.input
    end_to_end = keras.Model(inputs, network(preprocess(inputs)), name="end_to_end")
    test_inputs = _to_tensors(prepared.test_inputs)
    predictions = np.asarray(end_to_end.predict(test_inputs, verbose=0))
    evaluation = evaluate(prepared, predictions)
    (run_dir / "evaluation.json").write_text(json.dumps(evaluation, indent=2))
    sample = _head(prepared.test_inputs, 64)
    save_test_inputs(run_dir / "test_inputs.npz", sample)
    reporter.artifact("test_inputs.npz", run_dir / "test_inputs.npz")

    lines: list[str] = []
    network.summary(print_fn=lambda line, *args, **kwargs: lines.append(line))
    (run_dir / "model_summary.txt").write_text("\n".join(lines))
    reporter.artifact("model_summary.txt", run_dir / "model_summary.txt")
    reporter.progress("saving", 0, 3, "saving Keras models")
    for name, model in (
        ("model.keras", end_to_end),
        ("preprocessing.keras", preprocess),
        ("network.keras", network),
    ):
        model.save(run_dir / name)
        reporter.artifact(name, run_dir / name)
    reporter.progress("saving", 1, 3, "converting to TFLite")
    tflite_path, ops = to_tflite(end_to_end, run_dir / "model.tflite")
    expected = predictions[
        : len(next(iter(sample.values())) if isinstance(sample, dict) else sample)
    ]
    tflite_check = {
        **parity(expected, tflite_predict(tflite_path, sample), prepared.task),
        "ops": ops,
    }
    reporter.artifact("model.tflite", tflite_path)
    for name in ("history.json", "evaluation.json"):
        reporter.artifact(name, run_dir / name)
    reporter.progress("done", 3, 3, "finished")

    return {
        "task": task,
        "model": model_name,
        "target": prepared.contract.target,
        "data": loaded.lineage,
        "rows": prepared.rows,
        "classes": prepared.contract.classes,
        "metrics": {k: v[-1] for k, v in hist.items() if k.startswith("val_")},
        "test_metrics": evaluation["metrics"],
        "tflite_parity": tflite_check,
        "warnings": prepared.warnings,
        "parameters": int(network.count_params()),
        "model_bytes": int((run_dir / "model.keras").stat().st_size),
        "strategy": {"name": spec.strategy, "replicas": int(strategy.num_replicas_in_sync)},
        **(
            {"backbone_weights": describe(model_name, spec.weights, spec.image_size).weights}
            if is_transfer(model_name)
            else {}
        ),
    }


def _with_validation_in_training(prepared, reporter):
    """Train on train + validation (a promoted trial's final fit); validation stays reported."""
    import dataclasses

    reporter.event(
        "training on the training and validation splits together: validation curves are "
        "optimistic, judge the model on the test split"
    )
    # Class weights (when asked for) stay those of the training split: nearly the same shares.
    return dataclasses.replace(prepared, train=prepared.train.concatenate(prepared.validation))


def _warm_start(network, run_id: str, run_dir: Path, reporter) -> None:
    """Start from another run's network weights when the architecture matches."""
    from core.models.io import load_run_model

    source = run_dir.parent / run_id
    try:
        previous = load_run_model(source, "network.keras")
        network.set_weights(previous.get_weights())
    except Exception as exc:  # a changed architecture or vocabulary: train from scratch
        reporter.event(
            f"warm start from run {run_id} not possible ({type(exc).__name__}: "
            f"{str(exc)[:200]}); training from fresh weights",
            "warning",
        )
        return
    reporter.event(f"warm start: network weights from run {run_id}")


def _with_task(spec: TrainSpec, task: str) -> TrainSpec:
    import dataclasses

    return dataclasses.replace(spec, task=task)


def _head(inputs, n: int):
    if isinstance(inputs, dict):
        return {k: v[:n] for k, v in inputs.items()}
    return inputs[:n]


def _to_tensors(inputs):
    """Keras 3 refuses numpy string arrays: strings go in as tf.constant."""
    import tensorflow as tf

    def one(v):
        return tf.constant(v.astype(str)) if v.dtype.kind in "OUS" else tf.constant(v)

    return {k: one(v) for k, v in inputs.items()} if isinstance(inputs, dict) else one(inputs)
