"""A search's records beside KerasTuner's own state: trial records kept in step with the oracle,
checkpoint retention, search.json and the job's result. The record files themselves are
written by `core/tuning/trials.py` (shared with AutoKeras searches).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from core.errors import BadInput
from core.tuning import trials as tr
from core.tuning.context import Context
from core.tuning.space import user_values
from core.tuning.trials import TrialStatus


def read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return {}


def worker_name(tuner_id: str) -> str:
    return tuner_id if "KERASTUNER_ORACLE_IP" in os.environ else "main"


def hyperband_info(values: dict[str, Any]) -> dict[str, Any]:
    if "tuner/epochs" not in values:
        return {}
    return {
        "hyperband": {
            "epochs": values.get("tuner/epochs"),
            "initial_epoch": values.get("tuner/initial_epoch"),
            "bracket": values.get("tuner/bracket"),
            "round": values.get("tuner/round"),
            "continues": values.get("tuner/trial_id"),
        }
    }


def retain(oracle, ctx: Context, final: bool = False) -> None:
    """Keep the checkpoints of the best `keep_best` completed trials; delete the others'."""
    done = [
        t
        for t in oracle.trials.values()
        if t.status == TrialStatus.COMPLETED and t.score is not None
    ]
    done.sort(key=lambda t: t.score, reverse=ctx.direction == "max")
    keep = {t.trial_id for t in done[: ctx.spec.keep_best]}
    protected = {t.trial_id for t in oracle.ongoing_trials.values()}
    protected |= set(oracle._retry_queue)
    if not final:
        protected |= _hyperband_pending(oracle)
    for trial in list(oracle.trials.values()):
        if trial.status == TrialStatus.RUNNING and trial.trial_id in protected:
            continue
        path = ctx.checkpoint(trial.trial_id)
        kept = trial.trial_id in keep or trial.trial_id in protected
        if not kept and path.exists():
            path.unlink()
        rec_path = ctx.run_dir / tr.TRIALS_DIR / f"{trial.trial_id}.json"
        record = read_json(rec_path)
        if record and record.get("status") != TrialStatus.RUNNING:
            now_kept = path.exists()
            if record.get("checkpoint_kept") != now_kept:
                record["checkpoint_kept"] = now_kept
                tr.write_trial(ctx.run_dir, record)


def _hyperband_pending(oracle) -> set[str]:
    """Trials of Hyperband brackets still running: a later round may continue from them."""
    pending: set[str] = set()
    for bracket in getattr(oracle, "_brackets", None) or []:
        rounds = bracket["rounds"]
        last = len(rounds) - 1
        if len(rounds[last]) != oracle._get_size(bracket["bracket_num"], last):
            for round_info in rounds:
                pending.update(info["id"] for info in round_info)
    return pending


def write_search(ctx: Context, records: list[dict[str, Any]], state: str) -> None:
    best = tr.best_trial(records, ctx.direction)
    tr.write_search(
        ctx.run_dir,
        {
            "engine": "keras-tuner",
            "tuner": ctx.spec.tuner,
            "objective": {"name": ctx.objective, "direction": ctx.direction},
            "max_trials": ctx.spec.max_trials,
            "executions_per_trial": ctx.spec.executions_per_trial,
            "space": ctx.space,
            "model": ctx.model,
            "task": ctx.task,
            "best_trial_id": best["trial_id"] if best else None,
            "best_score": best["score"] if best else None,
            "disk_bytes": tr.disk_usage(ctx.search_dir),
            "keep_best": ctx.spec.keep_best,
            "workers": ctx.spec.workers,
            "time_budget_s": ctx.spec.time_budget_s,
            "max_failed_trials": ctx.spec.max_failed_trials,
            "trials_completed": sum(r.get("status") == TrialStatus.COMPLETED for r in records),
            "trials_failed": sum(r.get("status") == TrialStatus.FAILED for r in records),
            "spent_s": ctx.spent_before + (time.time() - ctx.started),
            "state": state,
            "updated_at": tr.now(),
        },
    )


