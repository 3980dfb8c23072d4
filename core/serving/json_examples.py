"""TF Serving's `:classify` / `:regress` bodies, as tensorflow_serving/util/json_tensor.cc.

`examples_from_json(doc)` checks `{"examples": [...], "context": {...}}` as
FillClassifyRegressRequestFromJson does and gives each example as feature name -> (kind,
values), kind "float" (a JSON number with a fraction or exponent), "int64" (an integer or a
boolean) or "bytes" (a string or `{"b64": ...}`); model.py turns them into tf.Example protos.
"""

from __future__ import annotations

from typing import Any

from core.serving.json_parse import RequestError, b64decode, debug, is_b64, json_type, listed


def examples_from_json(doc: dict[str, Any]) -> tuple[dict | None, list[dict]]:
    """FillClassifyRegressRequestFromJson: (context, examples), each a dict of feature name ->
    ("float" | "int64" | "bytes" | None, values)."""
    context = _example(doc["context"]) if "context" in doc else None
    if "examples" not in doc:
        raise RequestError(
            f"JSON Value: {debug(doc)} When method is classify, key 'examples' is expected and "
            "was not found"
        )
    examples = listed(
        doc,
        "examples",
        "Expecting 'examples' value to be an list/array",
        "'examples' value is an empty array",
    )
    return context, [_example(e) for e in examples]


def _example(value: Any) -> dict[str, tuple[str | None, list]]:
    if not isinstance(value, dict):
        raise RequestError(f"Example must be JSON object but got JSON {json_type(value)}")
    features: dict[str, tuple[str | None, list]] = {}
    for name, content in value.items():
        kind: str | None = None
        values: list = []
        for v in content if isinstance(content, list) else [content]:
            kind = _feature_value(name, v, kind, values)
        features[name] = (kind, values)
    return features


def _feature_value(name: str, value: Any, kind: str | None, values: list) -> str:
    """AddValueToFeature: the feature's kind after adding `value` (all values of one kind)."""
    t = type(value)
    item: int | float | bytes
    if t is bool:
        new, item = "int64", int(value)
    elif t is str:
        new, item = "bytes", value.encode("utf-8")
    elif t is float:
        new, item = "float", value
    elif t is int:
        if value >= 2**63:
            raise RequestError(f"Feature: {name} has uint64_t element. Only int64_t is supported.")
        new, item = "int64", value
    elif is_b64(value):
        new, item = "bytes", b64decode(value["b64"])
    else:
        raise RequestError(
            f"Feature: {name} has element with unexpected JSON type: {json_type(value)}"
        )
    if kind is not None and kind != new:
        raise RequestError(f"Unexpected element type in feature: {name} expecting type: {kind}")
    values.append(item)
    return new
