"""Trial records: the contract between a search job and everything that shows it.

A search (KerasTuner or AutoKeras) writes one JSON file per trial, `run_dir/trials/<id>.json`,
when the trial starts, after each epoch and when it ends, plus `run_dir/search.json` describing
the search. Files are replaced atomically, so a reader (the Tune page, the CLI) never sees half a
record and needs no TensorFlow. A trial record:

    trial_id        str
    number          int, 0-based order in which the trial started
    status          RUNNING | COMPLETED | FAILED | INVALID | STOPPED
    hyperparameters {name: value}
    score           float | None: the objective's best value in this trial
    objective       {"name": str, "direction": "min" | "max"}
    started_at / ended_at   epoch seconds (ended_at None while running)
    duration_s      float | None
    epochs          int: epochs trained so far
    history         {metric name: [one float per epoch]}
    error           str | None: why a trial failed
    checkpoint_kept bool: its weights are still on disk (retention keeps the best k)
    worker          str: which tuner process ran it ("chief", "tuner0", ... or "main")

Optional fields a KerasTuner search adds: `restarts` (int: how often the trial was started again
after its worker died or was canceled) and, for Hyperband, `hyperband` {epochs, initial_epoch,
bracket, round, continues: the trial id whose weights this round continues from, or None}.

`search.json`: tuner, objective, max_trials, executions_per_trial, space (list of dicts as in
TuneSpec.space), model, task, best_trial_id, disk_bytes, keep_best, workers, engine
("keras-tuner" | "autokeras").
"""

from __future__ import annotations

import enum
import json
import math
import os
import time
from pathlib import Path
from typing import Any, NotRequired, TypedDict, cast

from core import util

TRIALS_DIR = "trials"
SEARCH_FILE = "search.json"


class TrialStatus(enum.StrEnum):
    """A trial record's status (KerasTuner's names; AutoKeras trials use the same)."""

    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    INVALID = "INVALID"
    STOPPED = "STOPPED"


STATUSES = tuple(TrialStatus)
ENDED = (TrialStatus.COMPLETED, TrialStatus.FAILED)


class Objective(TypedDict):
    name: str
    direction: str  # "min" | "max" (core.metrics.metric_direction)


class TrialRecord(TypedDict):
    """`trials/<id>.json`, as the module's doc describes it."""

    trial_id: str
    number: int
    status: str  # a TrialStatus
    hyperparameters: dict[str, Any]
    score: float | None
    objective: Objective
    started_at: float | None  # None: rebuilt from the oracle after a restart
    ended_at: float | None
    duration_s: float | None
    epochs: int
    history: dict[str, list[float]]
    error: str | None
    checkpoint_kept: bool
    worker: str
    restarts: NotRequired[int]
    hyperband: NotRequired[dict[str, Any]]


class SearchRecord(TypedDict, total=False):
    """`search.json`: what the search is and where it stands (both engines write it)."""

    engine: str  # "keras-tuner" | "autokeras"
    tuner: str
    objective: Objective
    max_trials: int
    executions_per_trial: int
    space: list[dict[str, Any]]
    model: str
    task: str
    best_trial_id: str | None
    best_score: float | None
    disk_bytes: int
    keep_best: int
    workers: int
    time_budget_s: float | None
    max_failed_trials: int | None
    trials_completed: int
    trials_failed: int
    spent_s: float
    state: str  # "running" | "finished"
    updated_at: float
    chief: str  # distributed mode: HOST:PORT of the chief oracle that workers join


def write_json_atomic(path: Path, payload: dict[str, Any]) -> None:
    """A trial or search record, written atomically (readers never see half); NaN -> null."""
    util.write_json_atomic(path, _finite(payload), indent=1)


# A trial as results and the CLI list it: the record without its learning curve.
SUMMARY_KEYS = (
    "trial_id",
    "number",
    "status",
    "score",
    "hyperparameters",
    "epochs",
    "duration_s",
    "worker",
    "error",
    "checkpoint_kept",
)


def summary(record: dict[str, Any]) -> dict[str, Any]:
    return {k: record.get(k) for k in SUMMARY_KEYS}


def started_record(
    trial_id: str,
    number: int,
    hyperparameters: dict[str, Any],
    objective: dict[str, Any],
    worker: str = "main",
    **extra: Any,
) -> TrialRecord:
    """The record of a trial that starts now (KerasTuner and AutoKeras searches alike)."""
    record: TrialRecord = {
        "trial_id": str(trial_id),
        "number": number,
        "status": TrialStatus.RUNNING,
        "hyperparameters": hyperparameters,
        "score": None,
        "objective": cast(Objective, dict(objective)),
        "started_at": now(),
        "ended_at": None,
        "duration_s": None,
        "epochs": 0,
        "history": {},
        "error": None,
        "checkpoint_kept": False,
        "worker": worker,
    }
    # the optional fields (restarts, hyperband) a KerasTuner search adds
    record.update(extra)  # type: ignore[typeddict-item]
    return record


def write_trial(run_dir: Path, record: TrialRecord | dict[str, Any]) -> None:
    write_json_atomic(Path(run_dir) / TRIALS_DIR / f"{record['trial_id']}.json", dict(record))


def write_search(run_dir: Path, search: SearchRecord | dict[str, Any]) -> None:
    write_json_atomic(Path(run_dir) / SEARCH_FILE, dict(search))


def read_trials(run_dir: str | Path) -> list[dict[str, Any]]:
    """All trial records of a search, in the order the trials started."""
    folder = Path(run_dir) / TRIALS_DIR
    records = []
    for path in folder.glob("*.json") if folder.is_dir() else ():
        try:
            records.append(json.loads(path.read_text()))
        except (OSError, ValueError):
            continue  # a file being replaced right now: it is read on the next poll
    return sorted(records, key=lambda r: (r.get("number", 0), r.get("started_at") or 0))


def read_search(run_dir: str | Path) -> SearchRecord:
    path = Path(run_dir) / SEARCH_FILE
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def best_trial(trials: list[dict[str, Any]], direction: str) -> dict[str, Any] | None:
    done = [
        t for t in trials if t.get("status") == TrialStatus.COMPLETED and t.get("score") is not None
    ]
    if not done:
        return None
    pick = max if direction == "max" else min
    return pick(done, key=lambda t: t["score"])


def disk_usage(path: str | Path) -> int:
    """Bytes under a folder (the search's checkpoints and state)."""
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            try:
                total += os.path.getsize(os.path.join(root, name))
            except OSError:
                pass
    return total


def now() -> float:
    return time.time()


def _finite(value: Any) -> Any:
    """JSON has no NaN/inf: a diverged metric is recorded as None."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value