def reconcile_records(oracle, ctx: Context) -> int:
    """After a reload: records agree with the oracle; interrupted trials are STOPPED until
    they run again. Returns how many trials will be repeated."""
    repeated = set(oracle._retry_queue)
    for trial in oracle.trials.values():
        path = ctx.run_dir / tr.TRIALS_DIR / f"{trial.trial_id}.json"
        record = read_json(path)
        status = trial.status
        if trial.trial_id in repeated or status == TrialStatus.RUNNING:
            if record.get("status") != TrialStatus.STOPPED:
                record.update(
                    trial_id=trial.trial_id,
                    status=TrialStatus.STOPPED,
                    error="interrupted (the worker stopped); this trial runs again on resume",
                    ended_at=record.get("ended_at") or tr.now(),
                )
                record.setdefault("number", oracle.start_order.index(trial.trial_id))
                record.setdefault("hyperparameters", user_values(trial.hyperparameters.values))
                tr.write_trial(ctx.run_dir, record)
            continue
        if record.get("status") != status or (
            status == TrialStatus.COMPLETED and record.get("score") is None
        ):
            oracle._record_end(trial)
    known = set(oracle.trials)
    for record in tr.read_trials(ctx.run_dir):
        if record["trial_id"] not in known and record.get("status") == TrialStatus.RUNNING:
            # Recorded but never saved by the oracle: it will start again under a new id.
            (ctx.run_dir / tr.TRIALS_DIR / f"{record['trial_id']}.json").unlink(missing_ok=True)
    return len(repeated)


def mark_stopped(ctx: Context, message: str) -> None:
    for record in tr.read_trials(ctx.run_dir):
        if record.get("status") == TrialStatus.RUNNING:
            record.update(status=TrialStatus.STOPPED, error=message, ended_at=tr.now())
            tr.write_trial(ctx.run_dir, record)


def result_payload(ctx: Context) -> dict[str, Any]:
    records = tr.read_trials(ctx.run_dir)
    write_search(ctx, records, state="finished")
    completed = [r for r in records if r.get("status") == TrialStatus.COMPLETED]
    failed = [r for r in records if r.get("status") == TrialStatus.FAILED]
    best = tr.best_trial(records, ctx.direction)
    if len(failed) > ctx.spec.max_failed_trials:
        errors: dict[str, int] = {}
        for r in failed:
            error = r.get("error") or "unknown error"  # trials without a message count together
            errors[error] = errors.get(error, 0) + 1
        why = "; ".join(f"{e} ({n}x)" if n > 1 else e for e, n in errors.items())
        kept = (
            f"the {len(completed)} completed trial(s) are kept (best: trial {best['trial_id']}, "
            f"{ctx.objective} {best['score']:.4g})"
            if best
            else "no trial completed"
        )
        raise BadInput(
            f"the search stopped: {len(failed)} of {len(records)} trials failed, more than the "
            f"limit of {ctx.spec.max_failed_trials} failed trials; {kept}. Trials failed with: "
            f"{why[:1200]}"
        )
    if best is None:
        if failed:
            raise BadInput(
                f"no trial completed: {len(failed)} failed (last: {failed[-1].get('error')})"
            )
        raise BadInput(
            "no trial completed"
            + (" within the time budget: raise it" if ctx.stop_reason == "time budget" else "")
        )
    compact = [tr.summary(r) for r in records]
    search = tr.read_search(ctx.run_dir)
    return {
        "engine": "keras-tuner",
        "tuner": ctx.spec.tuner,
        "objective": {"name": ctx.objective, "direction": ctx.direction},
        "model": ctx.model,
        "task": ctx.task,
        "best": {
            "trial_id": best["trial_id"],
            "score": best["score"],
            "hyperparameters": best["hyperparameters"],
        },
        "trials": compact,
        "completed": len(completed),
        "failed": len(failed),
        "stopped_by": ctx.stop_reason or None,
        "disk_bytes": search.get("disk_bytes", 0),
        "workers": sorted({r.get("worker", "main") for r in records}),
        "metrics": {ctx.objective: best["score"]},
    }
