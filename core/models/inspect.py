"""Parameter counts of catalog models at a nominal input, cached in the workspace.

Counting means building the model with Keras, so it happens in a worker (the Models page) or in
the CLI process, once per Keras version; the cache is `catalog_params.json` in the workspace.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from core.models.backbones import RANDOM
from core.models.catalog import build, list_entries
from core.runs.context import JobContext, workspace_of
from core.workspace import Workspace

# The input each kind of model is counted at (the counts depend on it; the page says so).
NOMINAL: dict[str, dict[str, Any]] = {
    "table": {"shape": (10,), "outputs": 3, "task": "classification"},
    "image": {"shape": (224, 224, 3), "outputs": 3, "task": "image-classification"},
    "text": {
        "shape": (64,),
        "outputs": 2,
        "task": "text-classification",
        "hp": {"vocabulary": 10_000},
    },
    "sequence": {"shape": (24, 1), "outputs": (1, 1), "task": "forecasting"},
}
CACHE = "catalog_params.json"


def nominal_input(kind: str) -> str:
    n = NOMINAL[kind]
    return f"{n['shape']} -> {n['outputs']}"


def cached_counts(ws: Workspace) -> dict[str, int]:
    path = ws.root / CACHE
    if not path.is_file():
        return {}
    data = json.loads(path.read_text())
    import importlib.metadata

    if data.get("keras") != importlib.metadata.version("keras"):
        return {}
    return data.get("counts", {})


def count_parameters(
    ws: Workspace, names: list[str] | None = None, reporter=None
) -> dict[str, int]:
    """Build each model (random weights, no download) and record its parameter count."""
    import importlib.metadata

    import keras

    counts = cached_counts(ws)
    entries = [e for e in list_entries() if names is None or e.name in names]
    todo = [e for e in entries if e.name not in counts]
    for i, entry in enumerate(todo):
        if reporter:
            reporter.progress("counting", i, len(todo), f"building {entry.name}")
        n = NOMINAL[entry.input_kind]
        # random weights: the count is the same, and nothing is downloaded (#34)
        hp = {**n.get("hp", {}), **({"weights": RANDOM} if ":" in entry.name else {})}
        model = build(entry.name, hp, n["shape"], n["task"], n["outputs"])
        counts[entry.name] = int(model.count_params())
        keras.backend.clear_session()
    tmp = ws.root / f".{CACHE}.{os.getpid()}"
    tmp.write_text(json.dumps({"keras": importlib.metadata.version("keras"), "counts": counts}))
    os.replace(tmp, ws.root / CACHE)
    return counts


def run_inspect_job(
    spec, reporter, run_dir: Path, context: JobContext | None = None
) -> dict[str, Any]:
    """Worker handler: count every catalog model's parameters into the workspace cache."""
    ws = workspace_of(context)
    counts = count_parameters(ws, reporter=reporter)
    return {"counts": counts}
