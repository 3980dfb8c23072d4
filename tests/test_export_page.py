"""The Export page with a finished (recorded) export: parity table, downloads, Deploy section.

No TensorFlow: the runs and their bundles are written straight into the store.
"""

from __future__ import annotations

import json

from core.runs.status import RunStatus
from core.specs import ExportSpec
from tests.test_micro_preflight import fake_preprocessing_keras
from tests.test_pages import open_page

IRIS_FEATURES = {
    "task": "classification",
    "target": "species",
    "features": [{"column": "petal_width", "input": "petal_width", "dtype": "float32"}],
    "classes": ["setosa", "versicolor", "virginica"],
    "input_kind": "table",
    "details": {},
}


def finished_train_run(ws, store):
    run = store.create_run("train", {"target": "species"}, name="iris")
    folder = ws.run_dir(run.id)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "model.keras").write_bytes(b"fake")
    (folder / "features.json").write_text(json.dumps(IRIS_FEATURES))
    fake_preprocessing_keras(folder, ["InputLayer", "FillMissing", "Normalization"])
    (folder / "test_sample.csv").write_text("petal_width,species\n0.2,setosa\n1.8,virginica\n")
    store.set_status(run.id, RunStatus.RUNNING)
    store.finish_run(run.id, {"task": "classification"})
    return run


def test_export_page_shows_parity_and_a_download_per_bundle(ws, store):
    train = finished_train_run(ws, store)
    spec = ExportSpec(source_run=train.id, formats=("tflite", "tfjs", "micro"))
    run = store.create_run("export", spec.to_dict(), name="export")
    folder = ws.run_dir(run.id)
    folder.mkdir(parents=True, exist_ok=True)
    bundles = {}
    for fmt, name in (("tflite", "tflite-bundle.zip"), ("tfjs", "tfjs-bundle.zip")):
        (folder / name).write_bytes(b"PK fake zip")
        store.add_artifact(run.id, name, folder / name)
        bundles[fmt] = {
            "format": fmt,
            "ok": True,
            "parity": {"max_abs_diff": 1.2e-7, "rows": 30, "agreement": 1.0},
            "notes": [],
            "size_bytes": 11,
        }
    bundles["micro"] = {"format": "micro", "ok": False, "error": "micro failed: no such op"}
    store.set_status(run.id, RunStatus.RUNNING)
    store.finish_run(run.id, {"source_run": train.id, "bundles": bundles})

    at = open_page("export", {"export": run.id})
    assert not at.exception, at.exception
    table = at.dataframe[0].value
    assert list(table["check"]) == ["passed", "passed", "failed"]
    assert list(table["same class"])[:2] == ["100%", "100%"]
    assert any("no such op" in e.value for e in at.error)
    labels = [b.label for b in at.get("download_button")]
    assert any(label.startswith("TFLite") for label in labels)
    assert any(label.startswith("TF.js") for label in labels)
    # the Deploy section offers to start a server for the chosen run
    assert at.button(key="serve-start") is not None


def test_export_page_submits_one_job_for_the_chosen_formats(ws, store, monkeypatch):
    monkeypatch.setenv("TFSTUDIO_HANDLERS", "export=tests.fake_jobs:succeed")
    train = finished_train_run(ws, store)
    at = open_page("export")
    at.multiselect(key="export-formats").set_value(["savedmodel", "tfjs"]).run()
    at.radio(key="export-quant").set_value("uint8").run()
    at.button(key="export-start").click().run()
    assert not at.exception, at.exception
    runs = store.list_runs(kind="export")
    assert len(runs) == 1
    spec = runs[0].spec
    assert spec["source_run"] == train.id
    assert spec["formats"] == ["savedmodel", "tfjs"] and spec["quantize"] == "uint8"
