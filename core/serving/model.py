"""A SavedModel's signatures behind TF Serving's REST calls (imports TensorFlow when loaded).

Every SignatureDef of the SavedModel's `serve` meta graph is read from `saved_model.pb` itself
(tensorflow's `saved_model_pb2`): metadata is that proto in protobuf JSON, as TF Serving's
`GetModelMetadata` answers, and the request rules use its input names, dtypes and shapes. Calls
run through the loaded object's signature functions. `:classify` and `:regress` build
`tf.Example` protos from the body (TF Serving's `FillClassifyRegressRequestFromJson`) and check
the signature as its `PreProcessClassification` / `PreProcessRegression` do.
"""

from __future__ import annotations

import dataclasses
import math
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from core.serving import missing_inputs
from core.serving.custom_ops import load_op_libraries
from core.serving.json_examples import examples_from_json
from core.serving.json_tensor import (
    TF_NAME,
    RequestError,
    TensorInfo,
    check_shapes,
    predict_tensors,
    tensors_to_json,
)

__all__ = ["RequestError", "ServedModel", "Predict", "format_outputs", "jsonable"]
DEFAULT_SIGNATURE = "serving_default"


def jsonable(value: Any) -> Any:
    """numpy values as JSON: lists, floats (NaN as null), strings for bytes (example bodies)."""
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


@dataclass
class Predict:
    """A parsed `:predict` body: the signature, its input arrays, "row" or "columnar"."""

    signature: str
    arrays: dict[str, np.ndarray]
    form: str


def format_outputs(outputs: dict[str, np.ndarray], form: str) -> dict[str, Any]:
    """TF Serving's response: `predictions` for row requests, `outputs` for columnar ones."""
    return tensors_to_json(outputs, form)


def read_signature_defs(path: Path) -> dict[str, Any]:
    """The SignatureDef protos of the `serve` meta graph in `path/saved_model.pb`."""
    from tensorflow.core.protobuf import saved_model_pb2

    proto = saved_model_pb2.SavedModel()
    proto.ParseFromString((Path(path) / "saved_model.pb").read_bytes())
    graphs = [g for g in proto.meta_graphs if "serve" in g.meta_info_def.tags]
    if not graphs:
        raise ValueError(f"{path} has no meta graph tagged 'serve' (TF Serving loads that one)")
    return dict(graphs[0].signature_def)


def _info(tensor_info) -> TensorInfo:
    import tensorflow as tf

    dtype = tf.dtypes.as_dtype(tensor_info.dtype)
    name = "string" if dtype == tf.string else dtype.as_numpy_dtype.__name__
    shape = tensor_info.tensor_shape
    dims = None if shape.unknown_rank else tuple(None if d.size < 0 else d.size for d in shape.dim)
    return TensorInfo(name, dims)


def op_message(text: str) -> str:
    """A TensorFlow op error as a client may read it: the error itself, without the graph
    execution preamble, the Python stack where the op was defined or node names."""
    keep = []
    skipping = False
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("Detected at node") or stripped.endswith("(most recent call last):"):
            skipping = True
            continue
        if skipping and (line.startswith((" ", "\t")) or not stripped):
            continue
        skipping = False
        if stripped in ("Graph execution error:", "") or stripped.startswith("[[{{node"):
            continue
        keep.append(re.sub(r"\{\{function_node [^}]*\}\}\s*", "", stripped))
    return " ".join(keep)[:1000] or "the model could not compute this input"


