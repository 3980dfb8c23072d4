"""Evaluation on the held-out test split: numbers a person can read and plots can draw."""

from __future__ import annotations

from typing import Any

import numpy as np

from core.training.features import ModelContract


def evaluate(
    contract: ModelContract, y_true: np.ndarray, predictions: np.ndarray
) -> dict[str, Any]:
    from sklearn import metrics as m

    if contract.task == "classification":
        y_pred = predictions.argmax(-1)
        labels = list(range(len(contract.classes)))
        report = m.classification_report(
            y_true,
            y_pred,
            labels=labels,
            target_names=contract.classes,
            output_dict=True,
            zero_division=0,
        )
        return {
            "task": "classification",
            "metrics": {
                "accuracy": float(m.accuracy_score(y_true, y_pred)),
                "macro_f1": float(report["macro avg"]["f1-score"]),
            },
            "classes": contract.classes,
            "confusion_matrix": m.confusion_matrix(y_true, y_pred, labels=labels).tolist(),
            "per_class": {
                c: {k: float(report[c][k]) for k in ("precision", "recall", "f1-score", "support")}
                for c in contract.classes
            },
        }
    y_hat = predictions.reshape(-1)
    return {
        "task": "regression",
        "metrics": {
            "mae": float(m.mean_absolute_error(y_true, y_hat)),
            "rmse": float(np.sqrt(m.mean_squared_error(y_true, y_hat))),
            "r2": float(m.r2_score(y_true, y_hat)),
        },
        "actual": [float(v) for v in y_true],
        "predicted": [float(v) for v in y_hat],
    }
