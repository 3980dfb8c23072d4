"""TF Serving's JSON <-> tensor rules, ported from tensorflow_serving/util/json_tensor.cc.

Pure Python and numpy (no TensorFlow), so the request rules are tested without a model. The
error texts are TF Serving's, so a client that matches on them works against either server:

- `parse_json(body)`: rapidjson's parse (json_parse.py, re-exported here).
- `predict_tensors(doc, inputs_for)`: the row (`instances`) and columnar (`inputs`) formats,
  types checked per value as `AddValueToTensor` does (no `null`, no `true` for a float, no
  `1.5` for an int), `{"b64": ...}` for strings.
- `tensors_to_json(outputs, form)`: `predictions` / `outputs`, `_bytes` outputs as b64.

The `:classify` / `:regress` bodies are json_examples.py.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

# The request document's parse and the checks every body shares; re-exported, as callers
# import them from here.
from core.serving.json_parse import (  # noqa: F401
    RequestError,
    b64decode,
    debug,
    is_b64,
    json_type,
    listed,
    parse_json,
    signature_name,
)


@dataclass(frozen=True)
class TensorInfo:
    """A signature input: numpy dtype name (`float32`, `string`, ...) and shape (None: any rank;
    None in a dim: any size)."""

    dtype: str
    shape: tuple[int | None, ...] | None
    # the model fills missing values of this input: JSON null is taken as NaN (TF Studio's
    # models; core/serving/missing_inputs.py), where TF Serving refuses it
    nullable: bool = False


# DataTypeString() of the dtypes AddValueToTensor converts
TF_NAME = {
    "float32": "float", "float64": "double", "int32": "int32", "int16": "int16", "int8": "int8",
    "uint8": "uint8", "string": "string", "int64": "int64", "bool": "bool", "uint32": "uint32",
    "uint64": "uint64",
}  # fmt: skip
_INT_RANGE = {
    "int32": (-(2**31), 2**31 - 1), "int16": (-(2**31), 2**31 - 1),
    "int8": (-(2**31), 2**31 - 1), "uint8": (-(2**31), 2**31 - 1),
    "int64": (-(2**63), 2**63 - 1), "uint32": (0, 2**32 - 1), "uint64": (0, 2**64 - 1),
}  # fmt: skip


# -- one tensor --------------------------------------------------------------------------------
def _shape_of(value: Any) -> list[int]:
    """GetDenseTensorShape: sizes along the first element of each level."""
    shape = []
    while isinstance(value, list):
        shape.append(len(value))
        if not value:
            break
        value = value[0]
    return shape


def _type_error(value: Any, dtype: str) -> RequestError:
    return RequestError(
        f"JSON Value: {debug(value)} Type: {json_type(value)} is not of expected type: "
        f"{TF_NAME.get(dtype, dtype)}"
    )


def _convert(value: Any, dtype: str, nullable: bool = False) -> Any:
    """AddValueToTensor for one leaf value."""
    kind = type(value)
    if value is None and nullable and dtype in ("float32", "float64"):
        return float("nan")
    if dtype == "string":
        if kind is str:
            return value.encode("utf-8")
        if is_b64(value):
            return b64decode(value["b64"])
        if kind is dict:
            raise RequestError(
                f"JSON Value: {debug(value)} not formatted correctly for base64 data"
            )
        raise _type_error(value, dtype)
    if dtype in ("float32", "float64"):
        if kind is int or kind is float:
            return value
        raise _type_error(value, dtype)
    if dtype == "bool":
        if kind is bool:
            return value
        raise _type_error(value, dtype)
    if dtype in _INT_RANGE:
        lo, hi = _INT_RANGE[dtype]
        if kind is int and lo <= value <= hi:
            return value
        raise _type_error(value, dtype)
    raise RequestError(f"Conversion of JSON Value: {debug(value)} to type: {dtype}", status=501)


def _fill(
    value: Any, level: int, shape: list[int], dtype: str, out: list, nullable: bool = False
) -> None:
    """FillTensorProto: every leaf at depth len(shape), every list of its level's size."""
    rank = len(shape)
    if not isinstance(value, list):
        if level != rank:
            raise RequestError(
                f"JSON Value: {debug(value)} found at incorrect level: {level + 1} in the JSON "
                f"DOM. Expected at level: {rank}"
            )
        out.append(_convert(value, dtype, nullable))
        return
    if level >= rank:
        raise RequestError(f"Encountered list at unexpected level: {level} expected < {rank}")
    if len(value) != shape[level]:
        raise RequestError(
            f"Encountered list at unexpected size: {len(value)} at level: {level} expected "
            f"size: {shape[level]}"
        )
    for v in value:
        _fill(v, level + 1, shape, dtype, out, nullable)


