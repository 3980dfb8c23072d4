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
    inference_only(model).export(str(out), format="tf_saved_model", verbose=False)
    return out


def inference_only(model):
    """The model called with `training=False`, recorded in its graph.

    `model.export` calls the model without a training flag; a model loaded from `.keras` whose
    nested sub-model holds Dropout then exports with Dropout active (random predictions, and
    TFLite needs Flex ops for the random ones). Wrapping the call pins inference mode.
    """
    import keras

    try:
        return keras.Model(model.input, model(model.input, training=False), name=model.name)
    except Exception:  # noqa: BLE001  (a subclassed model without symbolic inputs: as it is)
        return model


def to_tflite(model, out_path: str | Path) -> tuple[Path, str]:
    """TFLite flatbuffer via a SavedModel (`from_keras_model` fails on dict-input models).

    Returns the path and the op set used: `builtin`, or `builtin+select-tf` when the model needs
    TensorFlow ops that TFLite lacks (text vectorisation, some recurrent layers); such a model
    needs the Flex delegate where it runs.
    """
    with tempfile.TemporaryDirectory() as tmp:
        return savedmodel_to_tflite(to_savedmodel(model, Path(tmp) / "saved"), out_path)


def savedmodel_to_tflite(saved: str | Path, out_path: str | Path) -> tuple[Path, str]:
    """`to_tflite` from a SavedModel already written (an export job writes one, once)."""
    import tensorflow as tf

    out = Path(out_path)
    try:
        flatbuffer, ops = (
            tf.lite.TFLiteConverter.from_saved_model(str(saved)).convert(),
            "builtin",
        )
    except Exception:  # the converter raises ConverterError and friends; retry with TF ops
        converter = tf.lite.TFLiteConverter.from_saved_model(str(saved))
        converter.target_spec.supported_ops = [
            tf.lite.OpsSet.TFLITE_BUILTINS,
            tf.lite.OpsSet.SELECT_TF_OPS,
        ]
        converter._experimental_lower_tensor_list_ops = False
        flatbuffer, ops = converter.convert(), "builtin+select-tf"
    tmp_out = out.with_suffix(".tflite.tmp")
    tmp_out.write_bytes(flatbuffer)
    tmp_out.replace(out)
    return out, ops


def flex_interpreter(no_default_delegates: bool = False, **kwargs):
    """TensorFlow's own TFLite interpreter, for Select TF (Flex) models only.

    ai-edge-litert 2.3.0 ships no Flex delegate (it refuses such models: "Select TensorFlow
    op(s) ... are not supported by this interpreter"), while TensorFlow's build links it in, as
    Android's tensorflow-lite-select-tf-ops does. Every builtin-only model runs on LiteRT.
    """
    import warnings

    import tensorflow as tf

    if no_default_delegates:  # the graph's own ops, not XNNPACK's DELEGATE nodes
        resolver = tf.lite.experimental.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
        kwargs["experimental_op_resolver_type"] = resolver
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tf.lite.Interpreter's deprecation notice
        return tf.lite.Interpreter(**kwargs)


def load_interpreter(source: str | Path | bytes):
    """An allocated interpreter for a .tflite path or its bytes: LiteRT's, else, for a model
    that needs Select TF ops, TensorFlow's (`flex_interpreter`)."""
    from ai_edge_litert.interpreter import Interpreter

    kwargs = {"model_content": source} if isinstance(source, bytes) else {"model_path": str(source)}
    try:
        interpreter = Interpreter(**kwargs)
        interpreter.allocate_tensors()
        return interpreter
    except RuntimeError:  # Select TF ops (LiteRT's own message names them)
        interpreter = flex_interpreter(**kwargs)
        interpreter.allocate_tensors()
        return interpreter


def tflite_predict(
    path: str | Path | bytes, inputs: dict[str, np.ndarray] | np.ndarray
) -> np.ndarray:
    """Run a TFLite model (a path or its bytes) on named inputs (or the one input)."""
    runner = load_interpreter(path).get_signature_runner()
    if not isinstance(inputs, dict):
        inputs = {next(iter(runner.get_input_details())): inputs}
    feed = {k: (v.astype(bytes) if v.dtype.kind in "OU" else v) for k, v in inputs.items()}
    out = runner(**feed)
    return np.asarray(next(iter(out.values())))


def savedmodel_predict(path: str | Path, inputs: dict[str, Any] | Any) -> np.ndarray:
    import tensorflow as tf

    fn = tf.saved_model.load(str(path)).signatures["serving_default"]
    if not isinstance(inputs, dict):
        inputs = {next(iter(fn.structured_input_signature[1])): inputs}
    out = fn(**inputs)
    return np.asarray(next(iter(out.values())))


def parity(expected: np.ndarray, got: np.ndarray, task: str) -> dict[str, float]:
    """Max absolute difference, and for classifiers the share of rows with the same class."""
    expected, got = np.asarray(expected, "float64"), np.asarray(got, "float64")
    report = {"max_abs_diff": float(np.max(np.abs(expected - got))), "rows": int(len(expected))}
    if task in ("classification", "image-classification", "text-classification"):
        report["agreement"] = float(np.mean(expected.argmax(-1) == got.argmax(-1)))
    return report
