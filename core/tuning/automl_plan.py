"""Check an AutoML spec against its data and split it (pandas only, no TensorFlow).

The Tune page and the CLI call `check_automl_spec`, so an unknown task, a missing target column or
max_trials < 1 is refused with a message before any worker starts; the job calls `prepare_split`
on the same data, so both see the same input kind, task and split.

Which AutoKeras task runs follows from the data and the task:

    input kind  (image dataset -> image, text dataset or a text column -> text, else table)
    task        (classification | regression | auto: from the target column, as training does)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from core.data.resolve import LoadedData, load_data
from core.data.tabular import class_labels, infer_task, prepare_table
from core.errors import BadInput
from core.specs import AUTOML_TUNERS, AutoMLSpec
from core.training.features import FeatureSpec, ModelContract, safe_input_names
from core.workspace import Workspace

AUTOML_TASKS = ("auto", "classification", "regression")
# (input kind, task) -> the AutoKeras class that searches it, and the task name a training
# run's features.json uses for the same kind of model.
AUTOMODELS = {
    ("table", "classification"): ("StructuredDataClassifier", "classification"),
    ("table", "regression"): ("StructuredDataRegressor", "regression"),
    ("image", "classification"): ("ImageClassifier", "image-classification"),
    ("image", "regression"): ("ImageRegressor", "regression"),
    ("text", "classification"): ("TextClassifier", "text-classification"),
    ("text", "regression"): ("TextRegressor", "regression"),
}
AUTOKERAS_CLASS = {key: automodel for key, (automodel, _) in AUTOMODELS.items()}
CONTRACT_TASK = {key: task for key, (_, task) in AUTOMODELS.items()}
MAX_IMAGE_BYTES = 2 * 1024**3  # decoded images are held in memory: AutoKeras takes numpy arrays


@dataclass
class AutoMLPlan:
    input_kind: str  # table | image | text
    task: str  # classification | regression
    automodel: str  # AutoKeras class, e.g. StructuredDataClassifier
    data_label: str
    warnings: list[str] = field(default_factory=list)
    split_sizes: dict[str, int] = field(default_factory=dict)


@dataclass
class AutoMLSplit:
    """A checked spec's data: the plan, the raw-input contract and the split rows."""

    plan: AutoMLPlan
    contract: ModelContract
    parts: dict[str, pd.DataFrame]  # train / validation / test
    column: str = ""  # text: the text column; image: the file column
    schema_columns: list[dict[str, Any]] = field(default_factory=list)


def check_options(spec: AutoMLSpec) -> None:
    """The spec's own fields, before any data is read."""
    if spec.task not in AUTOML_TASKS:
        raise BadInput(
            f"unknown task {spec.task!r}; AutoML tasks are: {', '.join(AUTOML_TASKS)} "
            "(the input kind, table, image or text, comes from the data)"
        )
    if spec.tuner not in AUTOML_TUNERS:
        raise BadInput(f"unknown tuner {spec.tuner!r}; choose {', '.join(AUTOML_TUNERS)}")
    if spec.max_trials < 1:
        raise BadInput(f"max trials must be at least 1, got {spec.max_trials}")
    if spec.epochs < 1:
        raise BadInput(f"epochs must be at least 1, got {spec.epochs}")
    if spec.batch_size < 1:
        raise BadInput(f"batch size must be at least 1, got {spec.batch_size}")
    if spec.image_size < 8:
        raise BadInput(f"image size must be at least 8 pixels, got {spec.image_size}")


def input_kind(spec: AutoMLSpec, loaded: LoadedData) -> str:
    kind = loaded.dataset.kind if loaded.dataset else "table"
    if kind == "images":
        return "image"
    if kind == "timeseries" and not spec.text_column:
        raise BadInput(
            "AutoKeras has no time-series task (it was removed in AutoKeras 2.0): train a "
            "forecasting model on the Train page, or search one with KerasTuner"
        )
    if kind == "text" or spec.text_column:
        return "text"
    return "table"


def _require_target(frame: pd.DataFrame, target: str) -> None:
    if not target:
        raise BadInput(f"choose a target column; columns are: {', '.join(map(str, frame.columns))}")
    if target not in frame.columns:
        raise BadInput(
            f"there is no column {target!r}; columns are: {', '.join(map(str, frame.columns))}"
        )


def _task_for(spec: AutoMLSpec, y: pd.Series) -> str:
    return infer_task(y) if spec.task == "auto" else spec.task


def _check_classes(labels: pd.Series, target: str) -> list[str]:
    classes = sorted(labels.unique())
    if len(classes) < 2:
        raise BadInput(f"the target {target!r} has a single class: a classifier needs two")
    return classes


def _check_regression_target(y: pd.Series, target: str) -> pd.Series:
    values = pd.to_numeric(y, errors="coerce")
    if values.isna().any():
        raise BadInput(
            f"the target {target!r} is not numeric, so it cannot be regressed: choose the "
            "classification task"
        )
    if values.nunique() < 2:
        raise BadInput(f"the target {target!r} is constant: nothing to learn")
    return values


