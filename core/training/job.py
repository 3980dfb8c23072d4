"""The training job: a CSV table -> preprocessing model + network -> end-to-end model, evaluated.

`run_train_job(spec, reporter, run_dir)` is the only entry point; the worker, the CLI (through the
worker) and notebooks call it alike. TensorFlow is imported here, never in the UI process.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core.data.samples import resolve_data_path
from core.data.tabular import TableInfo, class_labels, load_table
from core.errors import BadInput, JobCanceled
from core.models.catalog import check_fits
from core.runs.reporter import Reporter, raise_if_canceled
from core.specs import TrainSpec
from core.training.evaluation import evaluate
from core.training.features import (
    FeatureSpec,
    ModelContract,
    raw_arrays,
    safe_input_names,
    to_inputs,
)
from core.training.split import split_rows
from core.workspace import Workspace


def _contract(info: TableInfo) -> ModelContract:
    names = safe_input_names(info.features)
    feats = [FeatureSpec(c, names[c], "float32") for c in info.numeric]
    feats += [FeatureSpec(c, names[c], "string") for c in info.categorical]
    return ModelContract(info.task, info.target, feats, info.classes)


def _targets(frame: pd.DataFrame, contract: ModelContract) -> np.ndarray:
    y = frame[contract.target]
    if contract.task == "classification":
        index = {c: i for i, c in enumerate(contract.classes)}
        return class_labels(y).map(index).to_numpy("int32")
    return y.to_numpy("float32")


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


def run_train_job(spec: TrainSpec, reporter: Reporter, run_dir: Path) -> dict[str, Any]:
    import keras

    from core.export.convert import parity, tflite_predict, to_tflite
    from core.models.builders import build_mlp
    from core.training.preprocessing import build_preprocessing_model

    run_dir.mkdir(parents=True, exist_ok=True)
    reporter.progress("loading data", 0, 1, f"reading {spec.data}")
    path = resolve_data_path(spec.data, Workspace.resolve().samples_dir)
    info = load_table(path, spec.target, spec.task, spec.coerce_numeric)
    for w in info.warnings:
        reporter.event(w, "warning")
    check_fits(spec.model, info.task, "table")
    contract = _contract(info)
    contract.save(run_dir / "features.json")
    reporter.artifact("features.json", run_dir / "features.json")

    stratify = class_labels(info.frame[info.target]) if info.task == "classification" else None
    parts = split_rows(
        info.frame, spec.validation_fraction, spec.test_fraction, spec.seed, stratify
    )
    reporter.event(
        f"split {len(info.frame)} rows: train {len(parts['train'])}, "
        f"validation {len(parts['validation'])}, test {len(parts['test'])}"
    )
    raise_if_canceled(reporter)

    keras.utils.set_random_seed(spec.seed)
    reporter.progress("preprocessing", 0, 1, "adapting preprocessing layers on the training split")
    preprocess = build_preprocessing_model(parts["train"], contract.features)
    encode = lambda part: preprocess.predict(to_inputs(part, contract.features), verbose=0)  # noqa: E731
    x_train, x_val = encode(parts["train"]), encode(parts["validation"])
    y_train, y_val = _targets(parts["train"], contract), _targets(parts["validation"], contract)

    hp = {"hidden_units": spec.hidden_units, "dropout": spec.dropout}
    network = build_mlp(hp, x_train.shape[1], info.task, len(info.classes))
    if info.task == "regression":
        # Predict in target units while the dense layers work near unit scale.
        mean, std = float(y_train.mean()), float(y_train.std() or 1.0)
        out = keras.layers.Rescaling(std, offset=mean, name="to_target_units")(network.output)
        network = keras.Model(network.input, out, name="mlp")
        loss, metrics = "mse", ["mae"]
    else:
        loss, metrics = "sparse_categorical_crossentropy", ["accuracy"]
    network.compile(keras.optimizers.Adam(spec.learning_rate), loss=loss, metrics=metrics)

    import tensorflow as tf

    autotune = tf.data.AUTOTUNE
    train_ds = (
        tf.data.Dataset.from_tensor_slices((x_train, y_train))
        .cache()
        .shuffle(len(x_train), seed=spec.seed, reshuffle_each_iteration=True)
        .batch(spec.batch_size)
        .prefetch(autotune)
    )
    val_ds = (
        tf.data.Dataset.from_tensor_slices((x_val, y_val)).batch(256).cache().prefetch(autotune)
    )

    reporter.progress("training", 0, spec.epochs, "starting")
    progress = _progress_callback(reporter, spec.epochs)
    history = network.fit(
        train_ds, validation_data=val_ds, epochs=spec.epochs, verbose=2, callbacks=[progress]
    )
    if progress.canceled:
        raise JobCanceled("canceled by the user")
    hist = {k: [float(v) for v in vals] for k, vals in history.history.items()}
    if not all(math.isfinite(v) for vals in hist.values() for v in vals):
        raise BadInput(
            "the loss became NaN or infinite: lower the learning rate, or check the data for "
            "extreme values"
        )
    (run_dir / "history.json").write_text(json.dumps(hist))

    reporter.progress("evaluating", 0, 1, "evaluating on the held-out test split")
    inputs = preprocess.input  # the dict of named raw inputs, as built
    end_to_end = keras.Model(inputs, network(preprocess(inputs)), name="end_to_end")
    parts["test"].head(64).to_csv(run_dir / "test_sample.csv", index=False)
    reporter.artifact("test_sample.csv", run_dir / "test_sample.csv")
    test_inputs = to_inputs(parts["test"], contract.features)
    predictions = end_to_end.predict(test_inputs, verbose=0)
    evaluation = evaluate(contract, _targets(parts["test"], contract), predictions)
    (run_dir / "evaluation.json").write_text(json.dumps(evaluation, indent=2))

    reporter.progress("saving", 0, 3, "saving Keras models")
    for name, model in (
        ("model.keras", end_to_end),
        ("preprocessing.keras", preprocess),
        ("network.keras", network),
    ):
        model.save(run_dir / name)
        reporter.artifact(name, run_dir / name)
    reporter.progress("saving", 1, 3, "converting to TFLite")
    tflite_path = to_tflite(end_to_end, run_dir / "model.tflite")
    tflite_check = parity(
        predictions,
        tflite_predict(tflite_path, raw_arrays(parts["test"], contract.features)),
        info.task,
    )
    reporter.artifact("model.tflite", tflite_path)
    for name in ("history.json", "evaluation.json"):
        reporter.artifact(name, run_dir / name)
    reporter.progress("done", 3, 3, "finished")

    final = {k: v[-1] for k, v in hist.items() if k.startswith("val_")}
    return {
        "task": info.task,
        "target": info.target,
        "rows": {k: len(v) for k, v in parts.items()},
        "classes": info.classes,
        "metrics": final,
        "test_metrics": evaluation["metrics"],
        "tflite_parity": tflite_check,
        "warnings": info.warnings,
        "parameters": int(network.count_params()),
    }
