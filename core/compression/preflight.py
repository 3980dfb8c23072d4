"""Before a compression job starts: which layers each method can handle, and why not.

Pure Python (no TensorFlow): a `.keras` file is a zip whose `config.json` lists the layers, so the
page and the CLI can explain an unsupported method before any worker starts.
"""

from __future__ import annotations

import json
import math
import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from core.errors import BadInput
from core.specs import COMPRESS_METHODS, CompressSpec

PTQ_METHODS = ("dynamic", "float16", "int8")
BRIDGE_METHODS = ("prune", "cluster", "qat")

METHOD_LABELS = {
    "dynamic": "Dynamic-range quantization (int8 weights, float activations)",
    "float16": "Float16 quantization (half-precision weights)",
    "int8": "Full-integer int8 quantization (representative data from the training split)",
    "prune": "Magnitude pruning (fine-tuned, then stripped)",
    "cluster": "Weight clustering (fine-tuned, then stripped)",
    "qat": "Quantization-aware training, then int8",
    "prune+int8": "Pruning, then full-integer int8 (zeros stay zeros)",
    "cluster+int8": "Clustering, then full-integer int8",
}

# What the tf_keras weight bridge rebuilds: "wrap" layers get the method's wrapper (they hold the
# weights), "keep" layers are rebuilt as they are, "input" is the input.
BRIDGE_LAYERS = {
    "InputLayer": "input",
    "Dense": "wrap",
    "Dropout": "keep",
    "Rescaling": "keep",
    "Reshape": "keep",
    "Flatten": "keep",
}
# Preprocessing layers whose one-hot outputs come out wrong in full-int8 TFLite (seen with
# StringLookup on TF 2.19): int8 then quantizes the network alone.
NON_INT8_PREPROCESSING = ("StringLookup", "IntegerLookup", "Hashing")


@dataclass
class LayerRow:
    name: str
    type: str
    params: dict[str, str] = field(default_factory=dict)  # method -> wrapped | kept | unsupported


@dataclass
class MethodCheck:
    method: str
    supported: bool
    scope: str  # end-to-end | network
    reason: str = ""
    note: str = ""


@dataclass
class Preflight:
    run_id: str
    input_kind: str
    task: str
    layers: list[LayerRow]
    preprocessing: list[str]
    methods: dict[str, MethodCheck]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def table(self) -> list[dict[str, str]]:
        """One row per network layer, one column per fine-tuning method (for a dataframe)."""
        return [
            {"layer": r.name, "type": r.type, **{m: r.params.get(m, "") for m in BRIDGE_METHODS}}
            for r in self.layers
        ]


def keras_layers(path: str | Path) -> list[dict[str, Any]]:
    """The top-level layers of a `.keras` file (class_name, name, config, inbound names)."""
    try:
        with zipfile.ZipFile(path) as z:
            config = json.loads(z.read("config.json"))
    except (OSError, KeyError, zipfile.BadZipFile, json.JSONDecodeError) as exc:
        raise BadInput(f"cannot read the layer list of {Path(path).name}: {exc}") from None
    layers = []
    for layer in config.get("config", {}).get("layers", []):
        inbound = []
        for node in layer.get("inbound_nodes", []):
            for arg in node.get("args", []):
                for item in arg if isinstance(arg, list) else [arg]:
                    if isinstance(item, dict) and item.get("class_name") == "__keras_tensor__":
                        inbound.append(item["config"]["keras_history"][0])
        layers.append(
            {
                "class_name": layer.get("class_name", ""),
                "name": layer.get("name") or layer.get("config", {}).get("name", ""),
                "config": layer.get("config", {}),
                "inbound": inbound,
            }
        )
    return layers


def _bridge_reasons(layers: list[dict[str, Any]]) -> list[str]:
    """Why the tf_keras bridge cannot rebuild this network (empty: it can)."""
    reasons = []
    previous = None
    for layer in layers:
        kind = BRIDGE_LAYERS.get(layer["class_name"])
        if kind is None:
            reasons.append(
                f"layer {layer['name']!r} ({layer['class_name']}): the weight bridge to tf_keras "
                "rebuilds Dense networks (Dense, Dropout, Rescaling, Reshape, Flatten) only"
            )
        elif previous is not None and layer["inbound"] not in ([previous], []):
            reasons.append(
                f"layer {layer['name']!r} takes {', '.join(layer['inbound']) or 'no input'}: "
                "the bridge rebuilds a plain chain of layers only"
            )
        previous = layer["name"]
    if not any(layer["class_name"] == "Dense" for layer in layers):
        reasons.append("the network has no Dense layer whose weights the toolkit could wrap")
    return reasons