def _split(spec: AutoMLSpec, frame: pd.DataFrame, labels: pd.Series | None):
    """The split a training run with the same fractions and seed makes (stratified by class)."""
    from core.training.split import split_rows  # scikit-learn: only once the options are good

    return split_rows(frame, spec.validation_fraction, spec.test_fraction, spec.seed, labels)


def prepare_split(spec: AutoMLSpec, loaded: LoadedData) -> AutoMLSplit:
    """Input kind, task, contract and split rows; BadInput says what is wrong and what to do."""
    check_options(spec)
    kind = input_kind(spec, loaded)
    if kind == "image":
        split = _image_split(spec, loaded)
    elif kind == "text":
        split = _text_split(spec, loaded)
    else:
        split = _table_split(spec, loaded)
    split.plan.split_sizes = {k: len(v) for k, v in split.parts.items()}
    return split


def _table_split(spec: AutoMLSpec, loaded: LoadedData) -> AutoMLSplit:
    _require_target(loaded.frame, spec.target)
    types = {c["name"]: c["type"] for c in loaded.schema["columns"]} if loaded.schema else None
    info = prepare_table(loaded.frame, spec.target, spec.task, types=types)
    labels = class_labels(info.frame[info.target]) if info.task == "classification" else None
    names = safe_input_names(info.features)
    # AutoKeras label-encodes every categorical column itself, so hashed (many-valued) strings
    # go in as plain strings; integer codes stay integers, looked up as categories.
    features = [FeatureSpec(c, names[c], "float32") for c in info.numeric]
    features += [FeatureSpec(c, names[c], "string") for c in info.categorical + info.hashed]
    features += [FeatureSpec(c, names[c], "int64") for c in info.integer_categories]
    contract = ModelContract(
        CONTRACT_TASK[("table", info.task)], info.target, features, info.classes, "table"
    )
    plan = AutoMLPlan(
        "table", info.task, AUTOKERAS_CLASS[("table", info.task)], loaded.label, info.warnings
    )
    return AutoMLSplit(plan, contract, _split(spec, info.frame, labels))


def _text_split(spec: AutoMLSpec, loaded: LoadedData) -> AutoMLSplit:
    from core.training.families.text import text_column

    column = text_column(spec, loaded)
    _require_target(loaded.frame, spec.target)
    if column == spec.target:
        raise BadInput(f"the text column and the target are both {column!r}: choose two columns")
    frame = loaded.frame[[column, spec.target]].dropna(subset=[spec.target])
    if len(frame) < 10:
        raise BadInput(f"the table has {len(frame)} rows with a target; at least 10 are needed")
    frame = frame.assign(**{column: frame[column].fillna("").astype(str)}).reset_index(drop=True)
    task = _task_for(spec, frame[spec.target])
    classes: list[str] = []
    labels = None
    if task == "classification":
        labels = class_labels(frame[spec.target])
        classes = _check_classes(labels, spec.target)
    else:
        frame[spec.target] = _check_regression_target(frame[spec.target], spec.target)
    contract = ModelContract(
        CONTRACT_TASK[("text", task)],
        spec.target,
        [FeatureSpec(column, "text", "string")],
        classes,
        "text",
    )
    plan = AutoMLPlan("text", task, AUTOKERAS_CLASS[("text", task)], loaded.label)
    return AutoMLSplit(plan, contract, _split(spec, frame, labels), column=column)


def _image_split(spec: AutoMLSpec, loaded: LoadedData) -> AutoMLSplit:
    from pathlib import Path

    if spec.target and spec.target != "label":
        raise BadInput(
            f"an image dataset's target is its class folders ('label'), not {spec.target!r}"
        )
    index = loaded.frame.copy()
    assert loaded.dataset is not None  # input_kind found an image dataset
    folder = Path(loaded.dataset.path)
    index["file"] = [str(folder / p) for p in index["path"]]
    labels = index["label"].astype(str)
    task = "classification" if spec.task == "auto" else spec.task
    classes: list[str] = []
    if task == "classification":
        classes = _check_classes(labels, "label")
        stratify = labels
    else:
        index["label"] = _check_regression_target(labels, "label (the folder names)")
        stratify = None
    need = len(index) * spec.image_size**2 * 3 * 4
    if need > MAX_IMAGE_BYTES:
        raise BadInput(
            f"{len(index)} images at {spec.image_size} px need {need / 1024**3:.1f} GB in memory "
            "(AutoKeras takes arrays, not streams): choose a smaller image size"
        )
    contract = ModelContract(
        CONTRACT_TASK[("image", task)],
        "label",
        [FeatureSpec("image", "image", "image")],
        classes,
        "image",
        {"image_size": int(spec.image_size)},
    )
    plan = AutoMLPlan("image", task, AUTOKERAS_CLASS[("image", task)], loaded.label)
    return AutoMLSplit(plan, contract, _split(spec, index, stratify), column="file")


def check_automl_spec(spec: AutoMLSpec, ws: Workspace | None = None) -> AutoMLPlan:
    """Validate a spec against its data before a run is created; returns what will run."""
    check_options(spec)  # before reading any data
    return prepare_split(spec, load_data(spec.data, ws)).plan
