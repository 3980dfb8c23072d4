"""The export job: a finished training run's model in one format, checked by its own runtime."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np

from core.errors import BadInput
from core.models.io import load_run_model
from core.runs.reporter import Reporter
from core.runs.status import RunStatus
from core.runs.store import RunStore
from core.specs import EXPORT_FORMATS, ExportSpec
from core.training.families.common import load_test_inputs
from core.training.features import ModelContract
from core.training.job import _to_tensors
from core.workspace import Workspace

# The file (or folder) each format produces, as named in the export run's artifacts.
OUTPUT_NAME = {"keras": "model.keras", "savedmodel": "savedmodel", "tflite": "model.tflite"}


def source_model_dir(store: RunStore, ws: Workspace, run_id: str) -> Path:
    """The artifact folder of a SUCCEEDED training run that holds a model (BadInput otherwise)."""
    run = store.get_run(run_id)
    if run.kind != "train":
        raise BadInput(f"run {run_id} is a {run.kind} run; export takes a training run")
    if run.status is not RunStatus.SUCCEEDED:
        raise BadInput(
            f"run {run_id} is {run.status.value}; only a finished training run has a model"
        )
    folder = ws.run_dir(run_id)
    if not (folder / "model.keras").exists():
        raise BadInput(f"run {run_id} has no model.keras artifact")
    return folder


def run_export_job(spec: ExportSpec, reporter: Reporter, run_dir: Path) -> dict[str, Any]:

    import core.training.layers  # noqa: F401  (registers custom layers for loading)
    from core.export.convert import (
        parity,
        savedmodel_predict,
        tflite_predict,
        to_savedmodel,
        to_tflite,
    )

    if spec.format not in EXPORT_FORMATS:
        raise BadInput(f"unknown format {spec.format!r}; choose one of {', '.join(EXPORT_FORMATS)}")
    ws = Workspace.resolve()
    source = source_model_dir(RunStore(ws.db_path), ws, spec.source_run)
    contract = ModelContract.load(source / "features.json")
    arrays = load_test_inputs(source / "test_inputs.npz")
    single = contract.input_kind != "table"
    raw = arrays["input"] if single else arrays  # numpy, as TFLite takes them
    tensors = _to_tensors(raw)

    reporter.progress("loading", 0, 3, "loading the Keras model")
    model = load_run_model(source)
    shutil.copy2(source / "features.json", run_dir / "features.json")
    reporter.artifact("features.json", run_dir / "features.json")
    expected = np.asarray(model.predict(tensors, verbose=0))

    reporter.progress("converting", 1, 3, f"writing {spec.format}")
    out = run_dir / OUTPUT_NAME[spec.format]
    if spec.format == "keras":
        shutil.copy2(source / "model.keras", out)
        got = load_run_model(run_dir, out.name).predict(tensors, verbose=0)
    elif spec.format == "savedmodel":
        to_savedmodel(model, out)
        got = savedmodel_predict(out, tensors)
        archive = shutil.make_archive(str(run_dir / "savedmodel"), "zip", out)
        reporter.artifact("savedmodel.zip", archive)
    else:
        to_tflite(model, out)
        got = tflite_predict(out, raw)

    reporter.progress("checking", 2, 3, "comparing predictions with the Keras model")
    check = parity(expected, got, contract.task)
    if check["max_abs_diff"] > 1e-3 and check.get("agreement", 0.0) < 1.0:
        reporter.event(f"{spec.format} predictions differ from Keras: {check}", "warning")
    reporter.artifact(OUTPUT_NAME[spec.format], out)
    size = sum(f.stat().st_size for f in out.rglob("*")) if out.is_dir() else out.stat().st_size
    reporter.progress("done", 3, 3, f"{spec.format}: max |diff| {check['max_abs_diff']:.2g}")
    return {
        "source_run": spec.source_run,
        "format": spec.format,
        "path": str(out),
        "size_bytes": int(size),
        "parity": check,
    }