class ServedModel:
    def __init__(self, path: str | Path, name: str, version: int = 1):
        import tensorflow as tf

        import core.training.layers  # noqa: F401  (custom layers, should a graph need them)

        self.tf = tf
        self.path, self.name, self.version = Path(path), name, int(version)
        self.signature_defs = read_signature_defs(self.path)
        load_op_libraries(self.path)  # TF Text's ops, for a model with a KerasHub tokenizer
        self._loaded = tf.saved_model.load(str(path), tags=["serve"])
        self.functions = dict(self._loaded.signatures)
        filled = missing_inputs.read(self.path)
        self.inputs = {
            k: {n: dataclasses.replace(_info(t), nullable=n in filled) for n, t in s.inputs.items()}
            for k, s in self.signature_defs.items()
        }
        self._lock = threading.Lock()

    def batches(self, signature: str) -> bool:
        """Whether requests for `signature` may be joined into one call: every input and output
        has a known rank with a free first (batch) dimension."""
        sig = self.signature_defs.get(signature)
        if sig is None or not sig.inputs:
            return False
        infos = [*sig.inputs.values(), *sig.outputs.values()]
        return all(
            not t.tensor_shape.unknown_rank
            and len(t.tensor_shape.dim) >= 1
            and t.tensor_shape.dim[0].size < 0
            for t in infos
        )

    # -- status and metadata -------------------------------------------------------------------
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
        """GetModelMetadataResponse as TF Serving prints it (proto field names, defaults shown)."""
        from google.protobuf import json_format

        signatures = {
            k: json_format.MessageToDict(
                s, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
            )
            for k, s in self.signature_defs.items()
        }
        return {
            "model_spec": {"name": self.name, "signature_name": "", "version": str(self.version)},
            "metadata": {"signature_def": {"signature_def": signatures}},
        }

    # -- predict ---------------------------------------------------------------------------------
    def inputs_for(self, signature: str) -> dict[str, TensorInfo]:
        """GetInfoMap: the signature's inputs, or TF Serving's error for an unknown one."""
        name = signature or DEFAULT_SIGNATURE
        if name not in self.inputs:
            raise RequestError(f'Serving signature name: "{name}" not found in signature def')
        return self.inputs[name]

    def parse(self, doc: dict[str, Any]) -> Predict:
        """A `:predict` body -> the signature's input arrays (TF Serving's rules)."""
        signature, arrays, form = predict_tensors(doc, self.inputs_for)
        signature = signature or DEFAULT_SIGNATURE
        arrays = check_shapes(arrays, self.inputs[signature], signature)
        return Predict(signature, arrays, form)

    def run(
        self, arrays: dict[str, np.ndarray], signature: str = DEFAULT_SIGNATURE
    ) -> dict[str, np.ndarray]:
        fn = self.functions.get(signature)
        if fn is None:  # in the proto (e.g. __saved_model_init_op) but not callable
            raise RequestError(f'Serving signature name: "{signature}" not found in signature def')
        tf = self.tf
        feed = {
            k: tf.constant(v, dtype=tf.string) if v.dtype == object else tf.constant(v)
            for k, v in arrays.items()
        }
        try:
            with self._lock:
                out = fn(**feed)
        except tf.errors.OpError as exc:
            raise RequestError(op_message(exc.message), status=_http_status(exc)) from None
        except (TypeError, ValueError) as exc:  # the function refused the feed
            raise RequestError(f"{type(exc).__name__}: {exc}"[:2000]) from None
        return {k: v.numpy() for k, v in out.items()}

    def predict(self, doc: dict[str, Any]) -> dict[str, Any]:
        call = self.parse(doc)
        return tensors_to_json(self.run(call.arrays, call.signature), call.form)

    # -- classify / regress --------------------------------------------------------------------
    def _example_signature(self, doc: dict[str, Any], kind: str):
        from core.serving.json_tensor import signature_name

        name = signature_name(doc) or DEFAULT_SIGNATURE
        sig = self.signature_defs.get(name)
        if sig is None:
            raise RequestError(f"No signature was found with the name: {name}")
        outputs = ("classes", "scores") if kind == "classify" else ("outputs",)
        if len(sig.inputs) != 1:
            raise RequestError("Expected one input Tensor.")
        if kind == "classify" and len(sig.outputs) not in (1, 2):
            raise RequestError(f"Expected one or two output Tensors, found {len(sig.outputs)}")
        if kind == "regress" and len(sig.outputs) != 1:
            raise RequestError("Expected one output Tensor.")
        what = "classification" if kind == "classify" else "regression"
        if "inputs" not in sig.inputs:
            raise RequestError(f"No {what} inputs found in SignatureDef: {sig}")
        if not any(o in sig.outputs for o in outputs):
            if kind == "classify":
                raise RequestError(
                    "Expected classification signature outputs to contain at least one of "
                    f'"classes" or "scores". Signature was: {sig}'
                )
            raise RequestError(f"No regression outputs found in SignatureDef: {sig}")
        return name

    def _run_examples(self, doc: dict[str, Any], kind: str) -> tuple[dict[str, np.ndarray], int]:
        name = self._example_signature(doc, kind)
        context, examples = examples_from_json(doc)
        serialized = _serialize(context, examples)
        info = self.inputs[name]["inputs"]
        if info.dtype != "string":
            raise RequestError(
                f"Expects arg[0] to be {TF_NAME.get(info.dtype, info.dtype)} but string is "
                f"provided (signature {name} does not take serialized tf.Example protos)"
            )
        array = np.empty(len(serialized), dtype=object)
        array[:] = serialized
        return self.run({"inputs": array}, name), len(serialized)

    def classify(self, doc: dict[str, Any]) -> dict[str, Any]:
        """`:classify`: `{"results": [[[label, score], ...], ...]}`."""
        out, n = self._run_examples(doc, "classify")
        classes, scores = out.get("classes"), out.get("scores")
        if classes is None and scores is None:  # as TF Serving's classifier.cc refuses it
            raise RequestError(
                'Expected classification signature outputs to contain at least one of "classes" '
                'or "scores".'
            )
        for tensor, what, dtype in ((classes, "classes", "O"), (scores, "scores", "f")):
            if tensor is None:
                continue
            if tensor.ndim != 2:
                raise RequestError(
                    f"Expected Tensor shape: [batch_size num_classes] but got {list(tensor.shape)}"
                )
            if tensor.dtype.kind not in (("O", "S") if dtype == "O" else ("f",)):
                raise RequestError(
                    f"Expected {what} Tensor of DT_{'STRING' if dtype == 'O' else 'FLOAT'}."
                )
            if tensor.shape[0] != n:
                raise RequestError(
                    f"Expected {what} output batch size of {n}. Got: {tensor.shape[0]}"
                )
        if classes is not None and scores is not None and classes.shape[1] != scores.shape[1]:
            raise RequestError(
                "Tensors class and score should match in dim_size(1). Got "
                f"{classes.shape[1]} vs. {scores.shape[1]}"
            )
        first = classes if classes is not None else scores
        assert first is not None  # refused above when both are missing
        width = first.shape[1]
        results = []
        for i in range(n):
            row = []
            for c in range(width):
                label = classes[i, c] if classes is not None else b""
                label = label.decode("utf-8", "replace") if isinstance(label, bytes) else label
                score = float(str(np.float32(scores[i, c]))) if scores is not None else 0.0
                row.append([label, score])
            results.append(row)
        return {"results": results}

    def regress(self, doc: dict[str, Any]) -> dict[str, Any]:
        """`:regress`: `{"results": [value, ...]}`."""
        out, n = self._run_examples(doc, "regress")
        tensor = out["outputs"]
        if not (tensor.ndim == 1 or (tensor.ndim == 2 and tensor.shape[1] == 1)):
            raise RequestError(
                "Expected output Tensor shape to be either [batch_size] or [batch_size, 1] but "
                f"got {list(tensor.shape)}"
            )
        if tensor.shape[0] != n:
            raise RequestError(
                f"Input batch size did not match output batch size: {n} vs. {tensor.shape[0]}"
            )
        if tensor.dtype != np.float32:
            raise RequestError("Expected output Tensor of DT_FLOAT.")
        return {"results": tensor.reshape(-1).astype(str).astype(np.float64).tolist()}


def _serialize(context, examples) -> list[bytes]:
    """tf.Example bytes; with a context, context + example bytes (a proto merge: the example's
    features win), exactly as TF Serving's InputToSerializedExampleTensor."""
    from tensorflow.core.example import example_pb2

    def proto(features) -> bytes:
        example = example_pb2.Example()
        for name, (kind, values) in features.items():
            feature = example.features.feature[name]
            if kind == "float":
                feature.float_list.value.extend(values)
            elif kind == "int64":
                feature.int64_list.value.extend(values)
            elif kind == "bytes":
                feature.bytes_list.value.extend(values)
        return example.SerializeToString()

    head = proto(context) if context is not None else b""
    return [head + proto(e) for e in examples]


# tf.errors codes -> HTTP, as TF Serving's ToHTTPStatusCode
_CODES = {3: 400, 9: 400, 11: 400, 5: 404, 6: 409, 10: 409, 7: 403, 8: 429, 12: 501, 14: 503,
          16: 401, 4: 504, 1: 499}  # fmt: skip


def _http_status(exc) -> int:
    return _CODES.get(int(getattr(exc, "error_code", 2)), 500)
