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

import dataclasses
import functools
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from core.data.resolve import load_data
from core.errors import BadInput, JobCanceled
from core.runs.reporter import NullReporter, Reporter, raise_if_canceled
from core.specs import TrainSpec, TuneSpec
from core.tuning import trials as tr
from core.tuning.promote import trial_train_spec
from core.tuning.space import check_objective, declare, decode_values, user_values, validate_space
from core.util import KERASTUNER_ENV, free_port, write_json_atomic

PROJECT = "kt"
SPEC_FILE = "tune_spec.json"
ENV_KEYS = KERASTUNER_ENV
NO_CONSECUTIVE_LIMIT = 10**9  # our own limit (total failed trials) replaces KerasTuner's


@dataclass
class Context:
    """What every process of a search shares: the data, prepared once, and the search's terms."""

    spec: TuneSpec
    base: TrainSpec
    task: str
    model: str
    prepared: Any
    space: list[dict[str, Any]]
    objective: str
    direction: str
    run_dir: Path
    reporter: Any = None
    role: str = "main"  # main | chief | tunerN
    started: float = field(default_factory=time.time)
    spent_before: float = 0.0
    canceled: bool = False
    stop_reason: str = ""

    @property
    def search_dir(self) -> Path:
        return self.run_dir / "search"

    @property
    def project_dir(self) -> Path:
        return self.search_dir / PROJECT

    def checkpoint(self, trial_id: str) -> Path:
        return self.project_dir / f"trial_{trial_id}" / "checkpoint.weights.h5"

    def should_stop(self) -> bool:
        if not self.canceled and self.reporter is not None and self.reporter.should_stop():
            self.canceled = True
        return self.canceled

    def budget_left(self) -> bool:
        budget = self.spec.time_budget_s
        return not budget or self.spent_before + (time.time() - self.started) < budget


def _atomic_json(path: str | Path, payload: Any) -> str:
    return write_json_atomic(path, payload, default=None)  # KerasTuner's state: plain JSON


def first_error_line(message: str | None) -> str | None:
    """The exception line of a traceback (KerasTuner stores the whole traceback)."""
    if not message:
        return None
    lines = [line.strip() for line in str(message).strip().splitlines() if line.strip()]
    for line in reversed(lines):
        if ":" in line and not line.startswith(("File ", "During handling", "The above")):
            return line[:1000]
    return lines[-1][:1000] if lines else None


# ---------------------------------------------------------------------------------------------
# KerasTuner classes (built lazily: importing this module must not import TensorFlow)


