"""The AutoML job: an AutoKeras search (table, image or text; classification or regression).

`run_automl_job(spec, reporter, run_dir)` is the only entry point. The data is split as training
splits it (`core.tuning.automl_plan`), AutoKeras searches in `run_dir/search` and its tuner writes
one record per trial in the `core.tuning.trials` format while the search runs
(`core.tuning.automl_trials`). The arrays AutoKeras takes and the saved model's preprocessing
live in `core.tuning.automl_model`.

Resume: the search folder is opened with `overwrite=False`, so a run resumed after `kill -9`
reloads KerasTuner's oracle: finished trials are kept, and the trial that was in flight (still
"ongoing" in the oracle's state) is put on the oracle's retry queue and run again under the same
trial id; nothing else repeats.

The best model is saved to serve raw input. AutoKeras 3 preprocesses outside the model, in numpy
(categorical columns label-encoded, missing numbers set to 0, text split on whitespace and mapped
to token ids), so its exported network takes encoded input. The same steps are rebuilt from the
fitted AutoKeras pipeline as Keras layers (`preprocessing.keras`), and `model.keras` chains them
with the network: raw rows (strings for categories, numbers), raw strings, or any-size RGB images
in, class probabilities (in `features.json` class order) or values out. All three load with
`custom_objects=autokeras.CUSTOM_OBJECTS`; the job checks the end-to-end model against AutoKeras'
own `predict` on the test rows before it reports success.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from core.data.resolve import load_data
from core.errors import BadInput, JobCanceled
from core.runs.reporter import Reporter, raise_if_canceled
from core.specs import AutoMLSpec
from core.tuning import trials as records
from core.tuning.automl_model import (
    Arrays,
    EvalTarget,
    build_preprocessing,
    class_mapping,
    end_to_end_model,
    head_rows,
    predict,
    reference_probabilities,
)
from core.tuning.automl_plan import AutoMLSplit, prepare_split
from core.tuning.automl_trials import SEARCH_DIR, SearchCanceled, TrialRecorder, last_line
from core.tuning.trials import TrialStatus
from core.util import KERASTUNER_ENV, freeze_heap

# KerasTuner's distributed mode switches on when these are set; AutoKeras must never join it.
DISTRIBUTED_ENV = KERASTUNER_ENV
PROJECT = "automl"
SAMPLE_ROWS = 64  # raw test rows saved for exports and reload checks
# Early stopping inside trials, as AutoKeras injects it by default. Passing it ourselves also
# keeps AutoKeras from retraining the best model after the search: the exported model is the
# best trial's best epoch, the one the trial table shows.
EARLY_STOPPING_PATIENCE = 10


def scrub_distributed_env() -> list[str]:
    """Remove KerasTuner's distributed-mode variables from this process; returns those removed."""
    removed = [name for name in DISTRIBUTED_ENV if name in os.environ]
    for name in removed:
        del os.environ[name]
    return removed


# ---------------------------------------------------------------------------------------------
# AutoKeras: the task class, the tuner with recording hooks


def _tuner_class(ak, spec: AutoMLSpec, automodel: str, recorder: TrialRecorder):
    """The tuner class AutoKeras should build, with hooks that record trials and cancel."""
    import keras_tuner
    from autokeras.auto_model import TUNER_CLASSES
    from autokeras.tuners import greedy, task_specific

    base: Any  # an AutoKeras tuner class (AutoKeras ships no types)
    if spec.tuner == "greedy":  # AutoKeras' own default: greedy, seeded with proven configs
        base = {
            "StructuredDataClassifier": task_specific.StructuredDataClassifierTuner,
            "StructuredDataRegressor": task_specific.StructuredDataRegressorTuner,
            "ImageClassifier": task_specific.ImageClassifierTuner,
            "TextClassifier": task_specific.TextClassifierTuner,
        }.get(automodel, greedy.Greedy)
    else:
        base = TUNER_CLASSES[spec.tuner]

    class Canceled(SearchCanceled, keras_tuner.errors.FatalError):
        pass

    def check_cancel():
        if recorder.reporter.should_stop():
            raise Canceled("canceled by the user")

    class Recording(base):
        def on_trial_begin(self, trial):
            super().on_trial_begin(trial)
            recorder.begin(self, trial)
            check_cancel()

        def on_epoch_end(self, trial, model, epoch, logs=None):
            super().on_epoch_end(trial, model, epoch, logs)
            recorder.epoch(trial, epoch, logs)
            check_cancel()  # between epochs: the trial in flight is repeated on resume

        def on_trial_end(self, trial):
            try:
                super().on_trial_end(trial)
            finally:
                recorder.end(self, trial)

    Recording.__name__ = f"Recording{base.__name__}"
    return Recording


