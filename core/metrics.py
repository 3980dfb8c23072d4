"""Which way a metric improves: the one rule for tuning objectives, pipeline gates and charts.

TF-free on purpose: the UI, the CLI and the engine all import it.
"""

from __future__ import annotations

from typing import Literal

Direction = Literal["min", "max"]
DIRECTIONS: tuple[Direction, ...] = ("min", "max")
# Name parts of metrics where a larger value is better; everything else (loss, mae, rmse, mape,
# mse, latency, size...) is minimised. `skill` is forecasting's skill_vs_naive (1 - MAE/naive MAE).
HIGHER_IS_BETTER_PARTS = ("acc", "auc", "precision", "recall", "f1", "r2", "skill")


def metric_direction(metric: str, given: str | None = "") -> Direction:
    """`max` or `min` for a metric name such as `val_accuracy`, `macro_f1` or `val_loss`.

    An explicit `given` direction (min or max) wins; an empty one is inferred from the name,
    with or without a `val_` / `test_` prefix. Anything containing `loss` is minimised.
    """
    if given in DIRECTIONS:
        return given  # type: ignore[return-value]
    name = (metric or "").lower()
    if "loss" in name:
        return "min"
    return "max" if any(part in name for part in HIGHER_IS_BETTER_PARTS) else "min"


def is_better(a: float, b: float, direction: str) -> bool:
    """Whether score `a` beats score `b` in `direction`."""
    return a > b if direction == "max" else a < b
