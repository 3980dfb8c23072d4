"""A pipeline checked against a workspace: its dataset, its ingest file, its evaluate metric.

`core.pipelines.definition` reads and checks the file's shape; this module refuses what the
workspace cannot satisfy, with the same `FILE:LINE: what is wrong` line, before any run starts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from core.errors import BadInput
from core.metrics import metric_direction
from core.pipelines.definition import Pipeline, Stage
from core.workspace import Workspace

# Metrics each task's evaluation logs on the test split (core/training/evaluation.py).
TASK_METRICS = {
    "classification": ("accuracy", "macro_f1", "roc_auc"),
    "regression": ("mae", "rmse", "r2"),
    "forecasting": ("mae", "rmse", "mape", "skill_vs_naive"),
}


def resolve_dataset(p: Pipeline, ws: Workspace):
    """The pipeline's dataset version. `dataset:` takes what every command's data argument
    takes: a dataset id (`name@vN`, or `name` for the newest), `sample:NAME`, or a CSV/TSV/
    Parquet/JSONL file, a zip or a folder of class folders (relative paths from the pipeline
    file's folder), imported as a dataset version on first use and reused while its content
    hash matches."""
    from core.data.datasets import DatasetStore
    from core.data.resolve import import_path
    from core.data.samples import SAMPLE_PREFIX, SAMPLES, sample_path
    from core.errors import NotFound

    store = DatasetStore(ws)
    line = p.lines.get("dataset", 1)
    ref = p.dataset
    if ref.startswith(SAMPLE_PREFIX):
        name = ref[len(SAMPLE_PREFIX) :]
        path = sample_path(name, ws.samples_dir)  # refuses an unknown sample by name
        return store.import_file(path, path.name, name=name, target=SAMPLES[name].target)
    given = Path(ref).expanduser()
    found = given if given.is_absolute() else Path(p.source).parent / given
    if found.exists() and not store.is_ref(ref):
        return import_path(found, ws)
    try:
        return store.get(ref)
    except NotFound:
        known = ", ".join(sorted({v.name for v in store.list_versions()})) or "none yet"
        if "/" in ref or "\\" in ref or given.suffix:
            raise BadInput(
                f"{p.source}:{line}: no such file or folder {ref!r} (relative paths are from "
                "the pipeline file's folder)"
            ) from None
        raise BadInput(
            f"{p.source}:{line}: no dataset {ref!r} in this workspace (datasets: {known}); give "
            "a dataset id, sample:NAME or a data file's path, or import it on the Data page"
        ) from None


def check_against_workspace(p: Pipeline, ws: Workspace) -> dict[str, Any]:
    """Refuse what the workspace cannot satisfy: a missing dataset or file, a metric the model
    does not log. Returns what it found (dataset version, task, production model)."""
    from core.data.datasets import DatasetStore
    from core.registry.store import Registry

    where = p.source
    store = DatasetStore(ws)
    version = resolve_dataset(p, ws)
    schema = store.schema(version)
    target = p.target or schema.get("target") or ""
    learner = p.by_type("train") or p.by_type("tune")
    if learner is not None:
        target = str(learner.params.get("target") or target)
    if learner is not None and not target:
        raise BadInput(
            f"{where}:{p.lines.get('name', 1)}: no target: give `target:` (dataset "
            f"{version.id} has no target in its schema)"
        )
    columns = [c["name"] for c in schema.get("columns", [])]
    if target and columns and target not in columns:
        raise BadInput(
            f"{where}:{p.lines.get('target', 1)}: there is no column {target!r} in "
            f"{version.id}; columns: {', '.join(columns)}"
        )
    ingest = p.by_type("ingest")
    if ingest is not None:
        key = "file" if "file" in ingest.params else "folder"
        given = Path(str(ingest.params[key])).expanduser()
        found = given if given.is_absolute() else Path(where).parent / given
        ok = found.is_file() if key == "file" else found.is_dir()
        if not ok:
            raise BadInput(
                f"{where}:{ingest.line}: stage {ingest.name!r}: no such {key} {str(given)!r} "
                f"(relative paths are from the pipeline file's folder)"
            )
    registry = Registry(ws)
    production = registry.production(p.model_name)
    task = production.task if production else _task_of(schema, target, version.kind)
    evaluate = p.by_type("evaluate")
    if evaluate is not None:
        metric = str(evaluate.params.get("metric") or default_metric(task))
        logged = tuple(production.metrics) if production and production.metrics else ()
        logged = logged or TASK_METRICS.get(_family(task), ())
        if metric not in logged:
            raise BadInput(
                f"{where}:{_key_line(evaluate, 'metric')}: stage {evaluate.name!r}: the "
                f"{task or 'model'} model does not log {metric!r}; it logs "
                f"{', '.join(logged)}"
            )
    return {
        "dataset": version.id,
        "target": target,
        "task": task,
        "production": production.id if production else None,
    }


def _key_line(stage: Stage, key: str) -> int:
    return stage.keys.get(key, stage.line)


def _family(task: str) -> str:
    return "classification" if task.endswith("classification") else task


def _task_of(schema: dict[str, Any], target: str, kind: str) -> str:
    if kind == "timeseries":
        return "forecasting"
    if kind == "images":
        return "image-classification"
    if kind == "text":
        return "text-classification"
    types = {c["name"]: c["type"] for c in schema.get("columns", [])}
    return "regression" if types.get(target) == "numeric" else "classification"


def default_metric(task: str) -> str:
    return "accuracy" if _family(task) == "classification" else "mae"


def direction_for(metric: str, given: str | None = None) -> str:
    return metric_direction(metric, given)
