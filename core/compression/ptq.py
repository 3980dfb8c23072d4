"""Post-training quantization with the TFLite converter (runs inside the worker)."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from core.errors import BadInput
from core.util import utf8_bytes

REPRESENTATIVE_ROWS = 100


def representative(
    inputs: dict[str, np.ndarray] | np.ndarray, rows: int = REPRESENTATIVE_ROWS, seed: int = 0
) -> Callable[[], Iterator[dict[str, np.ndarray]]]:
    """One example at a time from (a sample of) the training rows, as the converter wants."""
    arrays = inputs if isinstance(inputs, dict) else {"features": inputs}
    n = len(next(iter(arrays.values())))
    if n == 0:
        raise BadInput("the representative dataset is empty: the training split has no rows")
    order = np.random.default_rng(seed).permutation(n)[:rows]

    def gen():
        for i in order:
            yield {k: _example(v[i : i + 1]) for k, v in arrays.items()}

    return gen


def _example(v: np.ndarray) -> np.ndarray:
    if v.dtype.kind in "OUS":
        return utf8_bytes(v)
    return v.astype("float32") if v.dtype.kind == "f" else v


def check_representative(gen, signature_inputs: dict[str, tuple]):
    """Refuse a representative dataset whose names or shapes do not fit the model.

    Returns the generator to use: a single unnamed input is renamed to the model's one input.
    """
    first = next(iter(gen()))
    if set(first) != set(signature_inputs) and len(first) == len(signature_inputs) == 1:
        (old,), (new,) = list(first), list(signature_inputs)
        original = gen

        def gen():
            for example in original():
                yield {new: example[old]}

        first = {new: first[old]}
    if set(first) != set(signature_inputs):
        raise BadInput(
            f"the representative dataset has inputs {sorted(first)}, the model wants "
            f"{sorted(signature_inputs)}"
        )
    for name, shape in signature_inputs.items():
        got = first[name].shape
        if len(got) != len(shape) or any(
            s not in (None, -1, g) for s, g in zip(shape, got, strict=True)
        ):
            raise BadInput(
                f"representative input {name!r} has shape {got}, the model wants {shape}"
            )
    return gen


def quantize(
    model, method: str, out_path: Path, rep=None, int8_io: bool = False, saved: Path | None = None
) -> Path:
    """Convert a Keras 3 model (via a SavedModel, like the export) with one PTQ method.

    `saved`: the model's SavedModel when the caller already wrote one (a compression job writes
    it once and converts every variant from it); written here otherwise.
    """
    import tensorflow as tf

    from core.export.convert import to_savedmodel

    with tempfile.TemporaryDirectory() as tmp:
        if saved is None:
            saved = to_savedmodel(model, Path(tmp) / "saved")
        converter = tf.lite.TFLiteConverter.from_saved_model(str(saved))
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        if method == "float16":
            converter.target_spec.supported_types = [tf.float16]
        elif method == "int8":
            if rep is None:
                raise BadInput("int8 quantization needs a representative dataset")
            signature = tf.saved_model.load(str(saved)).signatures["serving_default"]
            shapes = {
                k: tuple(v.shape.as_list())
                for k, v in signature.structured_input_signature[1].items()
            }
            converter.representative_dataset = check_representative(rep, shapes)
            converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
            if int8_io:
                converter.inference_input_type = tf.int8
                converter.inference_output_type = tf.int8
        elif method != "dynamic":
            raise BadInput(f"{method} is not a post-training quantization method")
        try:
            flatbuffer = converter.convert()
        except Exception:
            if method == "int8":
                raise
            # string preprocessing (TextVectorization), some recurrent layers: keep TF ops
            converter.target_spec.supported_ops = [
                tf.lite.OpsSet.TFLITE_BUILTINS,
                tf.lite.OpsSet.SELECT_TF_OPS,
            ]
            converter._experimental_lower_tensor_list_ops = False
            flatbuffer = converter.convert()
    out_path.write_bytes(flatbuffer)
    return out_path


def convert_keras2(model, out_path: Path, quantize_int8: bool = False) -> Path:
    """Convert a tf_keras model (the QAT network) to TFLite."""
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    if quantize_int8:
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    out_path.write_bytes(converter.convert())
    return out_path
