"""Trial analytics from the trial records alone (pandas, numpy, scikit-learn; no TensorFlow).

Every function takes the list of trial records that `core.tuning.trials.read_trials` returns, so
the Tune page and the CLI can show a search while it runs, from another process.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from core.metrics import metric_direction
from core.tuning.trials import TrialStatus

# Fewer completed trials than this and a forest fitted on the trial table says nothing.
MIN_TRIALS_FOR_IMPORTANCE = 4
PERMUTATION_REPEATS = 10

# Trial-table columns that are not hyperparameters; a hyperparameter of the same name is shown
# with a suffix so the two never collide.
BASE_COLUMNS = (
    "trial",
    "trial_id",
    "status",
    "score",
    "duration_s",
    "epochs",
    "worker",
    "checkpoint_kept",
    "error",
)
MISSING = "—"  # a conditional hyperparameter that was not active in a trial


def resolve_direction(objective: str, direction: str = "") -> str:
    """`min` or `max`; an empty direction is inferred from the objective's name."""
    return metric_direction(objective, direction)


def search_direction(search: dict[str, Any], trials: list[dict[str, Any]]) -> str:
    """The direction of a search: from search.json, else from any trial's objective."""
    objective = search.get("objective")
    if isinstance(objective, dict):
        return resolve_direction(objective.get("name", ""), objective.get("direction", ""))
    if isinstance(objective, str):
        return resolve_direction(objective, search.get("direction", ""))
    for t in trials:
        obj = t.get("objective") or {}
        if obj.get("direction") or obj.get("name"):
            return resolve_direction(obj.get("name", ""), obj.get("direction", ""))
    return "min"


def hp_names(trials: list[dict[str, Any]], space: list[dict[str, Any]] | None = None) -> list[str]:
    """Hyperparameter names in space order, then any others the trials recorded."""
    names = [s["name"] for s in space or () if s.get("kind") != "fixed"]
    for t in trials:
        for name in t.get("hyperparameters") or {}:
            if name not in names:
                names.append(name)
    fixed = {s["name"] for s in space or () if s.get("kind") == "fixed"}
    return [n for n in names if n not in fixed]


def short_names(names: list[str]) -> dict[str, str]:
    """Readable labels for long hyperparameter paths (AutoKeras' `block_1/dense_block_1/units_0`):
    the last path part, or more parts where that alone would be ambiguous."""
    out: dict[str, str] = {}
    for name in names:
        parts = str(name).split("/")
        for depth in range(1, len(parts) + 1):
            label = "/".join(parts[-depth:])
            clash = [
                n for n in names if n != name and "/".join(str(n).split("/")[-depth:]) == label
            ]
            if not clash:
                break
        out[name] = label
    return out


def hp_column(name: str) -> str:
    return f"{name} (hp)" if name in BASE_COLUMNS else name


