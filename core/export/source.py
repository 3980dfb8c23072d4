"""What an export takes its model from: a training run, or one variant of a compression run.

Pure Python (no TensorFlow), so the page and the CLI refuse a bad choice before a worker starts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.errors import BadInput
from core.models.io import trained_run_dir
from core.runs.status import RunStatus
from core.runs.store import RunStore
from core.specs import EXPORT_FORMATS, ExportSpec
from core.workspace import Workspace

# Formats a compressed variant can give: one that exists only as a TFLite file (PTQ, QAT) has
# no Keras model to write a SavedModel or a TF.js graph from.
TFLITE_FORMATS = ("tflite", "micro")
QUANTIZED_METHODS: tuple[str, ...] = ("dynamic", "float16", "int8", "qat", "prune+int8")
QUANTIZED_METHODS += ("cluster+int8", "pqat", "cqat")


@dataclass
class ExportSource:
    train_run: str  # the training run whose contract, test inputs and preprocessing apply
    folder: Path  # that run's artifact folder
    keras_path: Path  # the end-to-end Keras model the Keras/SavedModel/TF.js bundles hold
    variant: dict[str, Any] | None = None  # the compression report's row for the variant
    compress_run: str = ""
    formats: tuple[str, ...] = EXPORT_FORMATS  # what this source can be exported as
    notes: list[str] = field(default_factory=list)

    @property
    def tflite_path(self) -> Path | None:
        return Path(self.variant["path"]) if self.variant else None

    @property
    def scope(self) -> str:
        return (self.variant or {}).get("scope", "end-to-end")

    @property
    def quantized(self) -> bool:
        if not self.variant:
            return False
        return self.variant["method"] in QUANTIZED_METHODS

    @property
    def label(self) -> str:
        if self.variant:
            return f"variant {self.variant['method']} of compression run {self.compress_run}"
        return f"training run {self.train_run}"


def variant_names(report: dict[str, Any]) -> list[str]:
    """The variants of a compression report that can be exported (no error, file present)."""
    return [
        v["method"]
        for v in report.get("variants", [])
        if "error" not in v and Path(v.get("path", "")).is_file()
    ]


def variant_formats(row: dict[str, Any]) -> tuple[str, ...]:
    keras = row.get("keras_path")
    return EXPORT_FORMATS if keras and Path(keras).is_file() else TFLITE_FORMATS


def source_model_dir(store: RunStore, ws: Workspace, run_id: str) -> Path:
    """The artifact folder of a SUCCEEDED training run that holds a model (BadInput otherwise)."""
    return trained_run_dir(store, ws, run_id, "export takes a training run", needs=("model.keras",))


def resolve(store: RunStore, ws: Workspace, run_id: str, variant: str = "") -> ExportSource:
    """The model to export; BadInput says what is wrong with the choice."""
    if not variant:
        folder = source_model_dir(store, ws, run_id)
        return ExportSource(run_id, folder, folder / "model.keras")
    if not run_id:
        raise BadInput("choose the compression run whose variant should be exported")
    run = store.get_run(run_id)
    if run.kind != "compress":
        raise BadInput(
            f"run {run_id} is a {run.kind} run; a variant comes from a compress run "
            "(tfstudio compress RUN_ID ... gives one)"
        )
    if run.status is not RunStatus.SUCCEEDED:
        raise BadInput(f"compression run {run_id} is {run.status.value}; it has no variants")
    report = run.result or {}
    rows = {v["method"]: v for v in report.get("variants", [])}
    if variant not in rows:
        raise BadInput(
            f"compression run {run_id} has no variant {variant!r}; it has "
            f"{', '.join(rows) or 'none'}"
        )
    row = rows[variant]
    if "error" in row:
        raise BadInput(f"variant {variant!r} failed in run {run_id}: {row['error']}")
    if not Path(row.get("path", "")).is_file():
        raise BadInput(f"variant {variant!r} of run {run_id} has no file left ({row.get('path')})")
    train_run = report.get("source_run", "")
    folder = source_model_dir(store, ws, train_run)
    formats = variant_formats(row)
    keras = Path(row["keras_path"]) if "keras_path" in row else folder / "model.keras"
    return ExportSource(train_run, folder, keras, row, run_id, formats)


def export_refusals(folder: Path) -> dict[str, str]:
    """format -> why this run's model cannot take it, as its training recorded in features.json."""
    import json

    try:
        details = json.loads((folder / "features.json").read_text()).get("details", {})
    except (OSError, ValueError):
        return {}
    return dict(details.get("export_refusals", {}))


def check(store: RunStore, ws: Workspace, spec: ExportSpec) -> tuple[ExportSource, tuple]:
    """The source and the formats this spec exports (BadInput before any worker starts)."""
    if spec.version < 1:
        raise BadInput(f"the model version must be 1 or more, got {spec.version}")
    source = resolve(store, ws, spec.source_run, spec.variant)
    chosen = spec.formats or (spec.format,)
    unknown = [f for f in chosen if f not in (*EXPORT_FORMATS, "all")]
    if unknown:
        raise BadInput(
            f"unknown format {unknown[0]!r}; choose one of {', '.join(EXPORT_FORMATS)} or all"
        )
    # Formats the model itself rules out (a KerasHub tokenizer's TF Text ops), with the reason.
    why_not = export_refusals(source.folder)
    if "all" in chosen:
        return source, tuple(f for f in source.formats if f not in why_not)
    for f in chosen:
        if f in why_not:
            raise BadInput(f"{source.label} cannot be exported as {f}: {why_not[f]}")
    refused = [f for f in dict.fromkeys(chosen) if f not in source.formats]
    if refused:
        raise BadInput(
            f"{source.label} is a TFLite model only: it exports {' and '.join(source.formats)}, "
            f"not {', '.join(refused)} (Keras, SavedModel and TF.js come from pruned or "
            "clustered variants, or from the training run)"
        )
    if "micro" in chosen:
        from core.export.micro_glue import preflight

        why = preflight(source.folder, source.variant)
        if why:
            raise BadInput(f"TFLite Micro cannot run {source.label}: {why}")
    return source, tuple(dict.fromkeys(chosen))