@functools.lru_cache(maxsize=1)
def kt_classes() -> dict[str, Any]:
    import keras
    import keras_tuner as kt
    from keras_tuner.src.engine import metrics_tracking
    from keras_tuner.src.engine import trial as trial_module
    from keras_tuner.src.engine.oracle import synchronized
    from keras_tuner.src.tuners.gridsearch import LinkedList

    class SearchInterrupted(kt.errors.FatalError):
        """Raised between epochs on cancel: KerasTuner lets it through without ending the
        trial, so the oracle keeps it as ongoing and a resume runs it again."""

    class StudioOracle:
        """Mixin over a KerasTuner oracle: trial records, failure limit, stop, retention."""

        ctx: Context

        def _stop_reason(self) -> str:
            ctx = self.ctx
            if ctx.should_stop():
                return "canceled"
            if self.trials and not ctx.budget_left():  # the first trial always runs
                return "time budget"
            failed = [t for t in self.trials.values() if t.status == "FAILED"]
            if len(failed) > ctx.spec.max_failed_trials:
                return "too many failed trials"
            return ""

        @synchronized
        def create_trial(self, tuner_id):
            reason = self._stop_reason()
            if reason:
                self.ctx.stop_reason = reason
                self.tuner_ids.discard(tuner_id)
                stopped = trial_module.Trial(self.get_space(), trial_id="stop", status="STOPPED")
                return stopped
            if tuner_id not in self.ongoing_trials and self._retry_queue:
                retried = self.trials[self._retry_queue[-1]]
                retried.metrics = metrics_tracking.MetricsTracker()
                retried.score, retried.best_step = None, 0
            trial = super().create_trial(tuner_id)
            if trial.status == "RUNNING":
                self._record_start(trial, tuner_id)
            return trial

        def _record_start(self, trial, tuner_id: str) -> None:
            ctx = self.ctx
            path = ctx.run_dir / tr.TRIALS_DIR / f"{trial.trial_id}.json"
            old = _read(path)
            if old.get("status") == "RUNNING" and old.get("worker") == _worker_name(tuner_id):
                return  # the same tuner asking again for its trial
            values = trial.hyperparameters.values
            tr.write_trial(
                ctx.run_dir,
                {
                    "trial_id": trial.trial_id,
                    "number": self.start_order.index(trial.trial_id),
                    "status": "RUNNING",
                    "hyperparameters": user_values(values),
                    "score": None,
                    "objective": {"name": ctx.objective, "direction": ctx.direction},
                    "started_at": tr.now(),
                    "ended_at": None,
                    "duration_s": None,
                    "epochs": 0,
                    "history": {},
                    "error": None,
                    "checkpoint_kept": False,
                    "worker": _worker_name(tuner_id),
                    "restarts": int(old.get("restarts", -1)) + 1 if old else 0,
                    **_hyperband_info(values),
                },
            )

        @synchronized
        def end_trial(self, trial):
            super().end_trial(trial)
            self.save()  # GridSearch changes its state after saving it
            self._record_end(self.trials[trial.trial_id])
            self._after_trial()

        def _record_end(self, trial) -> None:
            ctx = self.ctx
            path = ctx.run_dir / tr.TRIALS_DIR / f"{trial.trial_id}.json"
            record = _read(path) or {"trial_id": trial.trial_id, "history": {}, "epochs": 0}
            ended = tr.now()
            score = trial.score if trial.status == "COMPLETED" else None
            error = None
            if trial.status != "COMPLETED":
                error = first_error_line(trial.message) or (
                    "the objective was NaN: the loss diverged (lower the learning rate)"
                )
            record.update(
                status=trial.status if trial.status in tr.STATUSES else "FAILED",
                score=None if score is None else float(score),
                ended_at=ended,
                duration_s=ended - record.get("started_at", ended),
                error=error,
                number=self.start_order.index(trial.trial_id),
                hyperparameters=user_values(trial.hyperparameters.values),
                objective={"name": ctx.objective, "direction": ctx.direction},
            )
            record.setdefault("worker", "main")
            tr.write_trial(ctx.run_dir, record)

        def _after_trial(self) -> None:
            ctx = self.ctx
            retain(self, ctx)
            records = tr.read_trials(ctx.run_dir)
            ended = [r for r in records if r.get("status") in ("COMPLETED", "FAILED")]
            best = tr.best_trial(records, ctx.direction)
            write_search(ctx, records, state="running")
            reporter = ctx.reporter or NullReporter()
            last = max(ended, key=lambda r: r.get("ended_at") or 0, default=None)
            if last is not None:
                values = {"trials_done": float(len(ended))}
                if last.get("score") is not None:
                    values[f"trial_{ctx.objective}"] = float(last["score"])
                if best is not None:
                    values[f"best_{ctx.objective}"] = float(best["score"])
                reporter.metrics(int(last.get("number", len(ended) - 1)), values)
            failed = sum(r["status"] == "FAILED" for r in ended)
            reporter.progress(
                "searching",
                min(len(ended), ctx.spec.max_trials),
                ctx.spec.max_trials,
                f"{len(ended)}/{ctx.spec.max_trials} trials"
                + (f", {failed} failed" if failed else "")
                + (f" · best {ctx.objective} {best['score']:.4g}" if best else ""),
            )

        # Crash safety: whole files or nothing.
        def save(self):
            _atomic_json(self._get_oracle_fname(), self.get_state())

        def _save_trial(self, trial):
            _atomic_json(
                os.path.join(self._get_trial_dir(trial.trial_id), "trial.json"), trial.get_state()
            )

    class GridState:
        """GridSearch's place in the grid, saved with the oracle (KerasTuner forgets it)."""

        def get_state(self):
            state = super().get_state()
            ordered, index = [], self._ordered_ids._next_index[None]
            while index is not None:
                ordered.append(self._ordered_ids._memory[index])
                index = self._ordered_ids._next_index[index]
            state["studio_ordered_ids"] = ordered
            state["studio_populate_next"] = list(self._populate_next)
            return state

        def set_state(self, state):
            super().set_state(state)
            self._ordered_ids = LinkedList()
            for trial_id in state.get("studio_ordered_ids", []):
                self._ordered_ids.insert(trial_id)
            self._populate_next = list(state.get("studio_populate_next", []))

    class RandomOracle(StudioOracle, kt.oracles.RandomSearchOracle):
        pass

    class GridOracle(StudioOracle, GridState, kt.oracles.GridSearchOracle):
        pass

    class HyperbandOracle(StudioOracle, kt.oracles.HyperbandOracle):
        pass

    class BayesianOracle(StudioOracle, kt.oracles.BayesianOptimizationOracle):
        pass

    class StudioTuner:
        """Mixin over a KerasTuner tuner: per-epoch curves and cancel, atomic state."""

        ctx: Context

        def run_trial(self, trial, *args, **kwargs):
            self._curve: dict[str, list[float]] = {}
            self._last_epoch = -1
            callbacks = list(kwargs.pop("callbacks", []))
            callbacks.append(keras.callbacks.TerminateOnNaN())
            patience = self.ctx.spec.trial_early_stopping
            if patience > 0:
                callbacks.append(
                    keras.callbacks.EarlyStopping(
                        monitor=self.ctx.objective, mode=self.ctx.direction, patience=patience
                    )
                )
            return super().run_trial(trial, *args, callbacks=callbacks, **kwargs)

        def on_epoch_end(self, trial, model, epoch, logs=None):
            if epoch <= self._last_epoch:  # a new execution of the same trial
                self._curve = {}
            self._last_epoch = epoch
            for key, value in (logs or {}).items():
                if np.isscalar(value):
                    self._curve.setdefault(key, []).append(float(value))
            path = self.ctx.run_dir / tr.TRIALS_DIR / f"{trial.trial_id}.json"
            record = _read(path) or {
                "trial_id": trial.trial_id,
                "status": "RUNNING",
                "hyperparameters": user_values(trial.hyperparameters.values),
                "worker": _worker_name(self.tuner_id),
            }
            record.update(history=self._curve, epochs=epoch + 1)
            tr.write_trial(self.ctx.run_dir, record)
            if self.ctx.should_stop():
                raise SearchInterrupted("canceled by the user")

        def _build_hypermodel(self, hp):
            past = hp.values.get("tuner/trial_id")
            if past is not None and not self.ctx.checkpoint(past).exists():
                # Hyperband continues a trial whose weights are gone (retention, or a worker
                # on another machine trained it): train this round from fresh weights.
                return kt.Tuner._build_hypermodel(self, hp)
            return super()._build_hypermodel(hp)

        def save(self):
            if not self._is_worker():
                self.oracle.save()
            _atomic_json(self._get_tuner_fname(), self.get_state())

    tuners = {
        "random": (RandomOracle, kt.RandomSearch),
        "grid": (GridOracle, kt.GridSearch),
        "hyperband": (HyperbandOracle, kt.Hyperband),
        "bayesian": (BayesianOracle, kt.BayesianOptimization),
    }
    classes = {
        name: (oracle_cls, type(f"Studio{tuner_cls.__name__}", (StudioTuner, tuner_cls), {}))
        for name, (oracle_cls, tuner_cls) in tuners.items()
    }

    class HyperModel(kt.HyperModel):
        def __init__(self, ctx: Context):
            super().__init__()
            self.ctx = ctx

        def build(self, hp):
            return build_model(self.ctx, declare(hp, self.ctx.space))

    return {
        "classes": classes,
        "HyperModel": HyperModel,
        "SearchInterrupted": SearchInterrupted,
        "kt": kt,
    }


