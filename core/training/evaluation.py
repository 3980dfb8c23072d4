"""Evaluation on the held-out test split: numbers a person can read and plots can draw."""

from __future__ import annotations

from typing import Any

import numpy as np


def evaluate(prepared, predictions: np.ndarray) -> dict[str, Any]:
    from sklearn import metrics as m

    y_true = prepared.test_y
    if prepared.is_classification:
        classes = prepared.contract.classes
        y_pred = predictions.argmax(-1)
        labels = list(range(len(classes)))
        report = m.classification_report(
            y_true, y_pred, labels=labels, target_names=classes, output_dict=True, zero_division=0
        )
        metrics = {
            "accuracy": float(m.accuracy_score(y_true, y_pred)),
            "macro_f1": float(report["macro avg"]["f1-score"]),
        }
        auc = _roc_auc(y_true, predictions, len(classes))
        if auc is not None:
            metrics["roc_auc"] = auc
        return {
            "task": "classification",
            "metrics": metrics,
            "classes": classes,
            "confusion_matrix": m.confusion_matrix(y_true, y_pred, labels=labels).tolist(),
            "per_class": {
                c: {k: float(report[c][k]) for k in ("precision", "recall", "f1-score", "support")}
                for c in classes
            },
        }
    if prepared.task == "forecasting":
        return _forecast(prepared, predictions)
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


def _roc_auc(y_true: np.ndarray, probs: np.ndarray, n_classes: int) -> float | None:
    """ROC AUC (one-vs-rest, macro for several classes); None when the test split lacks a class."""
    from sklearn.metrics import roc_auc_score

    if len(np.unique(y_true)) < n_classes:
        return None
    if n_classes == 2:
        return float(roc_auc_score(y_true, probs[:, 1]))
    return float(roc_auc_score(y_true, probs, multi_class="ovr", average="macro"))


def _mape(y: np.ndarray, y_hat: np.ndarray) -> float | None:
    nonzero = np.abs(y) > 1e-8
    if not nonzero.any():
        return None
    return float(np.mean(np.abs((y[nonzero] - y_hat[nonzero]) / y[nonzero])) * 100)


def _mase(y: np.ndarray, predictions: np.ndarray, scales: list[float] | None) -> float | None:
    """Mean absolute scaled error: each target's MAE over the in-sample MAE of the (seasonal)
    naive forecast on the training part, averaged over targets; below 1 beats that naive."""
    if not scales or any(s <= 0 for s in scales):
        return None
    per_target = np.abs(y - predictions).reshape(-1, len(scales)).mean(0)
    return float(np.mean(per_target / np.asarray(scales)))


def _forecast(prepared, predictions: np.ndarray) -> dict[str, Any]:
    """MAE/RMSE/MAPE of the model and of the naive last-value forecast, on the same windows."""
    y = prepared.test_y
    naive = prepared.baseline
    mae = float(np.mean(np.abs(y - predictions)))
    naive_mae = float(np.mean(np.abs(y - naive)))
    targets = prepared.contract.target.split(",")
    return {
        "task": "forecasting",
        "metrics": {
            "mae": mae,
            "rmse": float(np.sqrt(np.mean((y - predictions) ** 2))),
            "mape": _mape(y, predictions),
            "naive_mae": naive_mae,
            "skill_vs_naive": float(1 - mae / naive_mae) if naive_mae > 0 else None,
            "mase": _mase(y, predictions, prepared.contract.details.get("mase_scale")),
        },
        "targets": targets,
        "times": prepared.contract.details.get("test_label_times", []),
        # one step ahead, first target: what the plot shows
        "actual": [float(v) for v in y[:, 0, 0]],
        "predicted": [float(v) for v in predictions[:, 0, 0]],
        "naive": [float(v) for v in naive[:, 0, 0]],
    }
