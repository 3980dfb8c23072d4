"""The tuning job: a KerasTuner search over one catalog model, crash-safe and watchable.

`run_tune_job(spec, reporter, run_dir)` prepares the data once through the training families
(the same preprocessing and networks as `core/training/job.py`), then runs RandomSearch,
GridSearch, Hyperband or BayesianOptimization with `directory=run_dir/"search"` and
`overwrite=False`, so rerunning the job in the same folder (`launcher.resume`) continues the
search: finished trials are kept and only the trial in flight is run again.

What this module adds to KerasTuner 1.4.8 (read from its source):
- Trial records (`core/tuning/trials.py`) written where the oracle lives (this process, or the
  chief in distributed mode): RUNNING when a trial starts, its learning curve after each epoch
  (written by the process that trains it), COMPLETED/FAILED with score or error at the end.
- Failing trials: KerasTuner stops after N *consecutive* failures by raising out of `end_trial`;
  here the search stops starting trials once more than `max_failed_trials` have failed in all,
  and the run fails with a message that says how many failed and why; completed trials stay.
- Oracle files are written atomically (KerasTuner writes them in place, so a `kill -9` while
  writing leaves a truncated `oracle.json` that can never be reloaded).
- GridSearch's oracle keeps its position in the grid (`_ordered_ids`, `_populate_next`) only in
  memory: after a reload it believes the grid is exhausted and stops. Both are saved in its state
  here. Its `end_trial` also changes state after saving it; the state is saved again.
- A retried trial (the one in flight when the worker died) starts with empty metrics; KerasTuner
  would keep the metrics reported before the crash and skip reporting the new ones.
- Retention: only the best `keep_best` trials keep their checkpoint files (Hyperband's trials that
  a later round continues from are kept until their bracket is done; a continuation whose
  checkpoint is gone trains from fresh weights instead of failing).
- Cancel between epochs and between trials; a time budget after which no trial starts.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from core.errors import BadInput, JobCanceled
from core.runs.reporter import Reporter, raise_if_canceled
from core.specs import TuneSpec
from core.tuning import trials as tr
from core.tuning.context import SPEC_FILE, Context, prepare_context
from core.tuning.distributed import ENV_KEYS, run_chief
from core.tuning.kt_ext import kt_classes, search_args, start_search
from core.tuning.records import mark_stopped, result_payload, retain, write_search


def run_tune_job(spec: TuneSpec, reporter: Reporter, run_dir: Path) -> dict[str, Any]:
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    if spec.max_trials < 1:
        raise BadInput("max trials must be at least 1")
    for key in ENV_KEYS:  # distributed mode is opted into below, never inherited
        os.environ.pop(key, None)
    ctx = prepare_context(
        spec, reporter, run_dir, "chief" if spec.workers else "main", run_dir / "search" / "data"
    )
    tr.write_json_atomic(run_dir / "search" / SPEC_FILE, spec.to_dict())
    raise_if_canceled(reporter)
    if spec.workers > 0:
        return run_chief(ctx)
    return _run_single(ctx)


def _run_single(ctx: Context) -> dict[str, Any]:
    parts = kt_classes()
    ctx.reporter.event(
        f"{ctx.spec.tuner} search over {ctx.model} ({ctx.task}): {len(ctx.space)} "
        f"hyperparameter(s), objective {ctx.objective} ({ctx.direction}), up to "
        f"{ctx.spec.max_trials} trials"
    )
    tuner = start_search(ctx)
    args, kwargs = search_args(ctx)
    try:
        tuner.search(*args, **kwargs)
    except parts["SearchInterrupted"]:
        ctx.canceled = True
    if ctx.canceled or ctx.stop_reason == "canceled":
        mark_stopped(ctx, "canceled by the user; this trial runs again on resume")
        write_search(ctx, tr.read_trials(ctx.run_dir), state="canceled")
        raise JobCanceled("canceled by the user; resume continues the search")
    retain(tuner.oracle, ctx, final=True)
    if ctx.stop_reason == "time budget":
        ctx.reporter.event("time budget used up: no more trials started", "warning")
    return result_payload(ctx)