def _read(path: Path) -> dict[str, Any]:
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return {}


def _worker_name(tuner_id: str) -> str:
    return tuner_id if "KERASTUNER_ORACLE_IP" in os.environ else "main"


def _hyperband_info(values: dict[str, Any]) -> dict[str, Any]:
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


# ---------------------------------------------------------------------------------------------
# Building a trial's model


def build_model(ctx: Context, values: dict[str, Any]):
    from core.training.build import build_network, learning_rate_for, loss_for, make_optimizer

    spec = trial_train_spec(ctx.base, ctx.model, decode_values(values, ctx.model))
    network = build_network(spec, ctx.prepared, ctx.model, ctx.task)
    learning_rate = learning_rate_for(spec, ctx.model)
    loss, metrics = loss_for(ctx.prepared)
    network.compile(
        make_optimizer(spec, learning_rate, ctx.prepared.train, spec.epochs),
        loss=loss,
        metrics=metrics,
    )
    return network


# ---------------------------------------------------------------------------------------------
# Setup shared by the single process, the chief and the workers


def prepare_context(spec: TuneSpec, reporter, run_dir: Path, role: str, scratch: Path) -> Context:
    import keras

    from core.training.build import loss_for, prepare
    from core.training.precheck import plan

    base = TrainSpec.from_dict(dict(spec.base))
    reporter.progress("loading data", 0, 1, f"reading {base.data}")
    loaded = load_data(base.data)
    task, model = plan(base, loaded)
    space = validate_space(list(spec.space), model)
    check_objective(spec.objective, spec.direction, task)  # before any data work
    keras.utils.set_random_seed(base.seed)
    scratch.mkdir(parents=True, exist_ok=True)
    prepared = prepare(base, task, loaded, scratch, reporter)
    loss, metrics = loss_for(prepared)
    logged = ["loss", *metrics]
    logged += [f"val_{m}" for m in logged]
    if spec.objective not in logged:
        raise BadInput(
            f"objective {spec.objective!r} is never logged by this model; it logs: "
            f"{', '.join(logged)}"
        )
    _, direction = check_objective(spec.objective, spec.direction, task)
    return Context(
        spec=spec,
        base=dataclasses.replace(base, task=task, model=model),
        task=task,
        model=model,
        prepared=prepared,
        space=space,
        objective=spec.objective,
        direction=direction,
        run_dir=run_dir,
        reporter=reporter,
        role=role,
        spent_before=(
            float(tr.read_search(run_dir).get("spent_s") or 0.0)
            if role in ("main", "chief")
            else 0.0
        ),
    )


