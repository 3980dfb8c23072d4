"""The table preprocessing as C++ for a microcontroller, and its exact Python mirror.

TFLite Micro has no hash tables or string ops, and FillMissing's `full_like` becomes FILL with
a run-time shape, so the micro model is the network alone and the preprocessing runs in C++:
missing-value fill, normalisation, bucketizing and vocabulary lookups (one-hot), with the
constants emitted as C arrays. `plan()` reads those constants from the run's own
`preprocessing.keras`; `apply()` is the same arithmetic in numpy, checked against the Keras layers
on held-out rows before anything is written. Hashing (FarmHash fingerprints) is refused.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from core.export.micro import MicroRefused
from core.training.features import ModelContract

# Layer classes the glue reproduces; anything else in preprocessing.keras is refused by name.
GLUE_LAYERS = {
    "InputLayer",
    "FillMissing",
    "LogScale",
    "Normalization",
    "Discretization",
    "CategoryEncoding",
    "StringLookup",
    "IntegerLookup",
    "Concatenate",
}
CPP_KEYWORDS = {
    "auto", "bool", "break", "case", "char", "class", "const", "default", "delete", "do",
    "double", "else", "enum", "float", "for", "if", "int", "long", "new", "private", "public",
    "return", "short", "signed", "sizeof", "static", "struct", "switch", "template", "this",
    "union", "unsigned", "void", "while", "row", "features",
}  # fmt: skip


def refusal(contract: ModelContract, layer_classes: list[tuple[str, str]]) -> str:
    """Why the glue cannot reproduce this preprocessing ('' when it can). TF-free."""
    if contract.input_kind != "table":
        return {
            "text": "text models tokenize with TextVectorization (string ops TFLite Micro lacks)",
            "image": "image models are not exported for microcontrollers yet (the resize and "
            "backbone preprocessing stay float in TensorFlow)",
            "sequence": "forecasting models are not exported for microcontrollers yet",
        }.get(contract.input_kind, f"{contract.input_kind} models are not supported")
    for name, cls in layer_classes:
        if cls == "Hashing":
            return (
                f"column input {name.removesuffix('_hash')!r} is hashed (Hashing layer, FarmHash "
                "fingerprints), which the C glue does not reproduce: treat it as categorical "
                "or leave it out to export for a microcontroller"
            )
        if cls not in GLUE_LAYERS:
            return f"preprocessing layer {name!r} ({cls}) is not one the C glue reproduces"
    return ""


def _weights(layer, *names: str) -> list[np.ndarray]:
    import keras

    return [np.asarray(keras.ops.convert_to_numpy(getattr(layer, n)), "float32") for n in names]


def _layer(pre, name: str):
    try:
        return pre.get_layer(name)
    except ValueError:
        raise MicroRefused(f"preprocessing.keras has no layer {name!r} for the C glue") from None


def plan(pre, contract: ModelContract) -> dict[str, Any]:
    """The preprocessing's constants, per feature, in the order of the network's input vector."""
    why = refusal(contract, [(lay.name, type(lay).__name__) for lay in pre.layers])
    if why:
        raise MicroRefused(why)
    import keras

    eps = float(keras.backend.epsilon())
    features, offset = [], 0
    for f in contract.features:
        entry: dict[str, Any] = {"input": f.input, "column": f.column, "offset": offset}
        if f.dtype in ("float32", "float32_binned"):
            entry["fill"] = float(_layer(pre, f"{f.input}_fill").value)
        if f.dtype == "float32":
            entry["log"] = any(lay.name == f"{f.input}_log" for lay in pre.layers)
            mean, var = _weights(_layer(pre, f"{f.input}_norm"), "mean", "variance")
            std = np.maximum(np.sqrt(var), np.float32(eps)).astype("float32")
            entry.update(kind="number", mean=float(mean.ravel()[0]), std=float(std.ravel()[0]))
            entry["width"] = 1
        elif f.dtype == "float32_binned":
            bins = _layer(pre, f"{f.input}_bins")
            entry.update(kind="bucket", boundaries=[float(b) for b in bins.bin_boundaries])
            entry["width"] = len(entry["boundaries"]) + 1
        elif f.dtype in ("string", "int64"):
            lookup = _layer(pre, f"{f.input}_lookup")
            if lookup.num_oov_indices != 1 or lookup.mask_token is not None:
                raise MicroRefused(
                    f"lookup {lookup.name!r}: the glue expects one OOV slot, no mask"
                )
            vocab = list(lookup.get_vocabulary())[1:]  # index 0 is the OOV slot
            kind = "string" if f.dtype == "string" else "integer"
            entry.update(kind=kind, vocabulary=[v if kind == "string" else int(v) for v in vocab])
            entry["width"] = len(vocab) + 1
        else:
            raise MicroRefused(f"feature {f.input!r} ({f.dtype}) is not reproduced by the C glue")
        features.append(entry)
        offset += entry["width"]
    return {"features": features, "width": offset}


def apply(glue: dict[str, Any], raw: dict[str, np.ndarray]) -> np.ndarray:
    """The C++ `Preprocess` in numpy: raw rows (input name -> (n, 1)) to the network's input."""
    n = len(next(iter(raw.values())))
    out = np.zeros((n, glue["width"]), "float32")
    for f in glue["features"]:
        values = np.asarray(raw[f["input"]]).reshape(n)
        o = f["offset"]
        if f["kind"] in ("number", "bucket"):
            x = values.astype("float32")
            x = np.where(np.isnan(x), np.float32(f["fill"]), x)
            if f["kind"] == "number":
                if f.get("log"):
                    x = np.log(np.maximum(x, np.float32(0)) + np.float32(1)).astype("float32")
                out[:, o] = (x - np.float32(f["mean"])) / np.float32(f["std"])
            else:
                bounds = np.asarray(f["boundaries"], "float32")
                out[np.arange(n), o + (x[:, None] >= bounds[None, :]).sum(1)] = 1.0
        else:
            index = {v: i + 1 for i, v in enumerate(f["vocabulary"])}
            keys = values.astype(str) if f["kind"] == "string" else values.astype("int64")
            slots = [index.get(k if f["kind"] == "string" else int(k), 0) for k in keys]
            out[np.arange(n), o + np.asarray(slots, int)] = 1.0
    return out


