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
from core.specs import CENTROID_INITS, COMPRESS_METHODS, PRUNE_SCHEDULES, CompressSpec

PTQ_METHODS = ("dynamic", "float16", "int8")
BRIDGE_METHODS = ("prune", "cluster", "qat")
# Methods that run through the tf_keras weight bridge (fine-tuning), and their first step.
TUNED_METHODS = ("prune", "cluster", "qat", "prune+int8", "cluster+int8", "pqat", "cqat")
BASE_METHOD = {"prune+int8": "prune", "cluster+int8": "cluster", "pqat": "prune", "cqat": "cluster"}

METHOD_LABELS = {
    "dynamic": "Dynamic-range quantization (int8 weights, float activations)",
    "float16": "Float16 quantization (half-precision weights)",
    "int8": "Full-integer int8 quantization (representative data from the training split)",
    "prune": "Magnitude pruning (fine-tuned, then stripped)",
    "cluster": "Weight clustering (fine-tuned, then stripped)",
    "qat": "Quantization-aware training, then int8",
    "prune+int8": "Pruning, then full-integer int8 (zeros stay zeros)",
    "cluster+int8": "Clustering, then full-integer int8",
    "pqat": "Pruning, then sparsity-preserving QAT (PQAT), int8",
    "cqat": "Clustering, then cluster-preserving QAT (CQAT), int8",
}

# What each fine-tuning method wraps, by Keras layer class (tfmot 0.8.1's registries for the
# layers this project's models use): pruning and clustering take the kernels of dense,
# convolution, embedding and recurrent layers; the default 8-bit QAT scheme annotates Dense and
# Conv2D (Conv1D, Embedding and recurrent layers stay in float).
WRAPS = {
    "prune": ("Dense", "Conv1D", "Conv2D", "Embedding", "LSTM", "GRU"),
    "cluster": ("Dense", "Conv1D", "Conv2D", "Embedding", "LSTM", "GRU"),
    "qat": ("Dense", "Conv2D"),
}
# Layers the bridge rebuilds in tf_keras as they are (no weights to wrap, or left in float).
KEPT_LAYERS = (
    "Dropout",
    "Rescaling",
    "Reshape",
    "Flatten",
    "Add",
    "MaxPooling1D",
    "MaxPooling2D",
    "GlobalAveragePooling1D",
    "GlobalAveragePooling2D",
    "LastValue",
)
BRIDGE_LAYERS = {
    "InputLayer": "input",
    **{k: "wrap" for k in WRAPS["prune"]},
    **{k: "keep" for k in KEPT_LAYERS},
}
# Preprocessing layers whose one-hot outputs come out wrong in full-int8 TFLite (seen with
# StringLookup on TF 2.19): int8 then quantizes the network alone.
NON_INT8_PREPROCESSING = ("StringLookup", "IntegerLookup", "Hashing")
# Why int8 quantizes the network alone for the other input kinds (preprocessing stays float).
NETWORK_INT8_REASON = {
    "image": "the preprocessing resizes images of any size (Resizing) and rescales them",
    "text": "the preprocessing turns strings into token ids (TextVectorization): strings "
    "cannot be quantized",
    "sequence": "the preprocessing normalises the window with the training statistics",
}


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
    return graph_layers(config.get("config", {}))


def _tensors(item: Any) -> list[str]:
    """Names of the layers whose outputs a node argument holds (nested lists/tuples)."""
    if isinstance(item, (list, tuple)):
        return [n for sub in item for n in _tensors(sub)]
    if isinstance(item, dict) and item.get("class_name") == "__keras_tensor__":
        return [item["config"]["keras_history"][0]]
    return []


def graph_layers(config: dict[str, Any]) -> list[dict[str, Any]]:
    """The layers of a functional model's config, in order, with the layers they take."""
    layers = []
    for layer in config.get("layers", []):
        inbound = []
        for node in layer.get("inbound_nodes", []):
            inbound += _tensors(node.get("args", []))
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
    names = set()
    for layer in layers:
        kind = BRIDGE_LAYERS.get(layer["class_name"])
        if kind is None:
            reasons.append(
                f"layer {layer['name']!r} ({layer['class_name']}): the weight bridge to tf_keras "
                "rebuilds Dense, Conv1D/Conv2D, Embedding, LSTM/GRU, pooling, Dropout, "
                "Rescaling, Reshape, Flatten, Add and LastValue layers only"
            )
        elif kind != "input" and not layer["inbound"]:
            reasons.append(f"layer {layer['name']!r} has no input in the saved graph")
        elif any(n not in names for n in layer["inbound"]):
            reasons.append(f"layer {layer['name']!r} takes a layer defined after it")
        names.add(layer["name"])
    return reasons


