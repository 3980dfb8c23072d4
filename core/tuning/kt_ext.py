"""KerasTuner 1.4.8 extended for crash-safe, watchable searches (see core/tuning/job.py for what
each extension fixes), and starting a tuner on a Context.

The classes are built lazily (`kt_classes`): importing this module must not import TensorFlow.
"""

from __future__ import annotations

import functools
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from core.errors import BadInput
from core.runs.reporter import NullReporter
from core.training.fit import stop_on_non_finite
from core.tuning import trials as tr
from core.tuning.context import PROJECT, Context, build_model, first_error_line
from core.tuning.records import (
    hyperband_info,
    read_json,
    reconcile_records,
    retain,
    worker_name,
    write_search,
)
from core.tuning.space import declare, user_values
from core.tuning.trials import TrialStatus
from core.util import freeze_heap, write_json_atomic

NO_CONSECUTIVE_LIMIT = 10**9  # our own limit (total failed trials) replaces KerasTuner's


def _atomic_json(path: str | Path, payload: Any) -> str:
    return write_json_atomic(path, payload, default=None)  # KerasTuner's state: plain JSON


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
        # Set by keras_tuner's Oracle (the base this mixin always precedes); declared for mypy.
        trials: dict[str, Any]
        ongoing_trials: dict[str, Any]
        start_order: list[str]
        _retry_queue: list[str]

        def _stop_reason(self) -> str:
            ctx = self.ctx
            if ctx.should_stop():
                return "canceled"
            if self.trials and not ctx.budget_left():  # the first trial always runs
                return "time budget"
            failed = [t for t in self.trials.values() if t.status == TrialStatus.FAILED]
            if len(failed) > ctx.spec.max_failed_trials:
                return "too many failed trials"
            return ""

        @synchronized
        def create_trial(self, tuner_id):
            reason = self._stop_reason()
            if reason:
                self.ctx.stop_reason = reason
                self.tuner_ids.discard(tuner_id)
                stopped = trial_module.Trial(
                    self.get_space(), trial_id="stop", status=TrialStatus.STOPPED
                )
                return stopped
            if tuner_id not in self.ongoing_trials and self._retry_queue:
                retried = self.trials[self._retry_queue[-1]]
                retried.metrics = metrics_tracking.MetricsTracker()
                retried.score, retried.best_step = None, 0
            trial = super().create_trial(tuner_id)
            if trial.status == TrialStatus.RUNNING:
                self._record_start(trial, tuner_id)
            return trial

        @synchronized
        def requeue(self, tuner_id: str) -> str | None:
            """A worker died mid-trial while this oracle lives on: its trial goes back to the
            queue (KerasTuner does this only when it reloads) and runs again on the next worker
            that asks, with fresh metrics. Returns the trial's id, or None."""
            trial = self.ongoing_trials.pop(tuner_id, None)
            if trial is None:
                return None
            self._retry_queue.append(trial.trial_id)
            self.save()
            path = self.ctx.run_dir / tr.TRIALS_DIR / f"{trial.trial_id}.json"
            record = read_json(path)
            if record:
                record.update(
                    status=TrialStatus.STOPPED,
                    error=f"interrupted ({worker_name(tuner_id)} died); this trial runs again",
                    ended_at=tr.now(),
                )
                tr.write_trial(self.ctx.run_dir, record)
            return trial.trial_id

        def _record_start(self, trial, tuner_id: str) -> None:
            ctx = self.ctx
            path = ctx.run_dir / tr.TRIALS_DIR / f"{trial.trial_id}.json"
            old = read_json(path)
            if old.get("status") == TrialStatus.RUNNING and old.get("worker") == worker_name(
                tuner_id
            ):
                return  # the same tuner asking again for its trial
            values = trial.hyperparameters.values
            tr.write_trial(
                ctx.run_dir,
                tr.started_record(
                    trial.trial_id,
                    self.start_order.index(trial.trial_id),
                    user_values(values),
                    {"name": ctx.objective, "direction": ctx.direction},
                    worker_name(tuner_id),
                    restarts=int(old.get("restarts", -1)) + 1 if old else 0,
                    **hyperband_info(values),
                ),
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
            record = read_json(path) or {"trial_id": trial.trial_id, "history": {}, "epochs": 0}
            ended = tr.now()
            score = trial.score if trial.status == TrialStatus.COMPLETED else None
            error = None
            if trial.status != TrialStatus.COMPLETED:
                error = first_error_line(trial.message) or (
                    "the objective was NaN: the loss diverged (lower the learning rate)"
                )
            record.update(
                status=trial.status if trial.status in tr.STATUSES else TrialStatus.FAILED,
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
            ended = [
                r for r in records if r.get("status") in (TrialStatus.COMPLETED, TrialStatus.FAILED)
            ]
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
            failed = sum(r["status"] == TrialStatus.FAILED for r in ended)
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
            callbacks.append(stop_on_non_finite())
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
            record = read_json(path) or {
                "trial_id": trial.trial_id,
                "status": TrialStatus.RUNNING,
                "hyperparameters": user_values(trial.hyperparameters.values),
                "worker": worker_name(self.tuner_id),
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


def search_args(ctx: Context) -> tuple[tuple, dict[str, Any]]:
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


def start_search(ctx: Context):
    freeze_heap()
    tuner = make_tuner(ctx)
    repeated = reconcile_records(tuner.oracle, ctx)
    done = sum(
        t.status in (TrialStatus.COMPLETED, TrialStatus.FAILED)
        for t in tuner.oracle.trials.values()
    )
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
