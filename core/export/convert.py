"""Conversions of a Keras 3 model, and parity checks with each format's own runtime."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np


def to_savedmodel(model, out_dir: str | Path) -> Path:
    """SavedModel with a `serving_default` signature over the model's named raw inputs."""
    out = Path(out_dir)
    if out.exists():
        shutil.rmtree(out)
    model.export(str(out), format="tf_saved_model", verbose=False)
    return out


def to_tflite(model, out_path: str | Path) -> Path:
    """TFLite flatbuffer via a SavedModel (`from_keras_model` fails on dict-input models)."""
    import tensorflow as tf

    out = Path(out_path)
    with tempfile.TemporaryDirectory() as tmp:
        saved = to_savedmodel(model, Path(tmp) / "saved")
        converter = tf.lite.TFLiteConverter.from_saved_model(str(saved))
        flatbuffer = converter.convert()
    tmp_out = out.with_suffix(".tflite.tmp")
    tmp_out.write_bytes(flatbuffer)
    tmp_out.replace(out)
    return out


def tflite_predict(path: str | Path, arrays: dict[str, np.ndarray]) -> np.ndarray:
    """Run a TFLite model with the LiteRT interpreter on named inputs (numpy, shape (n, 1))."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(path))
    runner = interpreter.get_signature_runner()
    feed = {k: (v.astype(bytes) if v.dtype == object else v) for k, v in arrays.items()}
    out = runner(**feed)
    return np.asarray(next(iter(out.values())))


def savedmodel_predict(path: str | Path, inputs: dict[str, Any]) -> np.ndarray:
    import tensorflow as tf

    loaded = tf.saved_model.load(str(path))
    fn = loaded.signatures["serving_default"]
    out = fn(**inputs)
    return np.asarray(next(iter(out.values())))


def parity(expected: np.ndarray, got: np.ndarray, task: str) -> dict[str, float]:
    """Max absolute difference, and for classifiers the share of rows with the same class."""
    expected, got = np.asarray(expected, "float64"), np.asarray(got, "float64")
    report = {"max_abs_diff": float(np.max(np.abs(expected - got))), "rows": int(len(expected))}
    if task == "classification":
        report["agreement"] = float(np.mean(expected.argmax(-1) == got.argmax(-1)))
    return report