def make_tuner(ctx: Context):
    import keras_tuner as kt

    parts = kt_classes()
    oracle_cls, tuner_cls = parts["classes"][ctx.spec.tuner]
    objective = kt.Objective(ctx.objective, ctx.direction)
    common = dict(
        objective=objective,
        seed=ctx.base.seed,
        max_retries_per_trial=0,
        max_consecutive_failed_trials=NO_CONSECUTIVE_LIMIT,
    )
    if ctx.spec.tuner == "hyperband":
        oracle = oracle_cls(max_epochs=ctx.base.epochs, factor=ctx.spec.hyperband_factor, **common)
        oracle.max_trials = ctx.spec.max_trials  # Hyperband has no trial limit of its own
    else:
        oracle = oracle_cls(max_trials=ctx.spec.max_trials, **common)
    oracle.ctx = ctx
    tuner = tuner_cls.__new__(tuner_cls)
    tuner.ctx = ctx
    existed = (ctx.project_dir / "oracle.json").exists()
    try:
        kt.Tuner.__init__(
            tuner,
            oracle=oracle,
            hypermodel=parts["HyperModel"](ctx),
            directory=str(ctx.search_dir),
            project_name=PROJECT,
            overwrite=False,
            executions_per_trial=ctx.spec.executions_per_trial,
        )
    except BadInput:
        raise
    except Exception as exc:
        if existed:
            raise BadInput(
                f"the saved search in {ctx.project_dir} cannot be reloaded ({exc}); start a "
                "new search"
            ) from None
        raise BadInput(
            f"the model cannot be built with the space's default values: "
            f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        ) from None
    return tuner


