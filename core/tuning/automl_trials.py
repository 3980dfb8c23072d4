"""AutoKeras trial records: the tuner's hooks write `trials/<id>.json` and `search.json` in the
`core.tuning.trials` format (the same records KerasTuner searches write), while the search runs.

No TensorFlow or AutoKeras at import: the hooks receive the tuner and its trials as arguments.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from core.runs.reporter import Reporter
from core.specs import AutoMLSpec
from core.training.fit import epoch_values
from core.tuning import trials as records
from core.tuning.trials import TrialStatus

SEARCH_DIR = "search"  # the AutoKeras project folder under the run folder


class SearchCanceled(Exception):
    """Raised from a tuner hook when the user cancels; KerasTuner lets FatalError through."""


class TrialRecorder:
    """Writes `trials/<id>.json` and `search.json` (see core.tuning.trials) for one search."""

    def __init__(self, run_dir: Path, reporter: Reporter, spec: AutoMLSpec, search: dict):
        self.run_dir = Path(run_dir)
        self.reporter = reporter
        self.spec = spec
        self.search = search
        self.objective = search["objective"]
        self.current: records.TrialRecord | None = None
        self.finished = 0

    # -- search.json
    def write_search(self, tuner=None) -> None:
        if tuner is not None:
            self.search["space"] = space_of(tuner.oracle.hyperparameters)
        best = records.best_trial(records.read_trials(self.run_dir), self.objective["direction"])
        self.search["best_trial_id"] = best["trial_id"] if best else None
        self.search["disk_bytes"] = records.disk_usage(self.run_dir / SEARCH_DIR)
        records.write_search(self.run_dir, self.search)

    # -- one trial
    def begin(self, tuner, trial) -> None:
        number = trial_number(tuner, trial.trial_id)
        self.current = records.started_record(
            trial.trial_id, number, plain(trial.hyperparameters.values), self.objective
        )
        records.write_trial(self.run_dir, self.current)
        self.write_search(tuner)
        self.reporter.progress(
            "searching",
            self.finished,
            self.spec.max_trials,
            f"trial {number + 1}/{self.spec.max_trials} ({trial.trial_id}) starting",
        )

    def epoch(self, trial, epoch: int, logs: dict | None) -> None:
        rec = self.current
        if rec is None or rec["trial_id"] != str(trial.trial_id):
            return
        values = epoch_values(logs)
        for name, value in values.items():
            rec["history"].setdefault(name, []).append(value)
        rec["epochs"] += 1
        rec["score"] = best_value(rec["history"].get(self.objective["name"], []), self.objective)
        records.write_trial(self.run_dir, rec)
        total = int(trial.hyperparameters.values.get("tuner/epochs", self.spec.epochs))
        shown = " · ".join(f"{k} {v:.4g}" for k, v in values.items() if k.startswith("val_"))
        self.reporter.progress(
            "searching",
            self.finished + min(epoch + 1, total) / max(total, 1),
            self.spec.max_trials,
            f"trial {rec['number'] + 1}/{self.spec.max_trials} · epoch {epoch + 1}/{total} · "
            f"{shown}",
        )

    def end(self, tuner, trial) -> None:
        rec = self.current
        if rec is None or rec["trial_id"] != str(trial.trial_id):
            rec = self.from_oracle(tuner, trial)
        status = trial_status(trial)
        ended = records.now()
        started = rec["started_at"] or ended
        rec.update(
            {
                "status": status,
                "hyperparameters": plain(trial.hyperparameters.values),
                "started_at": started,
                "ended_at": ended,
                "duration_s": round(ended - started, 3),
                "error": last_line(trial.message)
                if status in (TrialStatus.FAILED, TrialStatus.INVALID)
                else None,
                "checkpoint_kept": os.path.exists(tuner._get_checkpoint_fname(trial.trial_id)),
            }
        )
        if trial.score is not None and status == TrialStatus.COMPLETED:
            rec["score"] = float(trial.score)
        records.write_trial(self.run_dir, rec)
        self.current = None
        self.finished += 1
        self.write_search(tuner)
        best = self.search.get("best_trial_id")
        trials = {t["trial_id"]: t for t in records.read_trials(self.run_dir)}
        best_score = trials[best]["score"] if best in trials else None
        self.reporter.metrics(
            self.finished,
            {
                k: v
                for k, v in (("score", rec["score"]), ("best_score", best_score))
                if v is not None
            },
        )
        score = f"{self.objective['name']} {rec['score']:.4g}" if rec["score"] is not None else ""
        self.reporter.event(
            f"trial {rec['trial_id']} {status.lower()} in {rec['duration_s']:.1f} s {score}"
            + (f": {rec['error']}" if rec["error"] else ""),
            "warning" if status in (TrialStatus.FAILED, TrialStatus.INVALID) else "info",
        )
        self.reporter.progress(
            "searching",
            self.finished,
            self.spec.max_trials,
            f"{self.finished}/{self.spec.max_trials} trials done · best {best} "
            f"({self.objective['name']} {best_score:.4g})"
            if best_score is not None
            else f"{self.finished}/{self.spec.max_trials} trials done",
        )

    def stop_running(self) -> None:
        """The search was canceled: the trial in flight ends STOPPED (a resume repeats it)."""
        rec = self.current
        if rec is not None:
            ended = records.now()
            started = rec["started_at"] or ended
            rec.update(
                {
                    "status": TrialStatus.STOPPED,
                    "ended_at": ended,
                    "duration_s": round(ended - started, 3),
                }
            )
            records.write_trial(self.run_dir, rec)
            self.current = None

    # -- after a restart
    def from_oracle(self, tuner, trial) -> records.TrialRecord:
        """A record rebuilt from KerasTuner's own trial state (history from its metrics)."""
        history = {}
        for name, metric in trial.metrics.metrics.items():
            history[name] = [float(o.mean()) for o in metric.get_history()]
        epochs = max((len(v) for v in history.values()), default=0)
        return {
            "trial_id": str(trial.trial_id),
            "number": trial_number(tuner, trial.trial_id),
            "status": trial_status(trial),
            "hyperparameters": plain(trial.hyperparameters.values),
            "score": float(trial.score) if trial.score is not None else None,
            "objective": self.objective.copy(),
            "started_at": None,
            "ended_at": None,
            "duration_s": None,
            "epochs": epochs,
            "history": history,
            "error": last_line(trial.message),
            "checkpoint_kept": os.path.exists(tuner._get_checkpoint_fname(trial.trial_id)),
            "worker": "main",
        }

    def reconcile(self, tuner) -> list[str]:
        """Make the records agree with the oracle after a resume; returns the repeated trials.

        A trial the oracle finished but whose record still says RUNNING (killed in between)
        is rewritten from the oracle; one the oracle will retry (killed or canceled in flight),
        or never saw, is STOPPED until it runs again."""
        oracle_trials = tuner.oracle.trials
        repeated = []
        for rec in records.read_trials(self.run_dir):
            if rec.get("status") not in (TrialStatus.RUNNING, TrialStatus.STOPPED):
                continue
            trial = oracle_trials.get(rec["trial_id"])
            if trial is not None and trial_status(trial) in (
                TrialStatus.COMPLETED,
                TrialStatus.FAILED,
            ):
                fixed = self.from_oracle(tuner, trial)
                saved = Path(tuner.get_trial_dir(trial.trial_id)) / "trial.json"
                ended = saved.stat().st_mtime if saved.exists() else records.now()
                started = rec.get("started_at") or ended
                fixed.update(
                    {"started_at": started, "ended_at": ended, "duration_s": ended - started}
                )
                records.write_trial(self.run_dir, fixed)
                continue
            if (
                rec["status"] == TrialStatus.RUNNING
            ):  # killed: it ends now, as far as anyone can tell
                rec.update(status=TrialStatus.STOPPED, ended_at=records.now())
                records.write_trial(self.run_dir, rec)
            repeated.append(rec["trial_id"])
        self.finished = sum(
            1
            for r in records.read_trials(self.run_dir)
            if r["status"] in (TrialStatus.COMPLETED, TrialStatus.FAILED)
        )
        return repeated


