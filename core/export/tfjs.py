"""TF.js graph model bundles: conversion from a SavedModel and a self-contained `index.html`.

The page loads the model from `model.js` (the graph and its weights inlined, base64) with the
`@tensorflow/tfjs` copy in `tf.min.js`, so it works from a local folder opened as `file://`
without internet; `model.json` + weight shards are there too for `tf.loadGraphModel(url)` when
the folder is served over HTTP. The page predicts on the example rows in `examples.js`, shows the
first few and leaves every prediction in `window.TFSTUDIO_RESULT` (read by the parity check).
"""

from __future__ import annotations

import base64
import importlib.util
import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[2]
TFJS_DIST = REPO / "web" / "node_modules" / "@tensorflow" / "tfjs" / "dist" / "tf.min.js"
QUANTIZATIONS = ("", "uint8", "float16")


def tfjs_library() -> Path | None:
    """The `tf.min.js` that `make setup` installed from the npm registry (None when missing)."""
    return TFJS_DIST if TFJS_DIST.is_file() else None


def tfjs_version() -> str:
    package = TFJS_DIST.parent.parent / "package.json"
    try:
        return json.loads(package.read_text())["version"]
    except (OSError, ValueError, KeyError):
        return "unknown"


def _import_converter():
    """tensorflowjs' `convert_tf_saved_model`.

    tensorflowjs 4.22 imports TensorFlow Decision Forests at the top of its SavedModel converter,
    only so that TF-DF's custom ops are registered when a TF-DF SavedModel is loaded. TF-DF is
    built for TensorFlow 2.19 alone, so this project does not install it (pyproject.toml,
    docs/stack.md) and never converts TF-DF models (trees go through ydf). When TF-DF is missing,
    an empty module answers that one import, for the converter's import only, and is removed
    again so that nothing else in the process can mistake it for TF-DF.
    """
    import sys
    import types

    name = "tensorflow_decision_forests"
    if name in sys.modules or importlib.util.find_spec(name) is not None:
        from tensorflowjs.converters import convert_tf_saved_model

        return convert_tf_saved_model
    sys.modules[name] = types.ModuleType(name, "absent: TF.js conversion of TF-DF models only")
    try:
        from tensorflowjs.converters import convert_tf_saved_model
    finally:
        del sys.modules[name]
    return convert_tf_saved_model


def convert(saved_model: Path, out_dir: Path, quantize: str = "") -> Path:
    """SavedModel -> TF.js graph model (`model.json` + shards), optionally uint8/float16."""
    convert_tf_saved_model = _import_converter()

    if quantize not in QUANTIZATIONS:
        raise ValueError(f"unknown TF.js quantization {quantize!r}")
    out_dir.mkdir(parents=True, exist_ok=True)
    convert_tf_saved_model(
        str(saved_model),
        str(out_dir),
        signature_def="serving_default",
        saved_model_tags="serve",
        quantization_dtype_map={quantize: "*"} if quantize else None,
    )
    return out_dir / "model.json"


# Graph plumbing the converter removes or handles itself (not in TF.js's kernel lists).
STRUCTURAL_OPS = {
    "Placeholder",
    "Const",
    "Identity",
    "IdentityN",
    "NoOp",
    "StatefulPartitionedCall",
    "PartitionedCall",
    "ReadVariableOp",
    "VarHandleOp",
    "AssignVariableOp",
    "_Arg",
    "_Retval",
}


def tfjs_ops() -> set[str]:
    """The TensorFlow op names TF.js graph models implement (the converter's own op lists)."""
    import importlib.util

    # found without importing tensorflowjs (its import pulls TF Decision Forests)
    spec = importlib.util.find_spec("tensorflowjs")
    if spec is None or not spec.submodule_search_locations:
        return set()
    folder = Path(next(iter(spec.submodule_search_locations))) / "op_list"
    names: set[str] = set()
    for f in folder.glob("*.json"):
        names.update(op["tfOpName"] for op in json.loads(f.read_text()))
    return names


def unsupported_ops(saved_model: Path) -> list[str]:
    """Ops of the SavedModel's serving signature that TF.js lacks (functions included)."""
    import tensorflow as tf

    fn = tf.saved_model.load(str(saved_model)).signatures["serving_default"]
    graph = fn.graph.as_graph_def()
    ops = {n.op for n in graph.node}
    for function in graph.library.function:
        ops.update(n.op for n in function.node_def)
    return sorted(ops - tfjs_ops() - STRUCTURAL_OPS)


def _inline_model(model_dir: Path) -> dict[str, Any]:
    """ModelArtifacts for `tf.io.fromMemory`: the topology, weight specs and weights in base64."""
    meta = json.loads((model_dir / "model.json").read_text())
    specs: list[dict[str, Any]] = []
    data = b""
    for group in meta.pop("weightsManifest", []):
        specs.extend(group["weights"])
        for shard in group["paths"]:
            data += (model_dir / shard).read_bytes()
    meta["weightSpecs"] = specs
    meta["weightDataBase64"] = base64.b64encode(data).decode("ascii")
    return meta


def example_payload(
    arrays: dict[str, np.ndarray], signature_inputs: dict[str, Any], task: str, classes: list
) -> dict[str, Any]:
    """Example rows as JSON: per model input its dtype, shape and flat values (NaN as null)."""
    inputs = {}
    for name, value in arrays.items():
        value = np.asarray(value)
        if value.dtype.kind in "OUS":
            flat: list[Any] = [str(v) for v in value.reshape(-1)]
            dtype = "string"
        else:
            flat = [None if np.isnan(v) else float(v) for v in value.astype("float64").reshape(-1)]
            dtype = "int32" if value.dtype.kind in "iu" else "float32"
        inputs[name] = {
            "dtype": dtype,
            "shape": list(value.shape),
            "data": flat,
            "tensor": _graph_input(name, signature_inputs),
        }
    rows = int(next(iter(arrays.values())).shape[0])
    return {"inputs": inputs, "rows": rows, "task": task, "classes": list(classes)}


