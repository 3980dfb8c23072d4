"""Check a training spec against its data before any worker starts (pandas only, no TensorFlow).

Pages and the CLI call `check_train_spec`, so a wrong target, a model that does not fit the data
or a series too short for its window is refused with a message, and no run is created.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from core.data.resolve import LoadedData, load_data
from core.data.tabular import class_labels, infer_task, prepare_table
from core.errors import BadInput
from core.models.catalog import DEFAULT_MODEL, check_fits
from core.specs import TASKS, TrainSpec
from core.training.split import SPLITS, check_fractions, table_split
from core.workspace import Workspace

INPUT_KIND = {
    "classification": "table",
    "regression": "table",
    "forecasting": "sequence",
    "image-classification": "image",
    "text-classification": "text",
}


@dataclass
class TrainPlan:
    task: str
    model: str
    data_label: str
    warnings: list[str] = field(default_factory=list)
    split_sizes: dict[str, int] = field(default_factory=dict)  # examples per part


def resolve_task(spec: TrainSpec, loaded: LoadedData) -> str:
    """The task asked for, or the one the data implies (dataset kind, then the target column)."""
    if spec.task not in TASKS:
        raise BadInput(f"unknown task {spec.task!r}; tasks are: {', '.join(TASKS)}")
    if spec.task != "auto":
        return spec.task
    kind = loaded.dataset.kind if loaded.dataset else "table"
    if kind == "images":
        return "image-classification"
    if kind == "text":
        return "text-classification"
    if asks_for_series(spec):
        return "forecasting"  # a sequence model, a window or a horizon: the user means a series
    if kind == "timeseries" and not (
        loaded.auto_imported and spec.target in loaded.frame.columns
    ):  # a file given by path with a target keeps the table reading it always had
        return "forecasting"
    if spec.target not in loaded.frame.columns:
        raise BadInput(
            f"there is no column {spec.target!r}; columns are: "
            f"{', '.join(map(str, loaded.frame.columns))}"
        )
    if loaded.stream is not None:  # no rows here: the stored statistics decide
        from core.data.streamed import infer_task_from_stats

        return infer_task_from_stats(loaded.stream.stats["columns"][spec.target])
    return infer_task(loaded.frame[spec.target])


def streaming(spec: TrainSpec, task: str, loaded: LoadedData, ws=None) -> LoadedData:
    """`loaded` as the run will read it: a large table for a table task on one machine stays
    on disk (streamed); anything else gets its rows in memory. The reason a large table is
    read whole after all is added to its notes."""
    if loaded.stream is None:
        return loaded
    from core.data.resolve import with_rows
    from core.data.streamed import not_streamable

    reason = None
    if task not in ("classification", "regression"):
        reason = f"{task} reads its rows into memory"
    elif spec.strategy != "default":
        reason = f"the {spec.strategy} strategy reads its rows into memory"
    else:
        reason = not_streamable(loaded.stream.stats, loaded.schema)
    if reason is None:
        return loaded
    full = with_rows(loaded, ws)
    full.notes.append(
        f"{loaded.label} ({loaded.stream.size / 2**20:.0f} MB) is read into memory, not "
        f"streamed: {reason}"
    )
    return full


def asks_for_series(spec: TrainSpec) -> bool:
    """Whether the spec asks for forecasting without naming it: a sequence model, or a window
    or horizon other than the defaults (a time column alone may be a table's time split)."""
    from core.models.catalog import get_entry

    if spec.model:
        try:
            if get_entry(spec.model).input_kind == "sequence":
                return True
        except (BadInput, KeyError, LookupError):
            pass
    defaults = TrainSpec.__dataclass_fields__
    return any(getattr(spec, f) != defaults[f].default for f in ("window", "horizon"))


def plan(spec: TrainSpec, loaded: LoadedData) -> tuple[str, str]:
    """(task, model) for a spec, refusing a model that does not fit the data."""
    task = resolve_task(spec, loaded)
    model = spec.model or DEFAULT_MODEL[task]
    check_fits(model, task, INPUT_KIND[task])
    return task, model


def check_train_spec(spec: TrainSpec, ws: Workspace | None = None) -> TrainPlan:
    """Validate a spec against its data; returns the plan, with the split sizes to show."""
    if spec.epochs < 1 or spec.batch_size < 1:
        raise BadInput("epochs and batch size must be at least 1")
    loaded = load_data(spec.data, ws, stream_large=True)
    task, model = plan(spec, loaded)
    loaded = streaming(spec, task, loaded, ws)
    _check_hyperparameters(spec, model)
    if spec.warm_start:
        from core.models.io import trained_run_dir
        from core.runs.store import RunStore

        ws = ws or Workspace.resolve()
        trained_run_dir(  # NotFound/BadInput before any run starts
            RunStore(ws.db_path),
            ws,
            spec.warm_start,
            "a warm start takes a training run",
            needs=("network.keras",),
        )
    warnings: list[str] = list(loaded.notes)
    sizes: dict[str, int] = {}
    if task in ("classification", "regression") and loaded.stream is not None:
        from core.data.stats import split_sizes
        from core.data.streamed import plan_table

        streamed = plan_table(loaded.stream.stats, loaded.schema, spec.target, task)
        warnings += streamed.warnings
        if spec.split not in SPLITS:
            raise BadInput(f"unknown split {spec.split!r}; choose one of {', '.join(SPLITS)}")
        check_fractions(spec.validation_fraction, spec.test_fraction)
        sizes = split_sizes(
            streamed.rows, spec.validation_fraction, spec.test_fraction, spec.split == "time"
        )
        warnings.append(
            f"{loaded.label}: {loaded.stream.rows:,} rows checked from its stored statistics; "
            "the run streams them from disk"
        )
    elif task in ("classification", "regression"):
        types = {c["name"]: c["type"] for c in loaded.schema["columns"]} if loaded.schema else None
        info = prepare_table(loaded.frame, spec.target, task, spec.coerce_numeric, types=types)
        warnings += info.warnings
        labels = class_labels(info.frame[info.target]) if task == "classification" else None
        parts = table_split(info.frame, spec, labels, loaded.schema)
        sizes = {k: len(v) for k, v in parts.items()}
    elif task == "forecasting":
        from core.training.families.forecasting import series_frame, window_counts

        frame, window, series_warnings = series_frame(spec, loaded)
        warnings += series_warnings
        sizes = window_counts(len(frame), window, spec)
    elif task == "text-classification":
        from core.models.catalog import is_transfer
        from core.training.families.text import text_column

        if is_transfer(model):  # unknown preset, wrong task, offline without a cache: refused
            from core.models.backbones import describe

            choice = describe(model, spec.weights, 0, spec.offline, task)
            if choice.kind == "hub" and not spec.trust_savedmodel:
                raise BadInput(untrusted_savedmodel(model))
            if "downloaded" in choice.weights:
                warnings.append(f"{model}: {choice.weights} when the run starts")
        text_column(spec, loaded)
        if spec.target not in loaded.frame.columns:
            raise BadInput(f"there is no column {spec.target!r}")
        if loaded.frame[spec.target].nunique() < 2:
            raise BadInput(f"the target {spec.target!r} has a single class")
        sizes = fraction_sizes(len(loaded.frame), spec)
    else:
        from core.models.backbones import describe
        from core.models.catalog import is_transfer
        from core.training.families.images import check_images

        check_images(loaded)
        if is_transfer(model):
            # BadInput for unknown names (close matches), the wrong task, offline downloads
            choice = describe(model, spec.weights, spec.image_size, spec.offline, task)
            if choice.kind == "hub" and not spec.trust_savedmodel:
                raise BadInput(untrusted_savedmodel(model))
            if choice.weights.startswith("random"):
                warnings.append(f"{model}: starts from random initialisation (--weights random)")
            elif "downloaded" in choice.weights:
                warnings.append(f"{model}: {choice.weights} when the run starts")
        sizes = fraction_sizes(len(loaded.frame), spec)
    return TrainPlan(task, model, loaded.label, warnings, sizes)


def untrusted_savedmodel(model: str) -> str:
    return (
        f"{model} runs the graph of a SavedModel that Keras loads only outside safe "
        "mode: if you trust it, tick 'I trust this SavedModel' on the Train page or "
        "pass --trust-savedmodel (the choice is recorded with the run)"
    )


def _check_hyperparameters(spec: TrainSpec, model: str) -> None:
    from core.models.catalog import get_entry

    declared = {h.name for h in get_entry(model).hyperparameters}
    unknown = sorted(set(spec.hyperparameters) - declared)
    if unknown:
        raise BadInput(
            f"model {model!r} has no hyperparameter(s) {', '.join(map(repr, unknown))}; "
            f"it declares: {', '.join(sorted(declared))}"
        )


def fraction_sizes(n: int, spec: TrainSpec) -> dict[str, int]:
    test = int(round(n * spec.test_fraction))
    validation = int(round(n * spec.validation_fraction))
    return {"train": n - test - validation, "validation": validation, "test": test}
