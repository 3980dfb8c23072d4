"""Conversions of a Keras 3 model, and parity checks with each format's own runtime."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from core.util import utf8_bytes


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


FLEX_GONE = (
    "it needs Select TF ops (the Flex delegate), which no Python TFLite runtime has run since "
    "TensorFlow 2.20: neither ai-edge-litert nor tf.lite ships the delegate (LiteRT issue 6458)"
)


class NeedsFlex(RuntimeError):
    """A .tflite with Select TF ops: it runs where the Flex delegate is linked (Android's
    tensorflow-lite-select-tf-ops), not in this Python (docs/stack.md)."""


def load_interpreter(source: str | Path | bytes, allocate: bool = True):
    """LiteRT's interpreter for a .tflite path or its bytes (allocated unless told not to);
    NeedsFlex for a model with Select TF ops."""
    from ai_edge_litert.interpreter import Interpreter

    kwargs = {"model_content": source} if isinstance(source, bytes) else {"model_path": str(source)}
    refusal = f"this TFLite model cannot be run here: {FLEX_GONE}"
    try:
        interpreter = Interpreter(**kwargs)
    except RuntimeError as exc:
        if "Select TensorFlow op" in str(exc) or "Flex" in str(exc):
            raise NeedsFlex(refusal) from exc
        raise
    if allocate:
        # LiteRT allocates a model with Flex ops and fails only when it is invoked
        if any(op["op_name"].startswith("Flex") for op in interpreter._get_ops_details()):
            raise NeedsFlex(refusal)
        interpreter.allocate_tensors()
    return interpreter


def network_parity(network, preprocess, raw_inputs, expected, task: str) -> dict[str, Any]:
    """Check what can be run when the end-to-end .tflite needs Flex: the network alone,
    converted to builtin ops and run on LiteRT, fed by the Keras preprocessing (the same
    TensorFlow kernels the Flex delegate would run)."""
    from core.training.build import to_tensors

    features = preprocess.predict(to_tensors(raw_inputs), verbose=0)
    with tempfile.TemporaryDirectory() as tmp:
        path, ops = to_tflite(network, Path(tmp) / "network.tflite")
        got = tflite_predict(path, features)
    return {
        **parity(expected, np.asarray(got).reshape(np.shape(expected)), task),
        "checked": "network",
        "network_ops": ops,
        "note": f"the end-to-end file was not run: {FLEX_GONE}; the network alone was checked "
        "on LiteRT after the Keras preprocessing",
    }


def tflite_predict(
    path: str | Path | bytes, inputs: dict[str, np.ndarray] | np.ndarray
) -> np.ndarray:
    """Run a TFLite model (a path or its bytes) on named inputs (or the one input)."""
    runner = load_interpreter(path).get_signature_runner()
    if not isinstance(inputs, dict):
        inputs = {next(iter(runner.get_input_details())): inputs}
    feed = {k: (utf8_bytes(v) if v.dtype.kind in "OU" else v) for k, v in inputs.items()}
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