def _cell(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return "-".join(map(str, value))
    return value


def trial_frame(
    trials: list[dict[str, Any]], space: list[dict[str, Any]] | None = None
) -> pd.DataFrame:
    """One row per trial: number, id, status, score, duration, epochs, worker, hyperparameters."""
    names = hp_names(trials, space)
    rows = []
    for t in trials:
        hps = t.get("hyperparameters") or {}
        row = {
            "trial": int(t.get("number", 0)),
            "trial_id": str(t.get("trial_id", "")),
            "status": t.get("status", ""),
            "score": _float(t.get("score")),
            "duration_s": _float(t.get("duration_s")),
            "epochs": int(t.get("epochs") or 0),
            "worker": t.get("worker", ""),
            "checkpoint_kept": bool(t.get("checkpoint_kept", False)),
            "error": t.get("error") or "",
        }
        for name in names:
            row[hp_column(name)] = _cell(hps[name]) if name in hps else None
        rows.append(row)
    frame = pd.DataFrame(rows, columns=[*BASE_COLUMNS, *map(hp_column, names)])
    return frame.sort_values("trial", kind="stable").reset_index(drop=True)


def _float(value: Any) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return math.nan
    return out if math.isfinite(out) else math.nan


def completed(trials: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        t
        for t in trials
        if t.get("status") == TrialStatus.COMPLETED and not math.isnan(_float(t.get("score")))
    ]


def best_so_far(trials: list[dict[str, Any]], direction: str) -> pd.DataFrame:
    """Completed trials in the order they ended, with the best score seen up to each."""
    done = sorted(
        completed(trials),
        key=lambda t: (t.get("ended_at") or math.inf, t.get("number", 0)),
    )
    scores = pd.Series([_float(t["score"]) for t in done], dtype="float64")
    best = scores.cummax() if direction == "max" else scores.cummin()
    return pd.DataFrame(
        {
            "completed": np.arange(1, len(done) + 1),
            "trial": [int(t.get("number", 0)) for t in done],
            "score": scores,
            "best": best,
        }
    )


def _is_numeric(values: pd.Series) -> bool:
    present = [v for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
    return bool(present) and all(
        isinstance(v, int | float | np.integer | np.floating) and not isinstance(v, bool | np.bool_)
        for v in present
    )


def _log_scaled(space: list[dict[str, Any]] | None) -> set[str]:
    return {s["name"] for s in space or () if s.get("log") and s.get("kind") in ("int", "float")}


def parallel_frame(
    trials: list[dict[str, Any]], space: list[dict[str, Any]] | None = None
) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """Completed trials ready for parallel coordinates.

    Returns the frame (one numeric column per hyperparameter plus `score`) and one dimension per
    column: {"column", "label", "values", "tickvals", "ticktext"}. Choices become category codes
    with their labels as ticks; log-sampled numbers are drawn as log10.
    """
    done = completed(trials)
    table = trial_frame(done, space)
    logs = _log_scaled(space)
    choices = {s["name"]: s.get("choices") or () for s in space or ()}
    out = pd.DataFrame(index=table.index)
    dims: list[dict[str, Any]] = []
    names = hp_names(done, space)
    short = short_names(names)
    for name in names:
        col = hp_column(name)
        values = table[col]
        if len(done) > 1 and values.map(_label).nunique() < 2:
            continue  # the same in every trial: a flat axis says nothing
        if _is_numeric(values):
            numbers = pd.to_numeric(values, errors="coerce").astype("float64")
            label = short[name]
            if name in logs and (numbers.dropna() > 0).all():
                numbers, label = np.log10(numbers), f"log10 {label}"
            out[col] = numbers
            dims.append({"column": col, "label": label, "values": numbers.tolist()})
        else:
            labels = values.map(_label)
            declared = [str(c) for c in choices.get(name, ())]
            present = set(labels)
            cats = [c for c in declared if c in present]
            cats += sorted(present - set(cats), key=_natural)
            codes = labels.map({c: i for i, c in enumerate(cats)}).astype("int64")
            out[col] = codes
            dims.append(
                {
                    "column": col,
                    "label": short[name],
                    "values": codes.tolist(),
                    "tickvals": list(range(len(cats))),
                    "ticktext": cats,
                }
            )
    out["score"] = table["score"].astype("float64")
    dims.append({"column": "score", "label": "score", "values": out["score"].tolist()})
    return out, dims


def _label(value: Any) -> str:
    return (
        MISSING if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)
    )


def _natural(text: str) -> tuple:
    try:
        return (0, float(text), "")
    except ValueError:
        return (1, 0.0, text)


def _design_matrix(
    trials: list[dict[str, Any]], space: list[dict[str, Any]] | None
) -> tuple[np.ndarray, list[str], list[str]]:
    """Numbers as they are (log10 if log-sampled, median for inactive), choices one-hot encoded.
    Returns the matrix, the hyperparameter each column belongs to, and the hyperparameters."""
    table = trial_frame(trials, space)
    logs = _log_scaled(space)
    blocks, owners, names = [], [], []
    for name in hp_names(trials, space):
        values = table[hp_column(name)]
        if _is_numeric(values):
            numbers = pd.to_numeric(values, errors="coerce").astype("float64")
            if name in logs and (numbers.dropna() > 0).all():
                numbers = np.log10(numbers)
            inactive = numbers.isna()
            numbers = numbers.fillna(numbers.median() if numbers.notna().any() else 0.0)
            blocks.append(numbers.to_numpy()[:, None])
            owners.append(name)
            if inactive.any():  # a conditional number: whether it was active is information too
                blocks.append(inactive.to_numpy(dtype="float64")[:, None])
                owners.append(name)
        else:
            labels = values.map(_label)
            dummies = pd.get_dummies(labels, dtype="float64")
            blocks.append(dummies.to_numpy())
            owners.extend([name] * dummies.shape[1])
        names.append(name)
    matrix = np.hstack(blocks) if blocks else np.zeros((len(table), 0))
    return matrix, owners, names


def importance_shortfall(trials: list[dict[str, Any]]) -> int:
    """How many more completed trials the importance estimate needs (0: enough)."""
    return max(0, MIN_TRIALS_FOR_IMPORTANCE - len(completed(trials)))


def importance(
    trials: list[dict[str, Any]],
    space: list[dict[str, Any]] | None = None,
    seed: int = 0,
) -> pd.DataFrame:
    """Which hyperparameters the score depends on: a random forest fitted on the completed
    trials (hyperparameters -> score), then permutation importance by hyperparameter: shuffle one
    hyperparameter's columns together (a choice's one-hot columns count as one) and measure how
    much the forest's squared error grows. Normalised to sum to 1 (all 0 for a flat score).

    Returns columns `hyperparameter`, `importance`, most important first; empty when there are
    fewer than MIN_TRIALS_FOR_IMPORTANCE completed trials or no hyperparameters.
    """
    from sklearn.ensemble import RandomForestRegressor

    done = completed(trials)
    empty = pd.DataFrame({"hyperparameter": pd.Series(dtype="str"), "importance": []})
    if len(done) < MIN_TRIALS_FOR_IMPORTANCE:
        return empty
    x, owners, names = _design_matrix(done, space)
    if x.shape[1] == 0:
        return empty
    y = np.array([_float(t["score"]) for t in done])
    per_hp = dict.fromkeys(names, 0.0)
    if np.ptp(y) > 0:
        forest = RandomForestRegressor(n_estimators=150, random_state=seed, min_samples_leaf=2)
        forest.fit(x, y)
        base = float(np.mean((forest.predict(x) - y) ** 2))
        rng = np.random.default_rng(seed)
        owner_of = np.array(owners)
        for name in names:
            cols = np.flatnonzero(owner_of == name)
            grow = 0.0
            for _ in range(PERMUTATION_REPEATS):
                shuffled = x.copy()
                shuffled[:, cols] = x[rng.permutation(len(x))][:, cols]
                grow += float(np.mean((forest.predict(shuffled) - y) ** 2)) - base
            per_hp[name] = max(grow / PERMUTATION_REPEATS, 0.0)
    total = sum(per_hp.values())
    if total > 0:
        per_hp = {k: v / total for k, v in per_hp.items()}
    frame = pd.DataFrame({"hyperparameter": list(per_hp), "importance": list(per_hp.values())})
    return frame.sort_values("importance", ascending=False, kind="stable").reset_index(drop=True)


def learning_curves(trial: dict[str, Any]) -> pd.DataFrame:
    """A trial's history in long form: epoch, metric family, split (training/validation), value."""
    rows = []
    for name, values in (trial.get("history") or {}).items():
        split = "validation" if name.startswith("val_") else "training"
        for epoch, value in enumerate(values or [], start=1):
            rows.append(
                {
                    "epoch": epoch,
                    "metric": name.removeprefix("val_"),
                    "split": split,
                    "value": _float(value),
                }
            )
    return pd.DataFrame(rows, columns=["epoch", "metric", "split", "value"])


def fmt_value(value: Any) -> str:
    """A hyperparameter value for people: floats to 4 significant digits."""
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def failed_trials(trials: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [t for t in trials if t.get("status") in (TrialStatus.FAILED, TrialStatus.INVALID)]


def summary(trials: list[dict[str, Any]], direction: str) -> dict[str, Any]:
    """Counts by status and the best completed trial."""
    counts = {s.value: 0 for s in TrialStatus}
    for t in trials:
        counts[t.get("status", "")] = counts.get(t.get("status", ""), 0) + 1
    done = completed(trials)
    best = None
    if done:
        pick = max if direction == "max" else min
        best = pick(done, key=lambda t: _float(t["score"]))
    return {"counts": counts, "best": best, "completed": len(done), "total": len(trials)}
