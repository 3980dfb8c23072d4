"""What every task family hands the training job."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from core.training.features import ModelContract

CLASSIFICATION_TASKS = ("classification", "image-classification", "text-classification")


@dataclass
class Prepared:
    task: str
    input_kind: str  # table | image | text | sequence
    contract: ModelContract
    preprocess: Any  # keras.Model: raw inputs -> network inputs
    train: Any  # tf.data.Dataset of (network inputs, y)
    validation: Any
    test_inputs: Any  # raw inputs for the end-to-end model (dict of arrays, or one array)
    test_y: np.ndarray
    outputs: Any  # classes, 1, or (horizon, n_targets)
    network_input_shape: tuple
    rows: dict[str, int]
    hp: dict[str, Any] = field(default_factory=dict)  # hyperparameters the data decides
    # (mean, std) to predict in target units; forecasting's are arrays, one value per target
    target_scale: tuple[float | np.ndarray, float | np.ndarray] | None = None
    baseline: np.ndarray | None = None  # a naive forecast on the test windows
    residual: dict[str, Any] | None = None  # forecasting: predict the change from the last value
    train_labels: np.ndarray | None = None  # class ids of the training split (class weights)
    warnings: list[str] = field(default_factory=list)
    # A streamed table's test split: a tf.data.Dataset of raw inputs, in the order of test_y,
    # whose first rows are test_inputs (which then holds only those). None: test_inputs is all.
    test_stream: Any = None
    # the same split's rows for the simple baselines (core/training/baselines.py); None: none
    baseline_data: Any = None

    @property
    def is_classification(self) -> bool:
        return self.task in CLASSIFICATION_TASKS


def save_test_inputs(path, inputs) -> None:
    """Raw test inputs, so every export can be checked on the same examples."""
    arrays = inputs if isinstance(inputs, dict) else {"input": inputs}
    np.savez(path, **{k: (v.astype(str) if v.dtype == object else v) for k, v in arrays.items()})


def load_test_inputs(path) -> dict[str, np.ndarray]:
    with np.load(path) as data:
        return {k: data[k] for k in data.files}