def to_array(value: Any, dtype: str, nullable: bool = False) -> np.ndarray:
    """One JSON value as a dense array of `dtype` (TF Serving's shape and type rules)."""
    shape = _shape_of(value)
    if dtype in ("float32", "float64") and shape:  # fast path for plain numbers
        try:
            flat = np.asarray(value, dtype=object).reshape(-1)
            if all(t is float or t is int for t in map(type, flat)):
                with np.errstate(over="ignore"):
                    array = np.asarray(value, dtype=dtype)
                if list(array.shape) == shape:
                    return array
        except (ValueError, TypeError):
            pass  # ragged or mixed: the exact walk below names the problem
    out: list = []
    _fill(value, 0, shape, dtype, out, nullable)
    if dtype == "string":
        array = np.empty(len(out), dtype=object)
        array[:] = out
        return array.reshape(shape)
    with np.errstate(over="ignore"):  # 1e39 as a float32 is inf, as in TF Serving
        return np.asarray(out, dtype=dtype).reshape(shape)


# -- predict -----------------------------------------------------------------------------------
def predict_tensors(
    doc: dict[str, Any], inputs_for: Callable[[str], dict[str, TensorInfo]]
) -> tuple[str, dict[str, np.ndarray], str]:
    """FillPredictRequestFromJson: (signature name, input arrays, "row" or "columnar").

    `inputs_for(signature_name)` gives the signature's inputs (raising RequestError for an
    unknown signature); it is called after the body's own checks, as TF Serving does."""
    name = signature_name(doc)
    infos = inputs_for(name)
    if not infos:
        raise RequestError(f"Failed to get input map for signature: {name or 'DEFAULT'}")
    if "instances" in doc:
        if "inputs" in doc:
            raise RequestError(
                f"JSON Value: {debug(doc)} Not formatted correctly expecting only one of "
                "'inputs' or 'instances' keys to exist "
            )
        instances = listed(
            doc,
            "instances",
            "Expecting 'instances' to be an list/array",
            "No values in 'instances' array",
        )
        return name, _from_instances(instances, infos), "row"
    if "inputs" in doc:
        return name, _from_inputs(doc["inputs"], infos), "columnar"
    raise RequestError("Missing 'inputs' or 'instances' key")


def _is_object(value: Any) -> bool:
    return isinstance(value, dict) and not is_b64(value)


def _from_instances(instances: list, infos: dict[str, TensorInfo]) -> dict[str, np.ndarray]:
    if not isinstance(instances[0], dict) and len(infos) > 1:
        raise RequestError(
            "instances is a plain list, but expecting list of objects as multiple input "
            "tensors required as per tensorinfo_map"
        )
    objects = _is_object(instances[0])
    names = sorted(infos)
    columns: dict[str, list] = {n: [] for n in names} if objects else {names[0]: []}
    shapes: dict[str, list[int]] = {}
    for i, item in enumerate(instances):
        if objects:
            if not _is_object(item):
                raise RequestError(f"Expecting object but got list at item {i} of input list")
            for key, value in item.items():
                try:
                    _add_item(key, value, infos, shapes, columns)
                except RequestError as exc:
                    raise RequestError(
                        f"Failed to process element: {i} key: {key} of 'instances' list. "
                        f"Error: INVALID_ARGUMENT: {exc}"
                    ) from None
            if set(item) != set(names):
                raise RequestError(
                    f"Failed to process element: {i} of 'instances' list. JSON object: "
                    f"{debug(item)} keys must be equal to: {','.join(names)}"
                )
        else:
            if _is_object(item):
                raise RequestError(f"Expecting value/list but got object at item {i} of input list")
            try:
                _add_item(names[0], item, infos, shapes, columns)
            except RequestError as exc:
                raise RequestError(
                    f"Failed to process element: {i} of 'instances' list. Error: "
                    f"INVALID_ARGUMENT: {exc}"
                ) from None
    return {k: _stack(v, infos[k].dtype, len(instances), shapes[k]) for k, v in columns.items()}


def _add_item(key, value, infos, shapes, columns) -> None:
    """AddInstanceItem: each instance's tensor has the shape of the first one."""
    if key not in infos:
        raise RequestError(f"JSON object: does not have named input: {key}")
    array = to_array(value, infos[key].dtype, infos[key].nullable)
    shape = list(array.shape)
    if key not in shapes:
        shapes[key] = shape
    elif int(np.prod(shapes[key])) != array.size:
        raise RequestError(f"Expecting tensor size: {int(np.prod(shapes[key]))} but got: "
                           f"{array.size}")  # fmt: skip
    elif shapes[key] != shape:
        raise RequestError(
            f"Expecting shape [{','.join(map(str, shapes[key]))}] but got: "
            f"[{','.join(map(str, shape))}]"
        )
    columns[key].append(array)


def _stack(arrays: list[np.ndarray], dtype: str, n: int, shape: list[int]) -> np.ndarray:
    if dtype == "string":
        out = np.empty([n, *shape], dtype=object)
        for i, a in enumerate(arrays):
            out[i] = a[()] if a.ndim == 0 else a  # a 0-d array would be stored as an object
        return out
    return np.stack(arrays).astype(dtype, copy=False)