# ---------------------------------------------------------------------------------------------
# Records, retention, search.json


def retain(oracle, ctx: Context, final: bool = False) -> None:
    """Keep the checkpoints of the best `keep_best` completed trials; delete the others'."""
    done = [t for t in oracle.trials.values() if t.status == "COMPLETED" and t.score is not None]
    done.sort(key=lambda t: t.score, reverse=ctx.direction == "max")
    keep = {t.trial_id for t in done[: ctx.spec.keep_best]}
    protected = {t.trial_id for t in oracle.ongoing_trials.values()}
    protected |= set(oracle._retry_queue)
    if not final:
        protected |= _hyperband_pending(oracle)
    for trial in list(oracle.trials.values()):
        if trial.status == "RUNNING" and trial.trial_id in protected:
            continue
        path = ctx.checkpoint(trial.trial_id)
        kept = trial.trial_id in keep or trial.trial_id in protected
        if not kept and path.exists():
            path.unlink()
        rec_path = ctx.run_dir / tr.TRIALS_DIR / f"{trial.trial_id}.json"
        record = _read(rec_path)
        if record and record.get("status") != "RUNNING":
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
            "trials_completed": sum(r.get("status") == "COMPLETED" for r in records),
            "trials_failed": sum(r.get("status") == "FAILED" for r in records),
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
        record = _read(path)
        status = trial.status
        if trial.trial_id in repeated or status == "RUNNING":
            if record.get("status") != "STOPPED":
                record.update(
                    trial_id=trial.trial_id,
                    status="STOPPED",
                    error="interrupted (the worker stopped); this trial runs again on resume",
                    ended_at=record.get("ended_at") or tr.now(),
                )
                record.setdefault("number", oracle.start_order.index(trial.trial_id))
                record.setdefault("hyperparameters", user_values(trial.hyperparameters.values))
                tr.write_trial(ctx.run_dir, record)
            continue
        if record.get("status") != status or (
            status == "COMPLETED" and record.get("score") is None
        ):
            oracle._record_end(trial)
    known = set(oracle.trials)
    for record in tr.read_trials(ctx.run_dir):
        if record["trial_id"] not in known and record.get("status") == "RUNNING":
            # Recorded but never saved by the oracle: it will start again under a new id.
            (ctx.run_dir / tr.TRIALS_DIR / f"{record['trial_id']}.json").unlink(missing_ok=True)
    return len(repeated)


