"""The AutoML job: an AutoKeras search (table, image or text; classification or regression).

`run_automl_job(spec, reporter, run_dir)` is the only entry point. The data is split as training
splits it (`core.tuning.automl_plan`), AutoKeras searches in `run_dir/search` and its tuner writes
one record per trial in the `core.tuning.trials` format while the search runs.

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
import math
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from core.data.resolve import load_data
from core.errors import BadInput, JobCanceled
from core.runs.reporter import Reporter, raise_if_canceled
from core.specs import AutoMLSpec
from core.training.features import raw_arrays
from core.tuning import trials as records
from core.tuning.automl_plan import AutoMLSplit, prepare_split
from core.tuning.trials import TrialStatus
from core.util import KERASTUNER_ENV

# KerasTuner's distributed mode switches on when these are set; AutoKeras must never join it.
DISTRIBUTED_ENV = KERASTUNER_ENV
SEARCH_DIR = "search"
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
# Data: the split rows as the numpy arrays AutoKeras takes


class Arrays:
    """AutoKeras inputs and targets per split, plus the raw test inputs the saved model takes."""

    def __init__(self, split: AutoMLSplit, spec: AutoMLSpec, reporter: Reporter):
        self.split = split
        contract, parts, kind = split.contract, split.parts, split.plan.input_kind
        self.classes = list(contract.classes)
        if kind == "table":
            self.x = {k: _table_x(raw_arrays(v, contract.features)) for k, v in parts.items()}
            self.raw_test = raw_arrays(parts["test"], contract.features)
        elif kind == "text":
            col = split.column
            self.x = {k: v[col].to_numpy(dtype=object).astype(str) for k, v in parts.items()}
            self.raw_test = self.x["test"].reshape(-1, 1)
        else:
            reporter.progress("loading data", 0, 1, "decoding and resizing the images")
            size = (int(spec.image_size), int(spec.image_size))
            self.x = {k: _decode_images(v[split.column], size) for k, v in parts.items()}
            self.raw_test = self.x["test"]
        target = contract.target
        if self.classes:
            from core.data.tabular import class_labels

            index = {c: str(i) for i, c in enumerate(self.classes)}
            # Class ids (contract order) go in as strings, so AutoKeras label-encodes them (two
            # integer classes 0/1 would count as already encoded); the saved model maps its
            # label order back to the contract's.
            self.y = {
                k: class_labels(v[target].astype(str) if kind == "image" else v[target])
                .map(index)
                .to_numpy(dtype=object)
                .astype(str)
                for k, v in parts.items()
            }
            self.test_ids = self.y["test"].astype("int64")
        else:
            self.y = {k: v[target].to_numpy("float32") for k, v in parts.items()}
            self.test_ids = self.y["test"]


def _table_x(arrays: dict[str, np.ndarray]) -> np.ndarray:
    """Columns side by side as one object array: numbers as floats (NaN for missing, which
    AutoKeras sets to 0), categories as strings (integer codes as their decimal strings)."""
    columns = []
    for values in arrays.values():
        flat = values.reshape(-1)
        if flat.dtype.kind == "f":
            columns.append(flat.astype(object))
        elif flat.dtype.kind in "iu":
            columns.append(np.array([str(int(v)) for v in flat], dtype=object))
        else:
            columns.append(flat.astype(str).astype(object))
    return np.stack(columns, axis=1)


def _decode_images(files, size: tuple[int, int]) -> np.ndarray:
    import tensorflow as tf

    from core.data.pipelines import decode_image

    images = [decode_image(tf.constant(str(f)), size).numpy() for f in files]
    return np.stack(images).astype("float32")


# ---------------------------------------------------------------------------------------------
# Trial records, written by the tuner while the search runs


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
        self.current: dict[str, Any] | None = None
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
        number = _number(tuner, trial.trial_id)
        self.current = records.started_record(
            trial.trial_id, number, _plain(trial.hyperparameters.values), self.objective
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
        values = {k: float(v) for k, v in (logs or {}).items() if np.isscalar(v)}
        for name, value in values.items():
            rec["history"].setdefault(name, []).append(value)
        rec["epochs"] += 1
        rec["score"] = _best(rec["history"].get(self.objective["name"], []), self.objective)
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
        status = _status(trial)
        rec.update(
            status=status,
            hyperparameters=_plain(trial.hyperparameters.values),
            ended_at=records.now(),
            error=_last_line(trial.message)
            if status in (TrialStatus.FAILED, TrialStatus.INVALID)
            else None,
            checkpoint_kept=os.path.exists(tuner._get_checkpoint_fname(trial.trial_id)),
        )
        rec["started_at"] = rec["started_at"] or rec["ended_at"]
        rec["duration_s"] = round(rec["ended_at"] - rec["started_at"], 3)
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
        if self.current is not None:
            self.current.update(status=TrialStatus.STOPPED, ended_at=records.now())
            self.current["duration_s"] = round(
                self.current["ended_at"] - self.current["started_at"], 3
            )
            records.write_trial(self.run_dir, self.current)
            self.current = None

    # -- after a restart
    def from_oracle(self, tuner, trial) -> dict[str, Any]:
        """A record rebuilt from KerasTuner's own trial state (history from its metrics)."""
        history = {}
        for name, metric in trial.metrics.metrics.items():
            history[name] = [float(o.mean()) for o in metric.get_history()]
        epochs = max((len(v) for v in history.values()), default=0)
        return {
            "trial_id": str(trial.trial_id),
            "number": _number(tuner, trial.trial_id),
            "status": _status(trial),
            "hyperparameters": _plain(trial.hyperparameters.values),
            "score": float(trial.score) if trial.score is not None else None,
            "objective": dict(self.objective),
            "started_at": None,
            "ended_at": None,
            "duration_s": None,
            "epochs": epochs,
            "history": history,
            "error": _last_line(trial.message),
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
            if trial is not None and _status(trial) in (TrialStatus.COMPLETED, TrialStatus.FAILED):
                fixed = self.from_oracle(tuner, trial)
                saved = Path(tuner.get_trial_dir(trial.trial_id)) / "trial.json"
                ended = saved.stat().st_mtime if saved.exists() else records.now()
                started = rec.get("started_at") or ended
                fixed.update(started_at=started, ended_at=ended, duration_s=ended - started)
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


def _number(tuner, trial_id: str) -> int:
    order = list(getattr(tuner.oracle, "start_order", []))
    return order.index(trial_id) if trial_id in order else len(order)


def _status(trial) -> str:
    status = getattr(trial.status, "value", trial.status)
    status = str(status).upper()
    return status if status in records.STATUSES else TrialStatus.RUNNING


def _best(values: list[float], objective: dict) -> float | None:
    finite = [v for v in values if v is not None and math.isfinite(v)]
    if not finite:
        return None
    return max(finite) if objective["direction"] == "max" else min(finite)


def _last_line(message: str | None) -> str | None:
    if not message:
        return None
    lines = [line.strip() for line in str(message).strip().splitlines() if line.strip()]
    return lines[-1][:2000] if lines else None


def _plain(value: Any) -> Any:
    """Numpy scalars in hyperparameter values -> JSON numbers."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def space_of(hps) -> list[dict[str, Any]]:
    """KerasTuner hyperparameters as TuneSpec.space-style dicts (for the Tune page)."""
    out = []
    for hp in hps.space:
        kind = type(hp).__name__.lower()
        item: dict[str, Any] = {"name": hp.name, "default": _plain(hp.default)}
        if kind == "boolean":
            item["kind"] = "bool"
        elif kind == "choice":
            item.update(kind="choice", choices=_plain(list(hp.values)))
        elif kind == "fixed":
            item.update(kind="fixed", value=_plain(hp.value))
        elif kind in ("int", "float"):
            item.update(
                kind=kind,
                low=_plain(hp.min_value),
                high=_plain(hp.max_value),
                step=_plain(hp.step),
                log=getattr(hp, "sampling", "linear") == "log",
            )
        else:
            item["kind"] = kind
        conditions = getattr(hp, "conditions", None) or []
        if conditions:
            cond = conditions[0]
            item["parent"] = {"name": cond.name, "values": _plain(list(cond.values))}
        out.append(item)
    return out


# ---------------------------------------------------------------------------------------------
# AutoKeras: the task class, the tuner with recording hooks


def _tuner_class(ak, spec: AutoMLSpec, automodel: str, recorder: TrialRecorder):
    """The tuner class AutoKeras should build, with hooks that record trials and cancel."""
    import keras_tuner
    from autokeras.auto_model import TUNER_CLASSES
    from autokeras.tuners import greedy, task_specific

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
# The saved model: AutoKeras' numpy preprocessing rebuilt as Keras layers


def build_preprocessing(split: AutoMLSplit, pipeline, spec: AutoMLSpec):
    """Raw inputs -> what AutoKeras' network takes, from the fitted AutoKeras pipeline."""
    import keras

    kind = split.plan.input_kind
    steps = pipeline.inputs[0]
    if kind == "table":
        encoder = next(s for s in steps if type(s).__name__ == "CategoricalToNumerical")
        return _table_preprocessing(split.contract.features, encoder), {}
    if kind == "text":
        tokenizer = next(s for s in steps if type(s).__name__ == "TextTokenizer")
        return _text_preprocessing(tokenizer), {
            "sequence_length": int(tokenizer.max_len),
            "vocabulary": len(tokenizer.vocab or {}),
            "tokenizer": "whitespace split, AutoKeras TextTokenizer vocabulary",
        }
    size = int(spec.image_size)
    inputs = keras.Input(shape=(None, None, 3), name="image")
    x = keras.layers.Resizing(size, size, name="resize")(inputs)
    return keras.Model(inputs, x, name="preprocessing"), {"image_size": size}


def _table_preprocessing(features, encoder):
    """Per column: numbers with missing -> 0; categories -> AutoKeras' label codes (the order of
    its fitted labels; an unseen value -> len(labels), as AutoKeras' LabelEncoder does)."""
    import keras

    inputs, columns = {}, []
    for f, label_encoder in zip(features, encoder.encoders, strict=True):
        dtype = {"float32": "float32", "int64": "int64"}.get(f.dtype, "string")
        x = inputs[f.input] = keras.Input(shape=(1,), dtype=dtype, name=f.input)
        if label_encoder is None:
            x = keras.ops.where(keras.ops.isnan(x), keras.ops.zeros_like(x), x)
        else:
            labels = list(label_encoder.labels)
            n = len(labels)
            if dtype == "int64":
                vocab = np.array([int(v) for v in labels], dtype="int64")
                lookup = keras.layers.IntegerLookup(
                    vocabulary=vocab,
                    num_oov_indices=1,
                    oov_token=int(vocab.min()) - 1,
                    name=f"lookup_{f.input}",
                )
            else:
                lookup = keras.layers.StringLookup(
                    vocabulary=labels, num_oov_indices=1, name=f"lookup_{f.input}"
                )
            # Keras puts the unknown value first (0) and label i at i + 1; AutoKeras uses i and n.
            index = lookup(x)
            x = keras.ops.cast(keras.ops.mod(index + n, n + 1), "float32")
        columns.append(x)
    out = keras.layers.Concatenate(name="encoded")(columns) if len(columns) > 1 else columns[0]
    return keras.Model(inputs, out, name="preprocessing")


def _text_preprocessing(tokenizer):
    """AutoKeras' TextTokenizer as TextVectorization: whitespace split, first `max_len` tokens,
    zero padding; its ids are 1.. in vocabulary order with 0 for unknown words."""
    import keras

    vocab = sorted((tokenizer.vocab or {}).items(), key=lambda kv: kv[1])
    words = [w for w, _ in vocab]
    inputs = keras.Input(shape=(1,), dtype="string", name="text")
    vectorize = keras.layers.TextVectorization(
        standardize=None,
        split="whitespace",
        output_mode="int",
        output_sequence_length=int(tokenizer.max_len),
        vocabulary=words or None,
        name="vectorize",
    )
    # TextVectorization: 0 padding, 1 unknown, words from 2; AutoKeras: 0 both, words from 1.
    ids = keras.ops.maximum(vectorize(inputs) - 1, 0)
    return keras.Model(inputs, keras.ops.cast(ids, "int32"), name="preprocessing")


def class_mapping(labels: list[str], n_classes: int, outputs: int):
    """(W, b) taking AutoKeras' output (its own label order; one sigmoid unit for two classes)
    to probabilities over the contract's classes (ids 0..n-1); None when already in order."""
    order = [int(float(label)) for label in labels]
    if outputs == n_classes and order == list(range(n_classes)):
        return None
    w = np.zeros((outputs, n_classes), dtype="float32")
    b = np.zeros(n_classes, dtype="float32")
    if outputs == 1:  # binary: p is the probability of labels[1]
        w[0, order[0]], b[order[0]] = -1.0, 1.0
        if len(order) > 1:
            w[0, order[1]] = 1.0
    else:
        for j, cls in enumerate(order):
            w[j, cls] = 1.0
    return w, b


def end_to_end_model(preprocess, network, mapping):
    import keras

    inputs = preprocess.input
    out = network(preprocess(inputs))
    if isinstance(out, list | tuple):  # AutoKeras' network lists its one output
        out = out[0]
    if mapping is not None:
        w, b = mapping
        to_classes = keras.layers.Dense(w.shape[1], trainable=False, name="to_class_order")
        out = to_classes(out)
        to_classes.set_weights([w, b])
    return keras.Model(inputs, out, name="end_to_end")


def _predict(model, inputs) -> np.ndarray:
    from core.training.build import to_tensors

    return np.asarray(model.predict(to_tensors(inputs), verbose=0))


def _head(inputs, n: int):
    if isinstance(inputs, dict):
        return {k: v[:n] for k, v in inputs.items()}
    return inputs[:n]


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
    loaded = load_data(spec.data)
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
    import autokeras as ak
    import keras

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
                f"row failed; the last error: {_last_line(str(exc))}"
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
    predictions = _predict(end_to_end, arrays.raw_test)
    prepared = _Evaluated(contract, arrays.test_ids)
    evaluation = evaluate(prepared, predictions)
    evaluation["engine"] = "autokeras"
    (run_dir / "evaluation.json").write_text(json.dumps(evaluation, indent=2))

    # The check that matters: raw input through the saved model gives AutoKeras' own answers.
    sample = _head(arrays.raw_test, SAMPLE_ROWS)
    n = len(next(iter(sample.values())) if isinstance(sample, dict) else sample)
    own = np.asarray(automodel.predict(arrays.x["test"][:n], verbose=0))
    mine = predictions[:n]
    if contract.classes:
        ak_ids = np.array([int(float(v)) for v in own.reshape(-1)])
        agreement = float(np.mean(mine.argmax(-1) == ak_ids))
        reference = _reference_probabilities(network, pipeline, arrays.x["test"][:n], mapping)
        parity = {
            "rows": n,
            "agreement": agreement,
            "max_abs_diff": float(np.max(np.abs(reference - mine))),
        }
    else:
        reference = own.reshape(mine.shape).astype("float32")
        parity = {"rows": n, "max_abs_diff": float(np.max(np.abs(reference - mine)))}
    # ... and the rebuilt preprocessing gives exactly what AutoKeras' numpy pipeline gives.
    encoded = np.asarray(_predict(preprocess, sample), dtype="float64")
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


def _reference_probabilities(network, pipeline, x, mapping) -> np.ndarray:
    """AutoKeras' path (its numpy pipeline, then its network) in the contract's class order."""
    out = np.asarray(network.predict(pipeline.transform_x(x), verbose=0), dtype="float32")
    if mapping is None:
        return out
    w, b = mapping
    return out @ w + b


class _Evaluated:
    """What `core.training.evaluation.evaluate` reads."""

    def __init__(self, contract, test_y):
        from core.training.families.common import CLASSIFICATION_TASKS

        self.contract = contract
        self.task = contract.task
        self.test_y = test_y
        self.is_classification = contract.task in CLASSIFICATION_TASKS
