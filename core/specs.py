"""Specs: frozen, JSON-serialisable dataclasses, the only contract between UI, CLI and engine.

A page or the CLI validates user input into a spec; the launcher stores it with the run; the
worker rebuilds it with `spec_from_dict` and hands it to the engine function for its kind.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar

# The base class and the search specs live in their own modules; every name stays importable
# from here, where callers look for it.
from core.spec_base import DATA_DEFAULTS, Spec, field_default  # noqa: F401
from core.spec_search import (  # noqa: F401
    AUTOML_TUNERS,
    TRIAL_EPOCHS,
    TUNERS,
    AutoMLSpec,
    TuneSpec,
)


@dataclass(frozen=True)
class TrainSpec(Spec):
    """A training run on a table.

    Args:
        data: a CSV path, or `sample:NAME` for a bundled sample.
        target: the column to predict.
        model: catalog name of the model; empty means the task's default (`mlp` for tables).
        task: one of TASKS; `auto` infers it from the dataset kind and the target column.
        epochs: passes over the training split.
        batch_size: rows per step.
        learning_rate: Adam's step size; 0 means the model's catalog default.
        hidden_units: widths of the hidden layers; empty means the model's catalog default.
        dropout: dropout rate after each hidden layer (0 turns it off).
        validation_fraction / test_fraction: shares of the rows held out (0..0.5 each).
        seed: seeds the split and the weights, so a run can be repeated.
        coerce_numeric: treat non-numeric values in mostly-numeric columns as missing instead of
            refusing the file.
        split: `auto` (stratified for classes, time-ordered for series, else random), `random`,
            `stratified` or `time`.
        time_column: the series' time column (forecasting; default: the dataset's).
        window / horizon / stride: sliding windows for forecasting (steps).
        features: extra input columns for forecasting (the targets' past is always an input).
        text_column: the free-text column (text classification; default: the dataset's).
        max_tokens / sequence_length: TextVectorization's vocabulary size and output length.
        image_size: images are resized to this many pixels square.
        bucketize: numeric columns turned into quantile bins (Discretization) instead of
            being normalised.
        weights: a local weights file for a `keras-app:` backbone (else the Keras cache, else
            downloaded once); `random` trains it from random initialisation, never by default.
        offline: never download (as TFSTUDIO_OFFLINE=1): pretrained files must be in a cache or
            a local folder, else the run is refused at once with how to bring them.
        fine_tune_layers / fine_tune_epochs: after training the new head on a frozen backbone,
            unfreeze the backbone's top N layers and train this many more epochs at a tenth of
            the learning rate.
        optimizer: `adam`, `adamw`, `sgd` (with momentum 0.9) or `rmsprop`.
        schedule: learning-rate schedule over the run: `constant`, `cosine` or `exponential`.
        class_weights: `balanced` weighs classes inversely to their frequency (imbalanced
            targets); `none` weighs every example alike.
        mixed_precision: float16 compute with float32 weights when a GPU is present (ignored,
            with a note, on a CPU).
        strategy / workers: tf.distribute strategy (`default`, `mirrored`, `multiworker`,
            `parameter_server`) and how many devices or worker processes it spans.
        early_stopping: stop after this many epochs without a better validation loss and keep
            the best weights (0: train every epoch).
        refit: once validation has chosen the number of epochs, train the final model afresh
            on the training and validation rows together for that many epochs, so the test
            split is the only data held out (single-device runs without fine-tuning).
        hyperparameters: the model's hyperparameters by name (as the catalog declares them),
            overriding its defaults; a promoted tuning trial passes its best values here.
        fit_on_validation: train on the training and validation splits together (a promoted
            trial's final fit); the validation curves are then optimistic, the test split is not.
        warm_start: id of a finished training run whose network weights start this one when
            the architecture matches (retraining a production model on new data).
        trust_savedmodel: the user trusts the SavedModel a `hub:` model is built on to run its
            graph; without it such a model is refused, and every later load of it (export,
            compress, serve) stays in Keras safe mode. Only the user's spec sets it.
    """

    kind: ClassVar[str] = "train"
    data: str = DATA_DEFAULTS["data"]
    target: str = ""
    model: str = ""
    task: str = DATA_DEFAULTS["task"]
    epochs: int = 100
    batch_size: int = DATA_DEFAULTS["batch_size"]
    learning_rate: float = 0.0
    hidden_units: tuple[int, ...] = ()
    dropout: float = 0.0
    validation_fraction: float = DATA_DEFAULTS["validation_fraction"]
    test_fraction: float = DATA_DEFAULTS["test_fraction"]
    seed: int = DATA_DEFAULTS["seed"]
    coerce_numeric: bool = False
    split: str = "auto"
    time_column: str = ""
    window: int = 24
    horizon: int = 1
    stride: int = 1
    features: tuple[str, ...] = ()
    text_column: str = ""
    max_tokens: int = 10_000
    sequence_length: int = 64
    image_size: int = DATA_DEFAULTS["image_size"]
    early_stopping: int = 10
    refit: bool = True
    bucketize: tuple[str, ...] = ()
    weights: str = ""
    optimizer: str = "adam"
    schedule: str = "constant"
    class_weights: str = "none"
    mixed_precision: bool = False
    offline: bool = False
    strategy: str = "default"
    workers: int = 2
    fine_tune_layers: int = 0
    fine_tune_epochs: int = 0
    hyperparameters: dict[str, Any] = dataclasses.field(default_factory=dict)
    fit_on_validation: bool = False
    warm_start: str = ""
    trust_savedmodel: bool = False


TASKS = (
    "auto",
    "classification",
    "regression",
    "forecasting",
    "image-classification",
    "text-classification",
)
# The choice lists of TrainSpec's fields: the CLI, the Train page and the engine all read these.
SPLITS = ("auto", "random", "stratified", "time")
OPTIMIZERS = ("adam", "adamw", "sgd", "rmsprop")
SCHEDULES = ("constant", "cosine", "exponential")
CLASS_WEIGHTS = ("none", "balanced")
STRATEGIES = ("default", "mirrored", "multiworker", "parameter_server")


@dataclass(frozen=True)
class ExportSpec(Spec):
    """Export a finished training run's model, each format as a bundle checked by its runtime.

    Args:
        source_run: id of a SUCCEEDED training run.
        format: one of EXPORT_FORMATS (`keras`, `savedmodel`, `tflite`, `tfjs`, `micro`), or
            `all`; used when `formats` is empty.
        formats: several formats in one job (each exported and checked on its own: one that
            fails does not stop the others); empty means `(format,)`.
        quantize: TF.js weight quantization: empty (float32), `uint8` or `float16`.
        serving_name: the model name in the TF Serving layout (`NAME/VERSION/`); empty: from
            the target column.
        variant: export a compressed variant instead: `source_run` is then a SUCCEEDED
            compress run and `variant` one of its report's methods (`int8`, `prune`, ...).
            TFLite-only variants (PTQ, QAT) export `tflite` and `micro`; pruned or clustered
            ones every format (Keras, SavedModel and TF.js from the stripped weights).
        version: the model version in the TF Serving layout (`NAME/VERSION/`), >= 1.
    """

    kind: ClassVar[str] = "export"
    source_run: str = ""
    format: str = "keras"
    formats: tuple[str, ...] = ()
    quantize: str = ""
    serving_name: str = ""
    variant: str = ""
    version: int = 1

    def selected(self) -> tuple[str, ...]:
        chosen = self.formats or (self.format,)
        return EXPORT_FORMATS if "all" in chosen else tuple(dict.fromkeys(chosen))


# keras: .keras + preprocessing; savedmodel: TF Serving layout; tflite: flatbuffer + metadata;
# tfjs: graph model + index.html; micro: the .tflite as a C array for TFLite Micro.
EXPORT_FORMATS = ("keras", "savedmodel", "tflite", "tfjs", "micro")
TFJS_QUANTIZATIONS = ("", "uint8", "float16")

SPEC_TYPES: dict[str, type[Spec]] = {s.kind: s for s in (TrainSpec, ExportSpec)}


def spec_from_dict(kind: str, data: dict[str, Any]) -> Spec:
    try:
        spec_type = SPEC_TYPES[kind]
    except KeyError:
        raise ValueError(f"no spec type for run kind {kind!r}") from None
    return spec_type.from_dict(data)


@dataclass(frozen=True)
class PredictSpec(Spec):
    """One prediction with a finished training run's model (the prediction playground).

    Args:
        source_run: id of a SUCCEEDED training run.
        inputs_json: tables: a JSON object column -> value (missing or empty: a missing value);
            text: `{"text": "..."}`.
        image_path: images: a PNG or JPEG file.
        window_index: sequences: which window of the run's saved test windows to forecast from.
    """

    kind: ClassVar[str] = "predict"
    source_run: str = ""
    inputs_json: str = ""
    image_path: str = ""
    window_index: int = -1


SPEC_TYPES[PredictSpec.kind] = PredictSpec


# What to do with rows of a prediction file that cannot be read (a word in a numeric column, an
# image that does not decode): refuse the whole file, naming them, or skip them and list them.
BAD_ROWS = ("refuse", "skip")
PREDICTION_FORMATS = (".csv", ".parquet", ".jsonl")


@dataclass(frozen=True)
class BatchPredictSpec(Spec):
    """Predictions for a whole file with a finished training run's model (`tfstudio predict`,
    "Predict a file").

    Args:
        source: a SUCCEEDED training run's id, or a registered model (`name@vN` or `name`).
        data: a table file (CSV/TSV/Parquet/JSONL; for text models also .txt, one text per
            line), an image zip or folder, or a series file (forecasters: the horizon after its
            last window).
        out: where the predictions go (.csv, .parquet or .jsonl); empty: a predictions file
            in the batch run's own folder, in `out_format`.
        out_format: the format when `out` is empty (what the page offers to download).
        bad_rows: "refuse" (nothing is written; the rows are named) or "skip" (they are listed
            in the result and left out).
        chunk_rows: rows read, predicted and written at a time (bounded memory).
    """

    kind: ClassVar[str] = "batch_predict"
    source: str = ""
    data: str = ""
    out: str = ""
    out_format: str = PREDICTION_FORMATS[0]
    bad_rows: str = BAD_ROWS[0]
    chunk_rows: int = 65_536


SPEC_TYPES[BatchPredictSpec.kind] = BatchPredictSpec


@dataclass(frozen=True)
class CompressSpec(Spec):
    """Compress a finished training run's model and report size, metric and latency.

    Args:
        source_run: id of a SUCCEEDED training run (table, image, text or forecasting).
        method: one of COMPRESS_METHODS, or several separated by commas (one variant each).
        sparsity: pruning's target share of zero weights, in (0, 1).
        clusters: weight clustering's number of distinct values per layer (>= 2).
        epochs: fine-tuning epochs for pruning, clustering and quantization-aware training.
        int8_io: full-integer int8 with int8 inputs and outputs (else float in, float out).
        schedule: pruning schedule, one of PRUNE_SCHEDULES: `polynomial` (sparsity rises from 0
            to the target over the first 2/3 of fine-tuning) or `constant` (the target from the
            first step).
        centroids: clustering's centroid initialisation, one of CENTROID_INITS.
    """

    kind: ClassVar[str] = "compress"
    source_run: str = ""
    method: str = "dynamic"
    sparsity: float = 0.8
    clusters: int = 16
    epochs: int = 5
    int8_io: bool = False
    schedule: str = "polynomial"
    centroids: str = "kmeans++"


# `prune+int8` / `cluster+int8`: the pruned or clustered model, then full-integer int8 PTQ.
COMPRESS_METHODS = (
    "dynamic",
    "float16",
    "int8",
    "prune",
    "cluster",
    "qat",
    "prune+int8",
    "cluster+int8",
    "pqat",
    "cqat",
)
# `pqat`: pruning, then sparsity-preserving QAT; `cqat`: clustering, then cluster-preserving QAT
# (tfmot's quantization.keras.collab_opts), both converted to int8.
PRUNE_SCHEDULES = ("polynomial", "constant")
CENTROID_INITS = ("kmeans++", "linear", "density", "random")

SPEC_TYPES[CompressSpec.kind] = CompressSpec

SPEC_TYPES[TuneSpec.kind] = TuneSpec
SPEC_TYPES[AutoMLSpec.kind] = AutoMLSpec


@dataclass(frozen=True)
class PipelineSpec(Spec):
    """A retraining pipeline run (core/pipelines): its stages run as child runs and steps.

    Args:
        file: the pipeline YAML file it was started from (for the record).
        text: the YAML itself, kept with the run so a resume runs the same pipeline.
        ingest_file: a file that triggered this run (a watched folder); it replaces the
            ingest stage's own `file`/`folder`.
    """

    kind: ClassVar[str] = "pipeline"
    file: str = ""
    text: str = ""
    ingest_file: str = ""


SPEC_TYPES[PipelineSpec.kind] = PipelineSpec

PROFILE_MODES = ("train", "inference")


@dataclass(frozen=True)
class ProfileSpec(Spec):
    """Capture a TensorFlow Profiler trace of a finished training run's model.

    The job rebuilds the run's input pipeline, loads a copy of its network (the run's files are
    never written) and profiles training steps or inference batches.

    Args:
        source_run: id of a SUCCEEDED training run.
        mode: `train` (fit continues from the run's weights) or `inference` (batches of
            predictions).
        steps: train mode: the steps of an epoch to profile, `A-B` (1-based, within the epoch)
            or `A`; empty: the first 10 steps (fewer when an epoch has fewer).
        batches: inference mode: how many batches to profile.
        batch_size: what-if: rows per step (0: the run's batch size).
        prefetch: what-if: `auto`, `off` or a number of batches prefetched.
        cache: what-if: cache the preprocessed batches in memory after the first epoch.
        parallel_calls: what-if: parallel calls of the preprocessing map, `auto` or a number.
    """

    kind: ClassVar[str] = "profile"
    source_run: str = ""
    mode: str = "train"
    steps: str = ""
    batches: int = 10
    batch_size: int = 0
    prefetch: str = "auto"
    cache: bool = False
    parallel_calls: str = "auto"


SPEC_TYPES[ProfileSpec.kind] = ProfileSpec