def trial_number(tuner, trial_id: str) -> int:
    order = list(getattr(tuner.oracle, "start_order", []))
    return order.index(trial_id) if trial_id in order else len(order)


def trial_status(trial) -> str:
    status = getattr(trial.status, "value", trial.status)
    status = str(status).upper()
    return status if status in records.STATUSES else TrialStatus.RUNNING


def best_value(values: list[float], objective: dict) -> float | None:
    finite = [v for v in values if v is not None and math.isfinite(v)]
    if not finite:
        return None
    return max(finite) if objective["direction"] == "max" else min(finite)


def last_line(message: str | None) -> str | None:
    if not message:
        return None
    lines = [line.strip() for line in str(message).strip().splitlines() if line.strip()]
    return lines[-1][:2000] if lines else None


def plain(value: Any) -> Any:
    """Numpy scalars in hyperparameter values -> JSON numbers."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def space_of(hps) -> list[dict[str, Any]]:
    """KerasTuner hyperparameters as TuneSpec.space-style dicts (for the Tune page)."""
    out = []
    for hp in hps.space:
        kind = type(hp).__name__.lower()
        item: dict[str, Any] = {"name": hp.name, "default": plain(hp.default)}
        if kind == "boolean":
            item["kind"] = "bool"
        elif kind == "choice":
            item.update(kind="choice", choices=plain(list(hp.values)))
        elif kind == "fixed":
            item.update(kind="fixed", value=plain(hp.value))
        elif kind in ("int", "float"):
            item.update(
                kind=kind,
                low=plain(hp.min_value),
                high=plain(hp.max_value),
                step=plain(hp.step),
                log=getattr(hp, "sampling", "linear") == "log",
            )
        else:
            item["kind"] = kind
        conditions = getattr(hp, "conditions", None) or []
        if conditions:
            cond = conditions[0]
            item["parent"] = {"name": cond.name, "values": plain(list(cond.values))}
        out.append(item)
    return out