def _graph_input(key: str, signature_inputs: dict[str, Any]) -> str:
    """The graph model's input tensor for a SavedModel input key (TF may lowercase node names)."""
    names = [spec.get("name", k) for k, spec in signature_inputs.items()]
    for candidate in (key, f"{key}:0"):
        if candidate in names:
            return candidate
    lowered = {n.split(":")[0].lower(): n for n in names}
    for candidate in (key.lower(), f"serving_default_{key}".lower()):
        if candidate in lowered:
            return lowered[candidate]
    return key


INDEX_HTML = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>TF Studio · TF.js model</title>
<style>
 body { font: 15px/1.5 system-ui, sans-serif; margin: 2rem auto; max-width: 60rem;
        padding: 0 1rem; }
 table { border-collapse: collapse; margin-top: 1rem; }
 td, th { border: 1px solid #ccc; padding: .25rem .6rem; text-align: right; }
 #status { font-weight: 600; }
 .error { color: #b00020; }
</style>
<script src="tf.min.js"></script>
<script src="model.js"></script>
<script src="examples.js"></script>
</head>
<body>
<h1>TF.js model</h1>
<p>Runs in this browser with <code>@tensorflow/tfjs</code> (<code>tf.min.js</code> in this
folder); no server and no internet needed. Predictions on the example rows from the test split:</p>
<p id="status">loading…</p>
<div id="out"></div>
<script>
function b64ToBuffer(b64) {
  const bin = atob(b64);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return bytes.buffer;
}
function toTensor(spec) {
  if (spec.dtype === "string") return tf.tensor(spec.data, spec.shape, "string");
  const values = spec.data.map(v => (v === null ? NaN : v));
  return tf.tensor(values, spec.shape, spec.dtype);
}
async function main() {
  const status = document.getElementById("status");
  try {
    const m = window.TFSTUDIO_MODEL;
    const artifacts = Object.assign({}, m);
    delete artifacts.weightDataBase64;
    artifacts.weightData = b64ToBuffer(m.weightDataBase64);
    const model = await tf.loadGraphModel(tf.io.fromMemory(artifacts));
    const ex = window.TFSTUDIO_EXAMPLES;
    const names = Object.keys(ex.inputs);
    let feed;
    if (names.length === 1) {
      feed = toTensor(ex.inputs[names[0]]);
    } else {
      // a dict input: feed each tensor under the graph's input name for it
      feed = {};
      for (const name of names) feed[ex.inputs[name].tensor] = toTensor(ex.inputs[name]);
    }
    let out = await model.executeAsync(feed);
    if (Array.isArray(out)) out = out[0];
    else if (!(out instanceof tf.Tensor)) out = Object.values(out)[0];
    const predictions = await out.array();
    window.TFSTUDIO_RESULT = { predictions: predictions, backend: tf.getBackend(),
                               version: tf.version.tfjs };
    status.textContent = `${predictions.length} predictions with @tensorflow/tfjs ` +
      `${tf.version.tfjs} (${tf.getBackend()} backend)`;
    render(predictions, ex);
  } catch (err) {
    window.TFSTUDIO_RESULT = { error: String(err && err.message ? err.message : err) };
    status.textContent = "error: " + window.TFSTUDIO_RESULT.error;
    status.className = "error";
  }
}
function render(predictions, ex) {
  const rows = predictions.slice(0, 10);
  let html = "<table><tr><th>row</th>";
  const isClass = ex.classes.length > 0;
  html += isClass ? "<th>predicted class</th><th>probability</th>" : "<th>prediction</th>";
  html += "</tr>";
  rows.forEach((p, i) => {
    const flat = [].concat(...[p]).flat(Infinity);
    if (isClass) {
      let best = 0;
      flat.forEach((v, j) => { if (v > flat[best]) best = j; });
      const label = ex.classes[best] !== undefined ? ex.classes[best] : best;
      html += `<tr><td>${i}</td><td>${label}</td><td>${flat[best].toFixed(4)}</td></tr>`;
    } else {
      html += `<tr><td>${i}</td><td>${flat.map(v => v.toFixed(4)).join(", ")}</td></tr>`;
    }
  });
  document.getElementById("out").innerHTML = html + "</table>";
}
main();
</script>
</body>
</html>
"""


def write_bundle(
    model_dir: Path, bundle: Path, examples: dict[str, Any], library: Path | None
) -> None:
    """model.json + shards + model.js + examples.js + index.html (+ tf.min.js) in `bundle`."""
    bundle.mkdir(parents=True, exist_ok=True)
    for f in model_dir.iterdir():
        if f.is_file():
            shutil.copy2(f, bundle / f.name)
    inline = json.dumps(_inline_model(model_dir))
    (bundle / "model.js").write_text(f"window.TFSTUDIO_MODEL = {inline};\n")
    (bundle / "examples.js").write_text(f"window.TFSTUDIO_EXAMPLES = {json.dumps(examples)};\n")
    (bundle / "index.html").write_text(INDEX_HTML)
    if library is not None:
        shutil.copy2(library, bundle / "tf.min.js")


def graph_inputs(model_dir: Path) -> dict[str, Any]:
    """The graph model's signature inputs: key -> {name, dtype, shape}."""
    meta = json.loads((model_dir / "model.json").read_text())
    return (meta.get("signature") or {}).get("inputs", {})