def quantize(x: np.ndarray, scale: float, zero_point: int) -> np.ndarray:
    """float -> int8 as TFLite does it (round half away from zero, like std::round)."""
    v = np.asarray(x, "float32") / np.float32(scale)
    rounded = np.sign(v) * np.floor(np.abs(v) + 0.5)
    return np.clip(rounded + zero_point, -128, 127).astype("int8")


def dequantize(q: np.ndarray, scale: float, zero_point: int) -> np.ndarray:
    return (np.asarray(q, "float32") - zero_point) * np.float32(scale)


# --- C++ --------------------------------------------------------------------------------------


def field(name: str) -> str:
    return f"{name}_" if name in CPP_KEYWORDS else name


def c_string(text: str) -> str:
    """A C string literal; non-ASCII and control bytes as 3-digit octal escapes (unambiguous)."""
    out = []
    for b in str(text).encode("utf-8"):
        ch = chr(b)
        if ch in '"\\':
            out.append("\\" + ch)
        elif 32 <= b < 127 and ch != "?":  # '?' escaped: no trigraphs
            out.append(ch)
        else:
            out.append(f"\\{b:03o}")
    return '"' + "".join(out) + '"'


def c_float(x: float) -> str:
    """A float32 literal that round-trips (9 significant digits), always with a point."""
    text = f"{float(np.float32(x)):.9g}"
    if "inf" in text or "nan" in text:
        return {"inf": "INFINITY", "-inf": "-INFINITY"}.get(text, "NAN")
    return (text if any(c in text for c in ".e") else text + ".0") + "f"


def c_value(f: dict[str, Any], value: Any) -> str:
    """A raw value as a C++ initializer for the RawRow field of feature `f`."""
    if f["kind"] in ("number", "bucket"):
        v = float(value)
        return "NAN" if np.isnan(v) else c_float(v)
    if f["kind"] == "string":
        return c_string(value)
    return f"INT64_C({int(value)})"