def _automodel(ak, spec: AutoMLSpec, split: AutoMLSplit, run_dir: Path, recorder):
    plan = split.plan
    cls = getattr(ak, plan.automodel)
    kwargs: dict[str, Any] = {
        "directory": str(run_dir / SEARCH_DIR),
        "project_name": PROJECT,
        "overwrite": False,  # a resumed run reloads the oracle and continues
        "max_trials": spec.max_trials,
        "seed": spec.seed,
        "tuner": _tuner_class(ak, spec, plan.automodel, recorder),
    }
    if spec.tuner == "hyperband":
        kwargs["max_epochs"] = spec.epochs  # Hyperband decides each trial's epochs up to this
    if plan.input_kind == "table":
        features = split.contract.features
        kwargs["column_names"] = [f.input for f in features]
        kwargs["column_types"] = {
            f.input: "numerical" if f.dtype == "float32" else "categorical" for f in features
        }
    return cls(**kwargs)


def _objective(tuner) -> dict[str, str]:
    objective = tuner.oracle.objective
    return {"name": objective.name, "direction": objective.direction}


# ---------------------------------------------------------------------------------------------
# The job


def run_automl_job(spec: AutoMLSpec, reporter: Reporter, run_dir: Path) -> dict[str, Any]:
    removed = scrub_distributed_env()
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    if removed:
        reporter.event(
            f"ignored {', '.join(removed)}: AutoKeras runs as one process, never in "
            "KerasTuner's distributed mode",
            "warning",
        )
    reporter.progress("loading data", 0, 1, f"reading {spec.data}")
    loaded = load_data(spec.data, bounded=True)
    for note in loaded.notes:
        reporter.event(note, "warning")
    split = prepare_split(spec, loaded)
    plan = split.plan
    for w in plan.warnings:
        reporter.event(w, "warning")
    reporter.event(
        f"AutoKeras {plan.automodel} ({plan.task}, {plan.input_kind} input) on {loaded.label}: "
        + ", ".join(f"{k} {v}" for k, v in plan.split_sizes.items())
        + " examples"
    )
    arrays = Arrays(split, spec, reporter)
    raise_if_canceled(reporter)

    reporter.progress("searching", 0, spec.max_trials, "importing AutoKeras")
    import keras

    from core.tuning.autokeras_compat import import_autokeras

    ak = import_autokeras()

    keras.utils.set_random_seed(spec.seed)
    resumed = (run_dir / SEARCH_DIR / PROJECT / "oracle.json").exists()
    search = {
        "engine": "autokeras",
        "tuner": spec.tuner,
        "objective": {"name": "", "direction": "min"},
        "max_trials": spec.max_trials,
        "executions_per_trial": 1,
        "space": [],
        "model": plan.automodel,
        "task": plan.task,
        "input_kind": plan.input_kind,
        "data": loaded.label,
        "target": split.contract.target,
        "epochs": spec.epochs,
        "best_trial_id": None,
        "disk_bytes": 0,
        "keep_best": spec.max_trials,  # AutoKeras keeps every trial's checkpoint
        "workers": 0,
    }
    recorder = TrialRecorder(run_dir, reporter, spec, search)
    automodel = _automodel(ak, spec, split, run_dir, recorder)
    tuner = automodel.tuner
    search["objective"] = recorder.objective = _objective(tuner)
    if resumed:
        repeated = recorder.reconcile(tuner)
        kept = sum(1 for t in records.read_trials(run_dir) if t["status"] == TrialStatus.COMPLETED)
        reporter.event(
            f"resuming the search: {kept} finished trial(s) kept"
            + (f", trial {', '.join(repeated)} repeated" if repeated else "")
        )
    recorder.write_search(tuner)

    freeze_heap()  # AutoKeras' trials collect garbage twice each: skip what is alive now
    started = time.time()
    try:
        automodel.fit(
            arrays.x["train"],
            arrays.y["train"],
            validation_data=(arrays.x["validation"], arrays.y["validation"]),
            epochs=spec.epochs,
            batch_size=spec.batch_size,
            callbacks=[
                keras.callbacks.EarlyStopping(
                    monitor="val_loss", patience=EARLY_STOPPING_PATIENCE, min_delta=1e-4
                )
            ],
            verbose=2,
        )
    except SearchCanceled:
        recorder.stop_running()
        recorder.write_search(tuner)
        raise JobCanceled("canceled by the user") from None
    except RuntimeError as exc:
        if "consecutive failures" in str(exc):
            raise BadInput(
                f"the search stopped: {tuner.oracle.max_consecutive_failed_trials} trials in a "
                f"row failed; the last error: {last_line(str(exc))}"
            ) from None
        raise
    except IndexError:  # no trial finished, so AutoKeras has no best model to load
        if any(t["status"] == TrialStatus.COMPLETED for t in records.read_trials(run_dir)):
            raise
    search_s = time.time() - started
    trials = records.read_trials(run_dir)
    completed = [
        t for t in trials if t["status"] == TrialStatus.COMPLETED and t["score"] is not None
    ]
    if not completed:
        errors = {t["error"] for t in trials if t.get("error")}
        raise BadInput(
            "no trial finished, so there is no model"
            + (f"; the trials failed with: {'; '.join(sorted(errors))[:1000]}" if errors else "")
        )
    recorder.write_search(tuner)
    return _finish(spec, reporter, run_dir, split, arrays, automodel, recorder, search_s, loaded)