def _from_inputs(value: Any, infos: dict[str, TensorInfo]) -> dict[str, np.ndarray]:
    if not isinstance(value, dict) or is_b64(value):
        if len(infos) > 1:
            raise RequestError(
                "inputs is a plain value/list, but expecting an object as multiple input "
                "tensors required as per tensorinfo_map"
            )
        name = next(iter(infos))
        return {name: to_array(value, infos[name].dtype, infos[name].nullable)}
    out = {}
    for name in sorted(infos):  # keys the signature does not have are ignored, as there
        if name not in value:
            raise RequestError(f"Missing named input: {name} in 'inputs' object.")
        out[name] = to_array(value[name], infos[name].dtype, infos[name].nullable)
    return out


def check_shapes(
    arrays: dict[str, np.ndarray], infos: dict[str, TensorInfo], sig: str
) -> dict[str, np.ndarray]:
    """Each input against its signature's shape, returned ready to feed. A column input
    ([-1, 1]) also takes one scalar per instance, the form every TF Serving tutorial sends for
    a table row (`{"bill_length_mm": 41.5, ...}`): [N] becomes [N, 1]. Any other mismatch is
    refused up front with the shapes in the message (TF Serving hands it to the graph, which
    fails in some kernel or, for a TF1 graph, may compute something else)."""
    fitted = dict(arrays)
    for name, array in arrays.items():
        want = infos[name].shape
        if want is None:
            continue
        got = array.shape
        if len(want) == len(got) + 1 and want[-1] == 1 and len(got) >= 1:
            fitted[name] = array = array.reshape(*got, 1)
            got = array.shape
        if len(got) != len(want) or any(
            w is not None and w != g for w, g in zip(want, got, strict=False)
        ):
            spec = ",".join("-1" if w is None else str(w) for w in want)
            raise RequestError(
                f"input {name}: got shape [{','.join(map(str, got))}] but signature {sig} "
                f"takes [{spec}]"
            )
    batch = {}
    for name, array in fitted.items():
        shape = infos[name].shape
        if array.ndim >= 1 and shape and shape[0] is None:  # a free batch dimension
            batch[name] = int(array.shape[0])
    if len(set(batch.values())) > 1:
        sizes = ", ".join(f"{k} {v}" for k, v in sorted(batch.items()))
        raise RequestError(
            f"the inputs hold different numbers of examples ({sizes}): every input needs one "
            "value per example"
        )
    return fitted


# -- responses ---------------------------------------------------------------------------------
def tensor_json(array: np.ndarray, as_bytes: bool) -> Any:
    """A tensor as nested lists: float32 in its shortest form (0.2, not 0.2000000029),
    NaN/Infinity as rapidjson writes them, strings as text or `{"b64": ...}`."""
    array = np.asarray(array)
    if array.dtype == np.float32:
        return array.astype(str).astype(np.float64).tolist()
    if array.dtype.kind in "OSU":
        flat = [_string_json(v, as_bytes) for v in array.reshape(-1)]
        out = np.empty(len(flat), dtype=object)
        out[:] = flat
        return out.reshape(array.shape).tolist()
    return array.tolist()


def _string_json(value: Any, as_bytes: bool) -> Any:
    raw = value if isinstance(value, bytes) else str(value).encode("utf-8")
    if as_bytes:
        return {"b64": base64.b64encode(raw).decode("ascii")}
    return raw.decode("utf-8", "replace")


def tensors_to_json(outputs: dict[str, np.ndarray], form: str) -> dict[str, Any]:
    """MakeJsonFromTensors: `{"predictions": [...]}` (row) or `{"outputs": ...}` (columnar);
    an output whose name ends in `_bytes` is written as `{"b64": ...}`."""
    if not outputs:
        raise RequestError("Cannot convert empty tensor map to JSON")
    names = sorted(outputs)

    def as_bytes(name: str) -> bool:
        return np.asarray(outputs[name]).dtype.kind in "OS" and name.endswith("_bytes")

    if form == "columnar":
        if len(names) == 1:
            return {"outputs": tensor_json(outputs[names[0]], as_bytes(names[0]))}
        return {"outputs": {k: tensor_json(outputs[k], as_bytes(k)) for k in names}}
    batch = -1
    for k in names:
        shape = np.shape(outputs[k])
        if not shape:
            raise RequestError(f"Tensor name: {k} has no shape information ")
        if batch >= 0 and shape[0] != batch:
            raise RequestError(
                f"Tensor name: {k} has inconsistent batch size: {shape[0]} expecting: {batch}"
            )
        batch = shape[0]
    if len(names) == 1:
        return {"predictions": tensor_json(outputs[names[0]], as_bytes(names[0]))}
    columns = {k: tensor_json(outputs[k], as_bytes(k)) for k in names}
    return {"predictions": [{k: columns[k][i] for k in names} for i in range(batch)]}
