"""The models a practitioner tries first, fitted on the same rows as the network and scored on
the same held-out test rows, with paired 95% bootstrap intervals (#30).

A network is judged against what its user would otherwise use: logistic or linear regression and
gradient-boosted trees for tables, TF-IDF + logistic regression for text, a linear model on the
pixels for images, the last value and the value one season ago for series. Each baseline keeps
scikit-learn's defaults and trains on the training and validation rows (nothing is tuned on the
test rows). TF-free: scikit-learn and numpy only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

# The one number each task is judged on, and which way it improves.
PRIMARY = {
    "classification": ("macro_f1", "max"),
    "text-classification": ("macro_f1", "max"),
    "image-classification": ("macro_f1", "max"),
    "regression": ("r2", "max"),
    "forecasting": ("mae", "min"),
}
# How each primary metric is written for people (the sentence, the page, the report).
METRIC_LABEL = {"macro_f1": "macro-F1", "r2": "R²", "mae": "MAE"}
BOOTSTRAP_RESAMPLES = 1000
# Baselines are skipped above this many training rows (said on the run): they would take
# longer than the network on this machine.
MAX_BASELINE_ROWS = 200_000
CONFIDENCE = 0.95


@dataclass
class BaselineData:
    """What the baselines train on: the training + validation rows, raw, and the test inputs."""

    kind: str  # table | text | pixels | series
    x_train: Any
    y_train: np.ndarray
    x_test: Any
    numeric: list[str] = field(default_factory=list)
    categorical: list[str] = field(default_factory=list)
    # series: test-window predictions made without fitting (name -> array like test_y)
    fixed: dict[str, np.ndarray] = field(default_factory=dict)


def _table_preprocessor(numeric: list[str], categorical: list[str], scale: bool):
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    num = [SimpleImputer(strategy="median", add_indicator=True)]
    if scale:
        num.append(StandardScaler())
    parts = []
    if numeric:
        parts.append(("num", make_pipeline(*num), numeric))
    if categorical:
        parts.append(
            (
                "cat",
                make_pipeline(
                    SimpleImputer(strategy="constant", fill_value="(missing)"),
                    OneHotEncoder(handle_unknown="ignore", min_frequency=5),
                ),
                categorical,
            )
        )
    return ColumnTransformer(parts)


def _trees(classify: bool, numeric: list[str], categorical: list[str]):
    """Histogram gradient-boosted trees (LightGBM's algorithm in scikit-learn) with categories
    as native categorical splits and missing values handled by the trees themselves."""
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OrdinalEncoder

    parts = [("num", "passthrough", numeric)] if numeric else []
    if categorical:
        encoder = OrdinalEncoder(
            handle_unknown="use_encoded_value",
            unknown_value=np.nan,
            encoded_missing_value=np.nan,
            max_categories=250,
        )
        parts.append(("cat", encoder, categorical))
    mask = [False] * len(numeric) + [True] * len(categorical)
    model = (HistGradientBoostingClassifier if classify else HistGradientBoostingRegressor)(
        categorical_features=mask if categorical else None, random_state=0
    )
    return make_pipeline(ColumnTransformer(parts), model)


def _candidates(data: BaselineData, task: str) -> dict[str, Any]:
    from sklearn.linear_model import LinearRegression, LogisticRegression
    from sklearn.pipeline import make_pipeline

    classify = task != "regression"
    if data.kind == "table":
        linear = LogisticRegression(max_iter=2000) if classify else LinearRegression()
        return {
            "logistic regression" if classify else "linear regression": make_pipeline(
                _table_preprocessor(data.numeric, data.categorical, scale=True), linear
            ),
            "gradient-boosted trees": _trees(classify, data.numeric, data.categorical),
        }
    if data.kind == "text":
        from sklearn.feature_extraction.text import TfidfVectorizer

        return {
            "TF-IDF + logistic regression": make_pipeline(
                TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True),
                LogisticRegression(max_iter=2000),
            )
        }
    if data.kind == "pixels":
        from sklearn.preprocessing import StandardScaler

        return {
            "logistic regression on pixels": make_pipeline(
                StandardScaler(), LogisticRegression(max_iter=500)
            )
        }
    return {}


def _frame(x: Any, columns: list[str]) -> Any:
    if isinstance(x, pd.DataFrame):
        return x[columns]
    return x


def fit_predict(data: BaselineData, task: str) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """Each baseline's test predictions (class probabilities, or values), and the reasons of
    those that could not be fitted."""
    import warnings

    predictions: dict[str, np.ndarray] = dict(data.fixed)
    failures: dict[str, str] = {}
    classify = task != "regression" and task != "forecasting"
    columns = data.numeric + data.categorical
    x_train, x_test = _frame(data.x_train, columns), _frame(data.x_test, columns)
    for name, model in _candidates(data, task).items():
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # convergence notes: defaults are the point
                model.fit(x_train, data.y_train)
                if classify:
                    probs = model.predict_proba(x_test)
                    predictions[name] = _all_classes(probs, model.classes_, data.y_train)
                else:
                    predictions[name] = np.asarray(model.predict(x_test), "float64")
        except (ValueError, TypeError, MemoryError) as exc:
            failures[name] = f"{type(exc).__name__}: {str(exc)[:200]}"
    return predictions, failures


def _all_classes(probs: np.ndarray, seen: np.ndarray, y_train: np.ndarray) -> np.ndarray:
    """Probabilities over every class id the network knows (a class absent from the baseline's
    training rows gets 0)."""
    n = int(max(int(np.max(y_train)), int(np.max(seen))) + 1)
    full = np.zeros((len(probs), n))
    full[:, np.asarray(seen, int)] = probs
    return full


# ---------------------------------------------------------------------------------------------
# Scores and paired bootstrap intervals


def macro_f1_resamples(
    y: np.ndarray, pred: np.ndarray, idx: np.ndarray, n_classes: int
) -> np.ndarray:
    """Macro-F1 over every class for each row of resample indices `idx` (B, n), vectorised
    over B; a class neither present nor predicted scores 0, as in evaluate() (scikit-learn's
    labels=all classes, zero_division=0)."""
    yt, yp = y[idx], pred[idx]
    total = np.zeros(idx.shape[0])
    for c in range(n_classes):
        t, p = yt == c, yp == c
        tp = (t & p).sum(1)
        denom = t.sum(1) + p.sum(1)
        total += np.where(denom > 0, 2 * tp / np.maximum(denom, 1), 0.0)
    return total / max(1, n_classes)


def _score(metric: str, y: np.ndarray, pred: np.ndarray, idx: np.ndarray, n: int) -> np.ndarray:
    if metric == "macro_f1":
        return macro_f1_resamples(y, pred, idx, n)
    if metric == "r2":
        yt, yp = y[idx], pred[idx]
        ss_res = ((yt - yp) ** 2).sum(1)
        ss_tot = ((yt - yt.mean(1, keepdims=True)) ** 2).sum(1)
        return 1 - ss_res / np.where(ss_tot > 0, ss_tot, np.nan)
    # mae over every horizon step and target of each resampled window
    err = np.abs(y - pred).reshape(len(y), -1).mean(1)
    return err[idx].mean(1)


def _point(task: str, prediction: np.ndarray) -> np.ndarray:
    if PRIMARY[task][0] == "macro_f1":
        return np.asarray(prediction).argmax(-1)
    if task == "regression":
        return np.asarray(prediction, "float64").reshape(-1)
    return np.asarray(prediction, "float64")


def compare(
    task: str,
    y_test: np.ndarray,
    network: np.ndarray,
    baselines: dict[str, np.ndarray],
    seed: int = 0,
) -> dict[str, Any]:
    """The network and each baseline on the primary metric, with 95% bootstrap intervals from
    the same resamples of the test rows, and the network's difference from the best baseline."""
    metric, direction = PRIMARY[task]
    y = np.asarray(y_test)
    y = y.reshape(-1) if task == "regression" else y
    n_rows = len(y)
    n_classes = int(np.asarray(network).shape[-1]) if metric == "macro_f1" else 0
    # bound the work: B x rows x classes
    resamples = max(200, min(BOOTSTRAP_RESAMPLES, 20_000_000 // max(1, n_rows * max(1, n_classes))))
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n_rows, size=(resamples, n_rows))
    full = np.arange(n_rows)[None, :]
    lo_q, hi_q = (1 - CONFIDENCE) / 2 * 100, (1 + CONFIDENCE) / 2 * 100

    def scored(prediction):
        point = _point(task, prediction)
        value = float(_score(metric, y, point, full, n_classes)[0])
        boot = _score(metric, y, point, idx, n_classes)
        return value, boot

    net_value, net_boot = scored(network)
    models = {}
    for name, prediction in baselines.items():
        value, boot = scored(prediction)
        lo, hi = np.nanpercentile(boot, [lo_q, hi_q])
        models[name] = {"value": value, "low": float(lo), "high": float(hi), "boot": boot}
    lo, hi = np.nanpercentile(net_boot, [lo_q, hi_q])
    out: dict[str, Any] = {
        "metric": metric,
        "direction": direction,
        "confidence": CONFIDENCE,
        "resamples": int(resamples),
        "test_rows": int(n_rows),
        "network": {"value": net_value, "low": float(lo), "high": float(hi)},
        "baselines": {k: {m: v[m] for m in ("value", "low", "high")} for k, v in models.items()},
    }
    if models:
        sign = 1 if direction == "max" else -1
        best = max(models, key=lambda k: sign * models[k]["value"])
        diff = sign * (net_boot - models[best]["boot"])  # > 0: the network is better
        d_lo, d_hi = np.nanpercentile(diff, [lo_q, hi_q])
        out["best_baseline"] = best
        out["difference"] = {
            "value": float(sign * (net_value - models[best]["value"])),
            "low": float(d_lo),
            "high": float(d_hi),
        }
        out["verdict"] = "network" if d_lo > 0 else (best if d_hi < 0 else "tie")
    return out


def metric_label(comparison: dict[str, Any]) -> str:
    """The comparison's metric for a chart or table heading, with its direction when lower wins."""
    label = METRIC_LABEL.get(comparison["metric"], comparison["metric"])
    return f"{label} (lower is better)" if comparison.get("direction") == "min" else label


def sentence(comparison: dict[str, Any], target: str = "") -> str:
    """One plain sentence: who wins on this data, and by how much, against what."""
    if not comparison or "best_baseline" not in comparison:
        return ""
    metric = METRIC_LABEL.get(comparison["metric"], comparison["metric"])
    best, b = comparison["best_baseline"], comparison["baselines"][comparison["best_baseline"]]
    net = comparison["network"]
    pair = (
        f"{best[0].upper()}{best[1:]} scores {metric} {b['value']:.3f} on these test rows, "
        f"the network {net['value']:.3f}"
    )
    verdict = comparison["verdict"]
    if verdict == "network":
        return (
            f"{pair}: the network is the better choice here "
            "(the 95% interval of the gap excludes 0)."
        )
    if verdict == "tie":
        return (
            f"{pair}: no clear winner (the 95% interval of the gap includes 0), so the simpler "
            f"{best} would do as well."
        )
    return f"{pair}: here {best} is the better choice."


def chance_flag(task: str, y_test: np.ndarray, network: np.ndarray, y_train: np.ndarray) -> str:
    """A warning when a classifier does no better than always answering the most common class,
    or answers one class for everything; '' otherwise."""
    if PRIMARY.get(task, ("",))[0] != "macro_f1" or len(y_test) == 0:
        return ""
    pred = np.asarray(network).argmax(-1)
    y = np.asarray(y_test)
    majority = int(np.bincount(np.asarray(y_train, int)).argmax())
    majority_acc = float(np.mean(y == majority))
    acc = float(np.mean(pred == y))
    if len(np.unique(pred)) == 1 and len(np.unique(y)) > 1:
        return (
            f"the model answers one class for every test example (accuracy {acc:.3f}): it has "
            "not learned to tell the classes apart"
        )
    if acc <= majority_acc + 0.01:
        return (
            f"accuracy {acc:.3f} is no better than always answering the most common class "
            f"({majority_acc:.3f}): the model has not learned from the inputs"
        )
    return ""


def judge(prepared, predictions: np.ndarray, seed: int, reporter) -> dict[str, Any]:
    """Fit the baselines on the run's split, compare them with the network's test predictions
    and say what the comparison shows (an event on the run); {} when the task has none."""
    data: BaselineData | None = getattr(prepared, "baseline_data", None)
    task = prepared.task
    flag = chance_flag(task, prepared.test_y, predictions, _train_labels(prepared, data))
    if flag:
        reporter.event(flag, "warning")
    if data is None or task not in PRIMARY:
        return {"chance_warning": flag} if flag else {}
    rows = len(data.y_train)
    note = ""
    if rows > MAX_BASELINE_ROWS:  # a seeded sample keeps them quicker than the network
        keep = np.sort(np.random.default_rng(seed).choice(rows, MAX_BASELINE_ROWS, replace=False))
        data = BaselineData(
            data.kind,
            _take(data.x_train, keep),
            data.y_train[keep],
            data.x_test,
            data.numeric,
            data.categorical,
            data.fixed,
        )
        note = f"baselines trained on a seeded sample of {MAX_BASELINE_ROWS:,} of {rows:,} rows"
    reporter.progress("baselines", 0, 1, "fitting the simple baselines on the same split")
    fitted, failures = fit_predict(data, task)
    comparison = compare(task, prepared.test_y, predictions, fitted, seed=seed)
    comparison["sentence"] = sentence(comparison)
    if failures:
        comparison["failed"] = failures
    if note:
        comparison["note"] = note
    if flag:
        comparison["chance_warning"] = flag
    if comparison["sentence"]:
        reporter.event(f"baselines: {comparison['sentence']}")
    return comparison


def _train_labels(prepared, data: BaselineData | None) -> np.ndarray:
    if data is not None and PRIMARY.get(prepared.task, ("",))[0] == "macro_f1":
        return np.asarray(data.y_train)
    labels = getattr(prepared, "train_labels", None)
    return np.asarray(labels) if labels is not None else np.asarray(prepared.test_y)


def _take(x: Any, keep: np.ndarray) -> Any:
    if isinstance(x, pd.DataFrame):
        return x.iloc[keep]
    if isinstance(x, list):
        return [x[i] for i in keep]
    return np.asarray(x)[keep]
