"""Fake `predict` handlers for page tests: they check the input with the real job's helpers, no
TensorFlow."""

from __future__ import annotations

from pathlib import Path

from core.errors import BadInput
from core.predict.job import model_inputs, source_and_contract
from core.workspace import Workspace


def predict(spec, reporter, run_dir: Path):
    source, contract = source_and_contract(spec, Workspace.resolve())
    (kind, value), echo = model_inputs(spec, contract, source)
    result = {
        "task": contract.task,
        "input_kind": contract.input_kind,
        "classes": contract.classes,
        "target": contract.target,
        **echo,
    }
    if kind == "sequence":
        last = value[0, -1, : len(contract.target.split(","))]
        return {**result, "prediction": [[float(v) + step for v in last] for step in (1, 2)]}
    return {
        **result,
        "probabilities": [0.1, 0.7, 0.2][: len(contract.classes)],
        "predicted_class": contract.classes[1],
    }


def refuse(spec, reporter, run_dir: Path):
    raise BadInput("column 'sepal_length' needs a number, not 'abc'")
