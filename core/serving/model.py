"""A SavedModel's `serving_default` signature behind TF Serving's request formats.

`ServedModel.predict(body)` takes the parsed JSON of a `:predict` request (row format
`{"instances": [...]}` or columnar `{"inputs": ...}`) and returns TF Serving's response
(`{"predictions": ...}` or `{"outputs": ...}`); bad requests raise `RequestError` with the message
TF Serving's `{"error": "..."}` body carries. Imports TensorFlow when a model is loaded.
"""

from __future__ import annotations

import math
import threading
from pathlib import Path
from typing import Any

import numpy as np


class RequestError(ValueError):
    """A client error: the HTTP status and the message for `{"error": ...}`."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


def jsonable(value: Any) -> Any:
    """numpy values as JSON: lists, floats (NaN as null), strings for bytes."""
    if isinstance(value, np.ndarray):
        return [jsonable(v) for v in value] if value.ndim else jsonable(value[()])
    if isinstance(value, np.float32):  # its shortest repr: 4.4, not 4.400000095367432
        return None if math.isnan(value) else float(str(value))
    if isinstance(value, (bytes, np.bytes_)):
        return value.decode("utf-8", "replace")
    if isinstance(value, (np.floating, float)):
        return None if math.isnan(float(value)) else float(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.str_):
        return str(value)
    return value


_DT = {
    "float32": "DT_FLOAT",
    "float64": "DT_DOUBLE",
    "int32": "DT_INT32",
    "int64": "DT_INT64",
    "string": "DT_STRING",
    "bool": "DT_BOOL",
}


class ServedModel:
    def __init__(self, path: str | Path, name: str, version: int = 1):
        import tensorflow as tf

        import core.training.layers  # noqa: F401  (custom layers, should a graph need them)

        self.tf = tf
        self.path, self.name, self.version = Path(path), name, int(version)
        self._loaded = tf.saved_model.load(str(path))
        self.fn = self._loaded.signatures["serving_default"]
        self.inputs = dict(self.fn.structured_input_signature[1])  # name -> TensorSpec
        self.outputs = dict(self.fn.structured_outputs)
        self._lock = threading.Lock()

    # -- metadata --------------------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        return {
            "model_version_status": [
                {
                    "version": str(self.version),
                    "state": "AVAILABLE",
                    "status": {"error_code": "OK", "error_message": ""},
                }
            ]
        }

    def metadata(self) -> dict[str, Any]:
        def tensor(spec, prefix: str, key: str) -> dict[str, Any]:
            dims = [{"size": str(-1 if d is None else d)} for d in spec.shape.as_list()]
            return {
                "dtype": _DT.get(spec.dtype.name, spec.dtype.name),
                "tensor_shape": {"dim": dims, "unknown_rank": False},
                "name": f"{prefix}{key}:0",
            }

        signature = {
            "inputs": {k: tensor(s, "serving_default_", k) for k, s in self.inputs.items()},
            "outputs": {
                k: tensor(s, "StatefulPartitionedCall:", str(i))
                for i, (k, s) in enumerate(self.outputs.items())
            },
            "method_name": "tensorflow/serving/predict",
        }
        return {
            "model_spec": {"name": self.name, "signature_name": "", "version": str(self.version)},
            "metadata": {"signature_def": {"signature_def": {"serving_default": signature}}},
        }

    # -- predict ---------------------------------------------------------------------------------
    def parse(self, body: Any) -> tuple[dict[str, np.ndarray], str]:
        """A request body -> named input arrays, and `row` or `columnar`."""
        if not isinstance(body, dict):
            raise RequestError("the request body must be a JSON object")
        sig = body.get("signature_name", "serving_default") or "serving_default"
        if sig != "serving_default":
            raise RequestError(f"signature {sig!r} not found; this model has serving_default")
        if ("instances" in body) == ("inputs" in body):
            raise RequestError('give exactly one of "instances" (row) or "inputs" (columnar)')
        names = list(self.inputs)
        if "instances" in body:
            instances = body["instances"]
            if not isinstance(instances, list):
                raise RequestError('"instances" must be a list')
            if not instances:
                raise RequestError('"instances" is empty: send at least one example')
            if all(isinstance(i, dict) for i in instances):
                columns: dict[str, list] = {}
                for n, instance in enumerate(instances):
                    self._check_names(set(instance), f"instance {n}")
                    for k in names:
                        columns.setdefault(k, []).append(instance[k])
            elif any(isinstance(i, dict) for i in instances):
                raise RequestError("mix of named (object) and bare instances")
            elif len(names) == 1:
                columns = {names[0]: instances}
            else:
                raise RequestError(
                    f"this model has {len(names)} named inputs ({', '.join(names)}): "
                    "each instance must be an object of input name -> value"
                )
            return {k: self._array(k, v) for k, v in columns.items()}, "row"
        inputs = body["inputs"]
        if isinstance(inputs, dict):
            self._check_names(set(inputs), '"inputs"')
            arrays = {k: self._array(k, inputs[k]) for k in names}
        elif len(names) == 1:
            arrays = {names[0]: self._array(names[0], inputs)}
        else:
            raise RequestError(
                f'"inputs" must be an object of input name -> values ({", ".join(names)})'
            )
        sizes = {len(a) for a in arrays.values()}
        if len(sizes) != 1:
            raise RequestError("inputs have different batch sizes")
        if 0 in sizes:
            raise RequestError('"inputs" is empty: send at least one example')
        return arrays, "columnar"

    def _check_names(self, got: set[str], where: str) -> None:
        missing = [n for n in self.inputs if n not in got]
        extra = sorted(got - set(self.inputs))
        if missing:
            raise RequestError(f"{where}: missing input(s) {', '.join(missing)}")
        if extra:
            raise RequestError(
                f"{where}: unknown input(s) {', '.join(extra)}; the model takes "
                f"{', '.join(self.inputs)}"
            )

    def _array(self, name: str, values: Any) -> np.ndarray:
        spec = self.inputs[name]
        if not isinstance(values, list):
            values = [values]
        is_string = spec.dtype.name == "string"
        try:
            if is_string:
                array = np.array(values, dtype=object)
                flat = array.reshape(-1)
                if not all(isinstance(v, str) for v in flat):
                    raise TypeError("expected strings")
            else:
                filled = _nulls_to_nan(values)
                array = np.array(filled, dtype=spec.dtype.as_numpy_dtype)
                if array.dtype.kind == "O":
                    raise TypeError("ragged")
        except (TypeError, ValueError) as exc:
            kind = "strings" if is_string else f"numbers ({spec.dtype.name})"
            raise RequestError(f"input {name}: expected {kind}; {exc}") from None
        want = spec.shape.as_list()[1:]
        per_example = int(np.prod([d for d in want if d is not None] or [1]))
        if array.ndim == 1 and want == [1]:
            array = array.reshape(-1, 1)
        if array.ndim != len(want) + 1 or any(
            w is not None and w != g for w, g in zip(want, array.shape[1:], strict=False)
        ):
            raise RequestError(
                f"input {name}: shape {list(array.shape)} does not match the model's "
                f"{[-1, *[-1 if d is None else d for d in want]]} (values per example: "
                f"{per_example})"
            )
        return array

    def run(self, arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        tf = self.tf
        feed = {
            k: tf.constant(v.astype(str) if v.dtype == object else v) for k, v in arrays.items()
        }
        with self._lock:
            out = self.fn(**feed)
        return {k: v.numpy() for k, v in out.items()}

    def predict(self, body: Any) -> dict[str, Any]:
        arrays, form = self.parse(body)
        return format_outputs(self.run(arrays), form)


def format_outputs(outputs: dict[str, np.ndarray], form: str) -> dict[str, Any]:
    """TF Serving's response: `predictions` for row requests, `outputs` for columnar ones."""
    if len(outputs) == 1:
        only = jsonable(next(iter(outputs.values())))
        return {"predictions": only} if form == "row" else {"outputs": only}
    if form == "columnar":
        return {"outputs": {k: jsonable(v) for k, v in outputs.items()}}
    n = len(next(iter(outputs.values())))
    return {"predictions": [{k: jsonable(v[i]) for k, v in outputs.items()} for i in range(n)]}


def _nulls_to_nan(values: Any) -> Any:
    if isinstance(values, list):
        return [_nulls_to_nan(v) for v in values]
    if values is None:
        return float("nan")
    if isinstance(values, (bool, str)):  # JSON true/"3" are not numbers
        raise TypeError(f"{values!r} is not a number")
    return values