def _result(ctx: Context) -> dict[str, Any]:
    records = tr.read_trials(ctx.run_dir)
    write_search(ctx, records, state="finished")
    completed = [r for r in records if r.get("status") == "COMPLETED"]
    failed = [r for r in records if r.get("status") == "FAILED"]
    best = tr.best_trial(records, ctx.direction)
    if len(failed) > ctx.spec.max_failed_trials:
        errors = {}
        for r in failed:
            errors[r.get("error") or "unknown error"] = errors.get(r.get("error"), 0) + 1
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
    compact = [
        {
            k: r.get(k)
            for k in (
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
        }
        for r in records
    ]
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


# ---------------------------------------------------------------------------------------------
# The job


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
        return _run_chief(ctx)
    return _run_single(ctx)


def _search_args(ctx: Context) -> tuple[tuple, dict[str, Any]]:
    from core.training.build import class_weight_for

    kwargs: dict[str, Any] = {
        "validation_data": ctx.prepared.validation,
        "epochs": ctx.base.epochs,
        "verbose": 0,
    }
    weights = class_weight_for(ctx.base, ctx.prepared, ctx.reporter or NullReporter())
    if weights:
        kwargs["class_weight"] = weights
    return (ctx.prepared.train,), kwargs


def _start(ctx: Context):
    tuner = make_tuner(ctx)
    repeated = reconcile_records(tuner.oracle, ctx)
    done = sum(t.status in ("COMPLETED", "FAILED") for t in tuner.oracle.trials.values())
    if done or repeated:
        ctx.reporter.event(
            f"resuming the search: {done} finished trial(s) kept"
            + (f", {repeated} interrupted trial(s) run again" if repeated else "")
        )
    tuner.save()  # a kill before the first trial ends still reloads this search
    ctx.started = time.time()  # the time budget counts search time, not data preparation
    write_search(ctx, tr.read_trials(ctx.run_dir), state="running")
    ctx.reporter.progress(
        "searching",
        min(done, ctx.spec.max_trials),
        ctx.spec.max_trials,
        f"{done}/{ctx.spec.max_trials} trials",
    )
    return tuner


def _mark_stopped(ctx: Context, message: str) -> None:
    for record in tr.read_trials(ctx.run_dir):
        if record.get("status") == "RUNNING":
            record.update(status="STOPPED", error=message, ended_at=tr.now())
            tr.write_trial(ctx.run_dir, record)


def _run_single(ctx: Context) -> dict[str, Any]:
    parts = kt_classes()
    ctx.reporter.event(
        f"{ctx.spec.tuner} search over {ctx.model} ({ctx.task}): {len(ctx.space)} "
        f"hyperparameter(s), objective {ctx.objective} ({ctx.direction}), up to "
        f"{ctx.spec.max_trials} trials"
    )
    tuner = _start(ctx)
    args, kwargs = _search_args(ctx)
    try:
        tuner.search(*args, **kwargs)
    except parts["SearchInterrupted"]:
        ctx.canceled = True
    if ctx.canceled or ctx.stop_reason == "canceled":
        _mark_stopped(ctx, "canceled by the user; this trial runs again on resume")
        write_search(ctx, tr.read_trials(ctx.run_dir), state="canceled")
        raise JobCanceled("canceled by the user; resume continues the search")
    retain(tuner.oracle, ctx, final=True)
    if ctx.stop_reason == "time budget":
        ctx.reporter.event("time budget used up: no more trials started", "warning")
    return _result(ctx)


# ---------------------------------------------------------------------------------------------
# Distributed: KerasTuner's chief/worker mode on this machine


def _run_chief(ctx: Context) -> dict[str, Any]:
    from concurrent import futures

    import grpc
    from keras_tuner.src import protos
    from keras_tuner.src.distribute import oracle_chief

    port = int(os.environ.get("TFSTUDIO_TUNE_PORT", "0")) or free_port()
    os.environ.update(
        KERASTUNER_ORACLE_IP="127.0.0.1",
        KERASTUNER_ORACLE_PORT=str(port),
        KERASTUNER_TUNER_ID="chief",
    )
    procs: list[subprocess.Popen] = []
    server = None
    try:
        tuner = _start(ctx)
        oracle = tuner.oracle
        server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        servicer = oracle_chief.OracleServicer(oracle)
        protos.get_service_grpc().add_OracleServicer_to_server(servicer, server)
        bind = os.environ.get("TFSTUDIO_TUNE_BIND", "127.0.0.1")
        server.add_insecure_port(f"{bind}:{port}")
        server.start()
        search = tr.read_search(ctx.run_dir)
        search["chief"] = f"{socket.gethostname()}:{port}"
        tr.write_search(ctx.run_dir, search)
        ctx.reporter.event(
            f"{ctx.spec.tuner} search, distributed: chief oracle on port {port}, starting "
            f"{ctx.spec.workers} local worker(s) (tuner0..tuner{ctx.spec.workers - 1}); more "
            f"can join with `tfstudio tune-worker --chief HOST:{port} --run RUN_ID`"
        )
        shutil.rmtree(ctx.search_dir / "ready", ignore_errors=True)
        procs = [
            start_local_worker(ctx.run_dir, f"tuner{i}", port, ctx.spec.workers)
            for i in range(ctx.spec.workers)
        ]
        while True:
            time.sleep(0.5)
            if ctx.should_stop():
                _stop_workers(procs)
                _mark_stopped(ctx, "canceled by the user; this trial runs again on resume")
                write_search(ctx, tr.read_trials(ctx.run_dir), state="canceled")
                raise JobCanceled("canceled by the user; resume continues the search")
            if servicer.stop_triggered and oracle_chief.exit_chief(oracle):
                break
            codes = [p.poll() for p in procs]
            if all(c is not None for c in codes):
                if not oracle.ongoing_trials:
                    break
                bad = [f"tuner{i} exited with {c}" for i, c in enumerate(codes) if c]
                raise RuntimeError(
                    "the tuning workers stopped before the search finished ("
                    + ", ".join(bad or ["all exited"])
                    + "): "
                    + _log_tail(ctx.run_dir / "search" / "tuner0.log")
                )
        _stop_workers(procs, grace=30)
        retain(oracle, ctx, final=True)
        return _result(ctx)
    except BaseException:
        _stop_workers(procs)
        raise
    finally:
        if server is not None:
            server.stop(0)
        for key in ENV_KEYS:
            os.environ.pop(key, None)


def start_local_worker(
    run_dir: Path, tuner_id: str, port: int, workers: int = 0
) -> subprocess.Popen:
    """One worker process: same search, trials from the chief on this machine."""
    env = {k: v for k, v in os.environ.items() if k not in ENV_KEYS}
    env.update(
        KERASTUNER_ORACLE_IP="127.0.0.1",
        KERASTUNER_ORACLE_PORT=str(port),
        KERASTUNER_TUNER_ID=tuner_id,
    )
    repo_root = str(Path(__file__).resolve().parent.parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [repo_root, env.get("PYTHONPATH", "")]))
    log = open(run_dir / "search" / f"{tuner_id}.log", "ab")  # noqa: SIM115 (the child keeps it)
    try:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "core.tuning.remote",
                "--run-dir",
                str(run_dir),
                "--chief",
                f"127.0.0.1:{port}",
                "--tuner-id",
                tuner_id,
                "--parent-pid",
                str(os.getpid()),
                "--wait-for",
                str(workers),
            ],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
    finally:
        log.close()


