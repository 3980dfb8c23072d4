"""Fake `predict` handlers for page tests: they check the input like the real job, no TensorFlow."""

from __future__ import annotations

from pathlib import Path

from core.errors import BadInput
from core.predict.inputs import (
    load_contract,
    parse_row,
    parse_text,
    pick_window,
    saved_windows,
    source_run_dir,
)
from core.runs.store import RunStore
from core.workspace import Workspace


def predict(spec, reporter, run_dir: Path):
    ws = Workspace.resolve()
    source = source_run_dir(RunStore(ws.db_path), ws, spec.source_run)
    contract = load_contract(source)
    result = {
        "task": contract.task,
        "input_kind": contract.input_kind,
        "classes": contract.classes,
        "target": contract.target,
    }
    if contract.input_kind == "sequence":
        window = pick_window(saved_windows(source), spec.window_index)
        last = window[0, -1, : len(contract.target.split(","))]
        return {
            **result,
            "window_index": spec.window_index,
            "prediction": [[float(v) + step for v in last] for step in (1, 2)],
        }
    if contract.input_kind == "text":
        result["text"] = parse_text(spec.inputs_json, contract)
    else:
        result["row"] = parse_row(spec.inputs_json, contract).iloc[0].to_dict()
    return {
        **result,
        "probabilities": [0.1, 0.7, 0.2][: len(contract.classes)],
        "predicted_class": contract.classes[1],
    }


def refuse(spec, reporter, run_dir: Path):
    raise BadInput("column 'sepal_length' needs a number, not 'abc'")