def header(glue: dict[str, Any], io: dict[str, dict], classes: list[str]) -> str:
    """tfstudio_features.h: the raw row, the preprocessing and (de)quantization functions."""
    lines = []
    for f in glue["features"]:
        kind = {"number": "float", "bucket": "float", "string": "const char*"}.get(
            f["kind"], "int64_t"
        )
        missing = {"float": "NAN", "const char*": 'nullptr or ""', "int64_t": "-1"}[kind]
        lines.append(
            f"  {kind} {field(f['input'])};  // {c_string(f['column'])}; {missing} if missing"
        )
    quantized = io["input"]["dtype"] == "int8"
    return "\n".join(
        [
            "// Generated by TF Studio: the model's preprocessing, done on the device.",
            "#pragma once",
            "",
            "#include <cstdint>",
            "",
            "namespace tfstudio {",
            "",
            f"constexpr int kFeatureCount = {glue['width']};  // the network's input vector",
            f"constexpr int kOutputCount = {int(np.prod(io['output']['shape']))};",
            f"constexpr bool kInputIsInt8 = {'true' if quantized else 'false'};",
            f"constexpr bool kOutputIsInt8 = {str(io['output']['dtype'] == 'int8').lower()};",
            f"constexpr float kInputScale = {c_float(io['input']['scale'])};",
            f"constexpr int kInputZeroPoint = {io['input']['zero_point']};",
            f"constexpr float kOutputScale = {c_float(io['output']['scale'])};",
            f"constexpr int kOutputZeroPoint = {io['output']['zero_point']};",
            f"constexpr int kClassCount = {len(classes)};",
            *(["extern const char* const kClassNames[kClassCount];"] if classes else []),
            "",
            "// One example, as the table's columns hold it.",
            "struct RawRow {",
            *lines,
            "};",
            "",
            "// Missing-value fill, log scale, normalisation, buckets, one-hots (as in training).",
            "void Preprocess(const RawRow& row, float features[kFeatureCount]);",
            "// float -> int8 with the input tensor's scale and zero point (as TFLite rounds).",
            "void QuantizeInput(const float features[kFeatureCount], int8_t out[kFeatureCount]);",
            "// int8 -> float with the output tensor's scale and zero point.",
            "void DequantizeOutput(const int8_t in[kOutputCount], float out[kOutputCount]);",
            "",
            "}  // namespace tfstudio",
            "",
        ]
    )