def _stop_workers(procs: list[subprocess.Popen], grace: float = 5.0) -> None:
    for p in procs:
        if p.poll() is None:
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except OSError:
                p.terminate()
    deadline = time.time() + grace
    for p in procs:
        try:
            p.wait(timeout=max(0.1, deadline - time.time()))
        except subprocess.TimeoutExpired:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except OSError:
                p.kill()
            p.wait()


def _log_tail(path: Path, lines: int = 5) -> str:
    try:
        return " | ".join(path.read_text(errors="replace").strip().splitlines()[-lines:])[-1500:]
    except OSError:
        return "(no log)"


def run_worker(spec: TuneSpec, run_dir: Path, tuner_id: str, wait_for: int = 0) -> int:
    """A worker's search (KERASTUNER_* already set): trials come from the chief's oracle.

    `wait_for`: the local workers started together wait (up to 2 minutes) until all of them are
    ready, so a worker that imports TensorFlow faster does not take every trial of a small search.
    """
    ctx = prepare_context(
        spec, NullReporter(), run_dir, tuner_id, run_dir / "search" / f"data-{tuner_id}"
    )
    tuner = make_tuner(ctx)
    args, kwargs = _search_args(ctx)
    if wait_for > 1:
        ready = run_dir / "search" / "ready"
        ready.mkdir(parents=True, exist_ok=True)
        (ready / tuner_id).touch()
        deadline = time.time() + 120
        while len(list(ready.iterdir())) < wait_for and time.time() < deadline:
            time.sleep(0.2)
    tuner.search(*args, **kwargs)
    return 0