def _finish(spec, reporter, run_dir, split, arrays, automodel, recorder, search_s, loaded):
    from core.training.evaluation import evaluate
    from core.training.families.common import save_test_inputs

    plan, contract = split.plan, split.contract
    reporter.progress("saving", 0, 3, "exporting the best model")
    network = automodel.export_model()
    pipeline = automodel.tuner.get_best_pipeline()
    preprocess, details = build_preprocessing(split, pipeline, spec)
    # Who made it: loaders pass autokeras.CUSTOM_OBJECTS for these models.
    contract.details.update(details, engine="autokeras", automodel=plan.automodel)
    mapping = None
    if contract.classes:
        labels = list(pipeline.outputs[0][-1].labels)
        outputs = int(network.outputs[0].shape[-1])
        mapping = class_mapping(labels, len(contract.classes), outputs)
    end_to_end = end_to_end_model(preprocess, network, mapping)

    reporter.progress("evaluating", 1, 3, "evaluating on the held-out test split")
    predictions = predict(end_to_end, arrays.raw_test)
    prepared = EvalTarget(contract, arrays.test_ids)
    evaluation = evaluate(prepared, predictions)
    evaluation["engine"] = "autokeras"
    (run_dir / "evaluation.json").write_text(json.dumps(evaluation, indent=2))

    # The check that matters: raw input through the saved model gives AutoKeras' own answers.
    sample = head_rows(arrays.raw_test, SAMPLE_ROWS)
    n = len(next(iter(sample.values())) if isinstance(sample, dict) else sample)
    own = np.asarray(automodel.predict(arrays.x["test"][:n], verbose=0))
    mine = predictions[:n]
    if contract.classes:
        ak_ids = np.array([int(float(v)) for v in own.reshape(-1)])
        agreement = float(np.mean(mine.argmax(-1) == ak_ids))
        reference = reference_probabilities(network, pipeline, arrays.x["test"][:n], mapping)
        parity = {
            "rows": n,
            "agreement": agreement,
            "max_abs_diff": float(np.max(np.abs(reference - mine))),
        }
    else:
        reference = own.reshape(mine.shape).astype("float32")
        parity = {"rows": n, "max_abs_diff": float(np.max(np.abs(reference - mine)))}
    # ... and the rebuilt preprocessing gives exactly what AutoKeras' numpy pipeline gives.
    encoded = np.asarray(predict(preprocess, sample), dtype="float64")
    expected = np.asarray(pipeline.transform_x(arrays.x["test"][:n]), dtype="float64")
    parity["encoded_max_abs_diff"] = float(np.max(np.abs(encoded - expected)))
    if (
        parity["max_abs_diff"] > 1e-4
        or parity.get("agreement", 1.0) < 1.0
        or parity["encoded_max_abs_diff"] > 1e-5
    ):
        raise RuntimeError(
            f"the saved model does not reproduce AutoKeras' predictions on raw input ({parity})"
        )

    reporter.progress("saving", 2, 3, "saving Keras models")
    contract.save(run_dir / "features.json")
    save_test_inputs(run_dir / "test_inputs.npz", sample)
    np.savez(run_dir / "test_predictions.npz", model=mine, autokeras=reference)
    if plan.input_kind == "table":
        split.parts["test"].head(SAMPLE_ROWS).to_csv(run_dir / "test_sample.csv", index=False)
    for name, model in (
        ("model.keras", end_to_end),
        ("preprocessing.keras", preprocess),
        ("network.keras", network),
    ):
        model.save(run_dir / name)
    lines: list[str] = []
    network.summary(print_fn=lambda line, *args, **kwargs: lines.append(line))
    (run_dir / "model_summary.txt").write_text("\n".join(lines))

    trials = records.read_trials(run_dir)
    best = records.best_trial(trials, recorder.objective["direction"])
    (run_dir / "history.json").write_text(json.dumps(best["history"]))
    for name in (
        "model.keras",
        "preprocessing.keras",
        "network.keras",
        "features.json",
        "test_inputs.npz",
        "test_predictions.npz",
        "evaluation.json",
        "history.json",
        "model_summary.txt",
        *(("test_sample.csv",) if plan.input_kind == "table" else ()),
    ):
        reporter.artifact(name, run_dir / name)
    recorder.write_search(automodel.tuner)
    reporter.progress("done", 3, 3, "finished")
    return {
        "engine": "autokeras",
        "automodel": plan.automodel,
        "task": plan.task,
        "input_kind": plan.input_kind,
        "tuner": spec.tuner,
        "target": contract.target,
        "data": loaded.lineage,
        "rows": plan.split_sizes,
        "classes": contract.classes,
        "objective": recorder.objective,
        "best": {
            "trial_id": best["trial_id"],
            "score": best["score"],
            "hyperparameters": best["hyperparameters"],
        },
        "trials": [records.summary(t) for t in trials],
        "completed": sum(1 for t in trials if t["status"] == TrialStatus.COMPLETED),
        "failed": sum(
            1 for t in trials if t["status"] in (TrialStatus.FAILED, TrialStatus.INVALID)
        ),
        "metrics": {recorder.objective["name"]: best["score"]},
        "test_metrics": evaluation["metrics"],
        "raw_input_parity": parity,
        "search_s": round(search_s, 2),
        "parameters": int(network.count_params()),
        "model_bytes": int((run_dir / "model.keras").stat().st_size),
        "disk_bytes": records.disk_usage(run_dir),
        "warnings": plan.warnings,
    }