def source(glue: dict[str, Any], classes: list[str]) -> str:
    """tfstudio_features.cc: the constants as C arrays and the functions of the header."""
    tables, body = [], []
    for f in glue["features"]:
        name, o, w, x = f["input"], f["offset"], f["width"], f"row.{field(f['input'])}"
        if f["kind"] in ("number", "bucket"):
            body.append(f"  float v_{name} = ({x} != {x}) ? {c_float(f['fill'])} : {x};  // NaN")
        if f["kind"] == "number":
            if f.get("log"):  # LogScale: log(1 + max(v, 0))
                body.append(f"  v_{name} = logf(fmaxf(v_{name}, 0.0f) + 1.0f);")
            body.append(
                f"  features[{o}] = (v_{name} - {c_float(f['mean'])}) / {c_float(f['std'])};"
            )
        elif f["kind"] == "bucket":
            values = ", ".join(c_float(b) for b in f["boundaries"])
            tables.append(f"const float k_{name}_boundaries[] = {{{values}}};")
            body.append(
                f"  OneHot(features + {o}, {w}, Bucket(v_{name}, k_{name}_boundaries, {w - 1}));"
            )
        elif f["kind"] == "string":
            values = ",\n    ".join(c_string(v) for v in f["vocabulary"]) or '""'
            tables.append(f"const char* const k_{name}_vocabulary[] = {{\n    {values}}};")
            body.append(
                f"  OneHot(features + {o}, {w}, Lookup({x}, k_{name}_vocabulary, {w - 1}));"
            )
        else:
            values = ", ".join(f"INT64_C({v})" for v in f["vocabulary"]) or "INT64_C(0)"
            tables.append(f"const int64_t k_{name}_vocabulary[] = {{{values}}};")
            body.append(
                f"  OneHot(features + {o}, {w}, Lookup({x}, k_{name}_vocabulary, {w - 1}));"
            )
    names = ",\n    ".join(c_string(c) for c in classes)
    return "\n".join(
        [
            "// Generated by TF Studio from the run's preprocessing.keras (constants below).",
            '#include "tfstudio_features.h"',
            "",
            "#include <cmath>",
            "#include <cstring>",
            "",
            "namespace tfstudio {",
            *(
                [f"const char* const kClassNames[kClassCount] = {{\n    {names}}};"]
                if classes
                else []
            ),
            "",
            "namespace {",
            *tables,
            "",
            "// 1 + the vocabulary index, or 0 (the out-of-vocabulary slot) if absent or missing.",
            "[[maybe_unused]] int Lookup(const char* value, const char* const* vocabulary,",
            "                            int size) {",
            "  if (value == nullptr) return 0;",
            "  for (int i = 0; i < size; ++i) {",
            "    if (std::strcmp(value, vocabulary[i]) == 0) return i + 1;",
            "  }",
            "  return 0;",
            "}",
            "",
            "[[maybe_unused]] int Lookup(int64_t value, const int64_t* vocabulary, int size) {",
            "  for (int i = 0; i < size; ++i) {",
            "    if (value == vocabulary[i]) return i + 1;",
            "  }",
            "  return 0;",
            "}",
            "",
            "// How many boundaries are <= x (Keras Discretization / tf.raw_ops.Bucketize).",
            "[[maybe_unused]] int Bucket(float x, const float* boundaries, int size) {",
            "  int bucket = 0;",
            "  while (bucket < size && x >= boundaries[bucket]) ++bucket;",
            "  return bucket;",
            "}",
            "",
            "[[maybe_unused]] void OneHot(float* out, int width, int index) {",
            "  for (int i = 0; i < width; ++i) out[i] = (i == index) ? 1.0f : 0.0f;",
            "}",
            "}  // namespace",
            "",
            "void Preprocess(const RawRow& row, float features[kFeatureCount]) {",
            *body,
            "}",
            "",
            "void QuantizeInput(const float features[kFeatureCount], int8_t out[kFeatureCount]) {",
            "  for (int i = 0; i < kFeatureCount; ++i) {",
            "    float q = std::round(features[i] / kInputScale) + kInputZeroPoint;",
            "    out[i] = static_cast<int8_t>(q < -128.0f ? -128.0f : (q > 127.0f ? 127.0f : q));",
            "  }",
            "}",
            "",
            "void DequantizeOutput(const int8_t in[kOutputCount], float out[kOutputCount]) {",
            "  for (int i = 0; i < kOutputCount; ++i) {",
            "    out[i] = (static_cast<float>(in[i]) - kOutputZeroPoint) * kOutputScale;",
            "  }",
            "}",
            "",
            "}  // namespace tfstudio",
            "",
        ]
    )


def row_initializer(glue: dict[str, Any], raw: dict[str, np.ndarray], i: int) -> str:
    """`{...}` for a RawRow holding row `i` of the raw inputs (fields in declaration order)."""
    values = [c_value(f, np.asarray(raw[f["input"]]).reshape(-1)[i]) for f in glue["features"]]
    return "{" + ", ".join(values) + "}"


def preflight(folder: str | Path, variant: dict[str, Any] | None = None) -> str:
    """Why a microcontroller bundle cannot be made from this source ('' if it can be tried).

    TF-free: reads features.json and the layer list inside preprocessing.keras, so the Export
    page and `tfstudio export` say so before a worker starts. The worker's TFLM run decides.
    """
    import json
    import zipfile

    folder = Path(folder)
    try:
        contract = ModelContract.load(folder / "features.json")
    except (OSError, ValueError, TypeError) as exc:
        return f"the run's features.json cannot be read ({exc})"
    layers: list[tuple[str, str]] = []
    if contract.input_kind == "table":
        try:
            with zipfile.ZipFile(folder / "preprocessing.keras") as z:
                config = json.loads(z.read("config.json"))
        except (OSError, KeyError, zipfile.BadZipFile, json.JSONDecodeError):
            return "the run has no readable preprocessing.keras to turn into C++"
        layers = [
            (lay.get("config", {}).get("name", ""), lay.get("class_name", ""))
            for lay in config.get("config", {}).get("layers", [])
        ]
    why = refusal(contract, layers)
    if why or not variant:
        return why
    if variant.get("network_path") or variant.get("scope") == "network":
        return ""
    return (
        f"the {variant['method']} variant is an end-to-end .tflite with the preprocessing inside "
        "(hash-table lookups and FillMissing's run-time FILL, which TFLite Micro cannot run): "
        "export the training run, or an int8/QAT variant of the network, for a microcontroller"
    )
