"""The public training toolkit (core/training/build.py): pure parts, and no private imports."""

from __future__ import annotations

import ast
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest

from core.errors import BadInput
from core.specs import TrainSpec
from core.training.build import (
    FAMILY,
    class_weight_for,
    head_rows,
    learning_rate_for,
    loss_for,
    with_task,
)

REPO = Path(__file__).resolve().parents[1]


class Events:
    def __init__(self):
        self.lines: list[str] = []

    def event(self, message: str, level: str = "info") -> None:
        self.lines.append(message)


def _prepared(labels, classes, is_classification=True):
    contract = types.SimpleNamespace(classes=classes)
    return types.SimpleNamespace(
        train_labels=np.asarray(labels), contract=contract, is_classification=is_classification
    )


def test_balanced_class_weights_are_n_over_k_times_count():
    prepared = _prepared([0, 0, 0, 1], ["a", "b"])
    events = Events()
    weights = class_weight_for(TrainSpec(class_weights="balanced"), prepared, events)
    assert weights == {0: 4 / (2 * 3), 1: 4 / (2 * 1)}
    assert events.lines == ["class weights: a 0.67, b 2.00"]
    assert class_weight_for(TrainSpec(), prepared, events) is None
    with pytest.raises(BadInput, match="choose none or balanced"):
        class_weight_for(TrainSpec(class_weights="heavy"), prepared, events)


def test_loss_task_rows_and_rate():
    assert loss_for(_prepared([], [])) == ("sparse_categorical_crossentropy", ["accuracy"])
    assert loss_for(_prepared([], [], is_classification=False)) == ("mse", ["mae"])
    assert with_task(TrainSpec(), "regression").task == "regression"
    assert head_rows({"a": np.arange(5)}, 2)["a"].tolist() == [0, 1]
    assert head_rows(np.arange(5), 3).tolist() == [0, 1, 2]
    trial = TrainSpec(hyperparameters={"learning_rate": 0.05})
    assert learning_rate_for(trial, "cnn") == 0.05
    assert set(FAMILY.values()) == {"tabular", "images", "text", "forecasting"}


def test_the_toolkit_imports_without_tensorflow():
    code = (
        "import sys, core.training.build, core.training.fit; "
        "print(sorted(m for m in ('tensorflow', 'keras') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_no_module_imports_private_names_of_another_module():
    offenders = []
    for path in sorted((REPO / "core").rglob("*.py")) + sorted((REPO / "tests").glob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("core.training"):
                private = [a.name for a in node.names if a.name.startswith("_")]
                if private:
                    offenders.append(f"{path.relative_to(REPO)}: {node.module} {private}")
    assert offenders == []
