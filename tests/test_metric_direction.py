"""One rule for which way a metric improves, shared by tuning and pipelines (no TF)."""

from __future__ import annotations

import pytest

from core.metrics import metric_direction
from core.pipelines.checks import direction_for
from core.tuning.analytics import resolve_direction
from core.tuning.space import default_direction

CASES = {
    "skill_vs_naive": "max",  # regression: tuning minimised it, pipelines maximised it
    "val_skill_vs_naive": "max",
    "val_accuracy": "max",  # regression: pipelines' copy minimised it (not in its set)
    "recall": "max",  # regression: pipelines' copy minimised it
    "val_recall": "max",
    "accuracy": "max",
    "macro_f1": "max",
    "roc_auc": "max",
    "val_auc": "max",
    "precision": "max",
    "r2": "max",
    "loss": "min",
    "val_loss": "min",
    "mae": "min",
    "val_mae": "min",
    "rmse": "min",
    "mape": "min",
    "mse": "min",
}


@pytest.mark.parametrize("metric, expected", sorted(CASES.items()))
def test_every_copy_agrees(metric, expected):
    assert metric_direction(metric) == expected
    assert direction_for(metric) == expected
    assert resolve_direction(metric) == expected
    assert default_direction(metric) == expected


def test_an_explicit_direction_wins():
    assert metric_direction("val_accuracy", "min") == "min"
    assert direction_for("mae", "max") == "max"
    assert resolve_direction("val_loss", "max") == "max"
    assert metric_direction("val_loss", "") == "min"
    assert metric_direction("accuracy", None) == "max"


def test_loss_like_names_are_minimised():
    assert metric_direction("accuracy_loss") == "min"
    assert metric_direction("") == "min"