def _method_reason(method: str, layers: list[dict[str, Any]], reasons: list[str]) -> str:
    if reasons:
        return "; ".join(reasons)
    if not any(layer["class_name"] in WRAPS[method] for layer in layers):
        kinds = ", ".join(WRAPS[method])
        return f"the network has no layer this method wraps ({kinds})"
    return ""


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
    lookups = sorted({t for t in pre_types if t in NON_INT8_PREPROCESSING})
    for m in PTQ_METHODS:
        note = ""
        scope = "end-to-end"
        if m == "int8" and input_kind != "table":
            scope = "network"
            note = (
                f"{NETWORK_INT8_REASON.get(input_kind, 'the preprocessing stays float')}: the "
                "network alone is quantized and the preprocessing stays float (the export "
                "bundle carries it as preprocessing.tflite)"
            )
        elif m == "int8" and lookups:
            scope = "network"
            note = (
                f"the preprocessing has {', '.join(lookups)}: in full int8 their one-hot outputs "
                "come out wrong, so the network alone is quantized (it takes the preprocessed "
                "feature vector: run preprocessing.keras first)"
            )
        if m != "int8" and input_kind == "text":
            note = (
                "TextVectorization needs TensorFlow (Flex) ops: the model keeps them in float "
                "and the app needs the Flex delegate"
            )
        checks[m] = MethodCheck(m, True, scope, note=note)
    reasons = _bridge_reasons(layers) if layers else ["the run has no network.keras"]
    for m in BRIDGE_METHODS:
        scope = "network" if m == "qat" else "end-to-end"
        note = (
            "the network is trained with fake quantization and converted to int8 alone; it "
            "takes the preprocessed features"
            if m == "qat"
            else "the network is fine-tuned through tf_keras, then its weights come back into "
            "the Keras 3 end-to-end model"
        )
        why = _method_reason(m, layers, reasons)
        checks[m] = MethodCheck(m, not why, scope, why, "" if why else note)

    for combo in ("prune+int8", "cluster+int8"):
        base = checks[combo.split("+")[0]]
        checks[combo] = MethodCheck(
            combo,
            base.supported,
            checks["int8"].scope,
            base.reason,
            checks["int8"].note if base.supported else "",
        )
    for combo, base_name in (("pqat", "prune"), ("cqat", "cluster")):
        base, q = checks[base_name], checks["qat"]
        why = base.reason or q.reason
        checks[combo] = MethodCheck(
            combo,
            not why,
            "network",
            why,
            ""
            if why
            else f"{base_name} first, then QAT that keeps the "
            f"{'zeros' if base_name == 'prune' else 'clusters'} (tfmot collab_opts); the "
            "network is converted to int8 alone",
        )

    rows = []
    for layer in layers:
        kind = BRIDGE_LAYERS.get(layer["class_name"])
        params = {}
        for m in BRIDGE_METHODS:
            if kind is None:
                params[m] = "unsupported"
            elif kind == "input":
                params[m] = "input"
            elif layer["class_name"] in WRAPS[m]:
                params[m] = "wrapped"
            elif m == "qat" and layer["class_name"] != "Dropout":
                params[m] = "kept in float"
            else:
                params[m] = "kept as is"
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
    methods = [BASE_METHOD.get(m, m) for m in methods]  # prune+int8 and pqat check as prune
    if "prune" in methods and not (0 < spec.sparsity < 1 and math.isfinite(spec.sparsity)):
        raise BadInput(f"the sparsity must be in (0, 1), got {spec.sparsity}")
    if "cluster" in methods and spec.clusters < 2:
        raise BadInput(f"clustering needs at least 2 clusters, got {spec.clusters}")
    if spec.epochs < 0:
        raise BadInput(f"epochs must be 0 or more, got {spec.epochs}")
    for m in ("prune", "qat"):
        if m in methods and spec.epochs < 1:
            raise BadInput(f"{m} needs at least 1 fine-tuning epoch")
    if "prune" in methods and spec.schedule not in PRUNE_SCHEDULES:
        raise BadInput(
            f"unknown pruning schedule {spec.schedule!r}; choose {' or '.join(PRUNE_SCHEDULES)}"
        )
    if "cluster" in methods and spec.centroids not in CENTROID_INITS:
        raise BadInput(
            f"unknown centroid initialisation {spec.centroids!r}; choose from "
            f"{', '.join(CENTROID_INITS)}"
        )


def check_spec(spec: CompressSpec, store, ws) -> tuple[list[str], Preflight]:
    """Everything that can be refused before a job starts (BadInput with the reason)."""
    from core.export.source import source_model_dir

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