def preflight(run_id: str, run_dir: str | Path) -> Preflight:
    """Which method can compress this run's model, layer by layer."""
    folder = Path(run_dir)
    features = folder / "features.json"
    if not (folder / "model.keras").is_file() or not features.is_file():
        raise BadInput(f"run {run_id} has no model.keras and features.json to compress")
    contract = json.loads(features.read_text())
    input_kind, task = contract.get("input_kind", "table"), contract.get("task", "")
    net_path = folder / "network.keras"
    layers = keras_layers(net_path) if net_path.is_file() else []
    pre_path = folder / "preprocessing.keras"
    pre_types = [lay["class_name"] for lay in keras_layers(pre_path)] if pre_path.is_file() else []

    checks: dict[str, MethodCheck] = {}
    if input_kind != "table":
        why = (
            f"this is a {input_kind} model: compression takes table models so far (the "
            "representative data and the test labels are rebuilt from a table's split)"
        )
        for m in COMPRESS_METHODS:
            checks[m] = MethodCheck(m, False, "end-to-end", why)
        return Preflight(run_id, input_kind, task, [], pre_types, checks)

    lookups = sorted({t for t in pre_types if t in NON_INT8_PREPROCESSING})
    for m in PTQ_METHODS:
        note = ""
        scope = "end-to-end"
        if m == "int8" and lookups:
            scope = "network"
            note = (
                f"the preprocessing has {', '.join(lookups)}: in full int8 their one-hot outputs "
                "come out wrong, so the network alone is quantized (it takes the preprocessed "
                "feature vector: run preprocessing.keras first)"
            )
        checks[m] = MethodCheck(m, True, scope, note=note)
    reasons = _bridge_reasons(layers) if layers else ["the run has no network.keras"]
    for m in BRIDGE_METHODS:
        scope = "network" if m == "qat" else "end-to-end"
        note = (
            "the network is trained with fake quantization and converted to int8 alone; it "
            "takes the preprocessed feature vector"
            if m == "qat"
            else "the network is fine-tuned through tf_keras, then its weights come back into "
            "the Keras 3 end-to-end model"
        )
        checks[m] = MethodCheck(
            m, not reasons, scope, "; ".join(reasons), note if not reasons else ""
        )

    for combo in ("prune+int8", "cluster+int8"):
        base = checks[combo.split("+")[0]]
        checks[combo] = MethodCheck(
            combo,
            base.supported,
            checks["int8"].scope,
            base.reason,
            checks["int8"].note if base.supported else "",
        )

    rows = []
    for layer in layers:
        kind = BRIDGE_LAYERS.get(layer["class_name"])
        cell = {"wrap": "wrapped", "keep": "kept as is", "input": "input"}.get(kind, "unsupported")
        params = {m: cell for m in BRIDGE_METHODS}
        if kind == "keep" and layer["class_name"] != "Dropout":
            params["qat"] = "kept in float"
        rows.append(LayerRow(layer["name"], layer["class_name"], params))
    return Preflight(run_id, input_kind, task, rows, pre_types, checks)


def parse_methods(method: str) -> list[str]:
    methods = [m.strip().lower() for m in method.split(",") if m.strip()]
    if not methods:
        raise BadInput(f"choose at least one method: {', '.join(COMPRESS_METHODS)}")
    unknown = [m for m in methods if m not in COMPRESS_METHODS]
    if unknown:
        raise BadInput(
            f"unknown method(s) {', '.join(unknown)}; choose from {', '.join(COMPRESS_METHODS)}"
        )
    return list(dict.fromkeys(methods))


def validate_params(spec: CompressSpec, methods: list[str]) -> None:
    methods = [m.split("+")[0] for m in methods]  # prune+int8 checks as prune
    if "prune" in methods and not (0 < spec.sparsity < 1 and math.isfinite(spec.sparsity)):
        raise BadInput(f"the sparsity must be in (0, 1), got {spec.sparsity}")
    if "cluster" in methods and spec.clusters < 2:
        raise BadInput(f"clustering needs at least 2 clusters, got {spec.clusters}")
    if spec.epochs < 0:
        raise BadInput(f"epochs must be 0 or more, got {spec.epochs}")
    for m in ("prune", "qat"):
        if m in methods and spec.epochs < 1:
            raise BadInput(f"{m} needs at least 1 fine-tuning epoch")


def check_spec(spec: CompressSpec, store, ws) -> tuple[list[str], Preflight]:
    """Everything that can be refused before a job starts (BadInput with the reason)."""
    from core.export.job import source_model_dir

    if not spec.source_run:
        raise BadInput("choose a training run to compress")
    methods = parse_methods(spec.method)
    validate_params(spec, methods)
    folder = source_model_dir(store, ws, spec.source_run)
    report = preflight(spec.source_run, folder)
    refused = [report.methods[m] for m in methods if not report.methods[m].supported]
    if refused:
        raise BadInput(
            "; ".join(f"{c.method} is not available for this model: {c.reason}" for c in refused)
        )
    return methods, report
