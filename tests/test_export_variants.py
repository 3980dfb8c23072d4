"""Exporting a compressed variant: the spec, the checks before a job, and the Export page's
preselection from the Compress page (no TensorFlow: runs and files are written straight into the
store)."""

from __future__ import annotations

import json

import pytest

from core.errors import BadInput
from core.export.source import check, resolve, variant_formats, variant_names
from core.runs.status import RunStatus
from core.specs import ExportSpec, spec_from_dict
from tests.test_export_page import finished_train_run
from tests.test_pages import open_page


def compress_run(ws, store, train_id, status=RunStatus.SUCCEEDED):
    run = store.create_run("compress", {"source_run": train_id}, name="compress")
    folder = ws.run_dir(run.id)
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("model_int8.tflite", "model_prune.tflite", "model_prune.keras"):
        (folder / name).write_bytes(b"fake")
    row = {"metric_name": "accuracy", "metric": 0.9, "size_bytes": 4, "gzip_bytes": 3}
    variants = [
        {**row, "method": "int8", "scope": "network", "path": str(folder / "model_int8.tflite")},
        {
            **row,
            "method": "prune",
            "scope": "end-to-end",
            "path": str(folder / "model_prune.tflite"),
            "keras_path": str(folder / "model_prune.keras"),
            "network_path": str(folder / "network_prune.keras"),
        },
        {"method": "cluster", "error": "clustering broke"},
        {**row, "method": "float16", "path": str(folder / "gone.tflite")},
    ]
    store.set_status(run.id, RunStatus.RUNNING)
    if status is RunStatus.SUCCEEDED:
        store.finish_run(run.id, {"source_run": train_id, "variants": variants})
    else:
        store.fail_run(run.id, "broke")
    return run


@pytest.fixture
def runs(ws, store):
    train = finished_train_run(ws, store)
    (ws.run_dir(train.id) / "test_inputs.npz").write_bytes(b"")
    return train, compress_run(ws, store, train.id)


def test_export_spec_round_trips_with_variant_and_version():
    spec = ExportSpec(source_run="c1", variant="int8", formats=("tflite",), version=3)
    assert spec_from_dict("export", spec.to_dict()) == spec


def test_variants_offered_are_the_ones_with_a_file(runs, store):
    _, comp = runs
    report = store.get_run(comp.id).result
    assert variant_names(report) == ["int8", "prune"]
    rows = {v["method"]: v for v in report["variants"]}
    assert variant_formats(rows["int8"]) == ("tflite", "micro")
    assert variant_formats(rows["prune"]) == ("keras", "savedmodel", "tflite", "tfjs", "micro")


def test_a_variant_resolves_to_its_training_run_and_files(runs, ws, store):
    train, comp = runs
    src = resolve(store, ws, comp.id, "prune")
    assert src.train_run == train.id and src.folder == ws.run_dir(train.id)
    assert src.keras_path.name == "model_prune.keras"
    assert src.tflite_path.name == "model_prune.tflite" and not src.quantized
    int8 = resolve(store, ws, comp.id, "int8")
    assert int8.quantized and int8.scope == "network"
    assert int8.keras_path == ws.run_dir(train.id) / "model.keras"  # the float reference
    plain = resolve(store, ws, train.id)
    assert plain.variant is None and plain.keras_path.name == "model.keras"


def test_all_formats_of_a_tflite_only_variant_are_tflite_and_micro(runs, ws, store):
    _, comp = runs
    _, formats = check(store, ws, ExportSpec(source_run=comp.id, variant="int8", format="all"))
    assert formats == ("tflite", "micro")
    _, formats = check(store, ws, ExportSpec(source_run=comp.id, variant="prune", format="all"))
    assert formats == ("keras", "savedmodel", "tflite", "tfjs", "micro")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"variant": "int8", "formats": ("tflite", "keras")}, "TFLite model only.*not keras"),
        ({"variant": "int8", "format": "tfjs"}, "exports tflite and micro, not tfjs"),
        ({"variant": "magic"}, "has no variant 'magic'; it has int8, prune, cluster"),
        ({"variant": "cluster"}, "failed in run .*clustering broke"),
        ({"variant": "float16"}, "has no file left"),
        ({"variant": "prune", "version": 0}, "version must be 1 or more"),
        ({"variant": "prune", "format": "onnx"}, "unknown format 'onnx'"),
    ],
)
def test_bad_variant_exports_are_refused_before_a_job(runs, ws, store, changes, message):
    _, comp = runs
    with pytest.raises(BadInput, match=message):
        check(store, ws, ExportSpec(source_run=comp.id, **changes))


def test_a_variant_needs_a_finished_compress_run(runs, ws, store):
    train, _ = runs
    with pytest.raises(BadInput, match="is a train run; a variant comes from a compress run"):
        check(store, ws, ExportSpec(source_run=train.id, variant="int8"))
    failed = compress_run(ws, store, train.id, status=RunStatus.FAILED)
    with pytest.raises(BadInput, match="is FAILED; it has no variants"):
        check(store, ws, ExportSpec(source_run=failed.id, variant="int8"))


def test_export_cli_refuses_a_bad_variant_with_exit_2(runs, ws):
    from tests.conftest import tfstudio

    _, comp = runs
    out = tfstudio(
        "export", comp.id, "--variant", "int8", "--format", "savedmodel", "--out", str(ws.root),
        "--json", "--home", str(ws.root),
    )  # fmt: skip
    assert out.returncode == 2
    assert out.stderr.startswith("error: ") and "TFLite model only" in out.stderr


def test_export_page_preselects_the_variant_chosen_on_the_compress_page(runs, store):
    _, comp = runs
    at = open_page("export", {"compress": comp.id, "variant": "int8"})
    assert not at.exception, at.exception
    assert at.radio(key="export-origin").value == "variant"
    assert at.selectbox(key="export-compress").value == comp.id
    assert at.selectbox(key="export-variant").value == "int8"
    formats = at.multiselect(key="export-formats-int8")
    assert formats.options == ["TFLite (+ labels, metadata)", "Microcontroller (C array)"]
    assert any("TFLite file only" in c.value for c in at.caption)
    assert any("preprocessing.tflite" in c.value for c in at.caption)


def test_export_page_submits_a_variant_export(runs, store, monkeypatch):
    from tests.conftest import FAKE_HANDLERS

    monkeypatch.setenv("TFSTUDIO_HANDLERS", f"{FAKE_HANDLERS},export=tests.fake_jobs:succeed")
    _, comp = runs
    at = open_page("export", {"compress": comp.id, "variant": "prune"})
    at.number_input(key="export-version").set_value(4).run()
    at.button(key="export-start").click().run()
    assert not at.exception, at.exception
    (run,) = store.list_runs(kind="export")
    assert run.spec["source_run"] == comp.id and run.spec["variant"] == "prune"
    assert run.spec["version"] == 4
    assert list(run.spec["formats"]) == ["keras", "savedmodel", "tflite", "tfjs", "micro"]


def test_deploy_settings_reach_the_server_process(runs, ws, monkeypatch):
    from core.serving import process

    started = {}

    def fake_start(ws_, model, port, name, token="", max_body_mb=10.0):
        started.update(model=model, port=port, token=token, max_body_mb=max_body_mb)
        return {}

    monkeypatch.setattr(process, "start", fake_start)
    train, _ = runs
    at = open_page("export")
    at.number_input(key="serve-max-mb").set_value(0.5).run()
    at.text_input(key="serve-token").set_value("s3cret").run()
    at.button(key="serve-start").click().run()
    assert not at.exception, at.exception
    assert started == {"model": train.id, "port": 8601, "token": "s3cret", "max_body_mb": 0.5}


def test_server_state_keeps_the_token_private(ws, monkeypatch):
    import os
    import subprocess

    from core.serving import process

    class Proc:
        pid = os.getpid()

        def wait(self):  # the supervisor reaps its children in a thread
            return 0

    seen = {}

    def fake_popen(cmd, **kwargs):
        seen.update(cmd=cmd, env=kwargs["env"])
        return Proc()

    monkeypatch.setattr(subprocess, "Popen", fake_popen)
    state = process.start(ws, "r1", 18765, "iris", token="s3cret", max_body_mb=2.0)
    assert "s3cret" not in seen["cmd"] and seen["env"]["TFSTUDIO_SERVE_TOKEN"] == "s3cret"
    assert seen["cmd"][seen["cmd"].index("--max-body-mb") + 1] == "2.0"
    path = ws.root / "serving.json"
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert json.loads(path.read_text())["token"] == state["token"] == "s3cret"
    with pytest.raises(RuntimeError, match="already running"):
        process.start(ws, "r1", 18766, "iris")
    path.unlink()
    with pytest.raises(RuntimeError, match="must be positive"):
        process.start(ws, "r1", 18766, "iris", max_body_mb=0)


def test_export_page_says_which_variant_a_finished_export_holds(runs, ws, store):
    _, comp = runs
    spec = ExportSpec(source_run=comp.id, variant="int8", formats=("tflite",))
    run = store.create_run("export", spec.to_dict(), name="export int8")
    folder = ws.run_dir(run.id)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "tflite-bundle.zip").write_bytes(b"PK fake zip")
    store.add_artifact(run.id, "tflite-bundle.zip", folder / "tflite-bundle.zip")
    check = {"max_abs_diff": 0.02, "rows": 30, "agreement": 0.97, "same_file_as_report": True}
    bundle = {"format": "tflite", "ok": True, "parity": check, "notes": [], "size_bytes": 11}
    store.set_status(run.id, RunStatus.RUNNING)
    store.finish_run(
        run.id,
        {
            "source_run": comp.id,
            "variant": "int8",
            "train_run": "t1",
            "variant_report": {"metric_name": "accuracy", "metric": 0.9, "size_bytes": 4},
            "bundles": {"tflite": bundle},
        },
    )
    at = open_page("export", {"export": run.id})
    assert not at.exception, at.exception
    assert any("Variant **int8**" in i.value and "lossy tolerance" in i.value for i in at.info)
    assert list(at.dataframe[0].value["same class"]) == ["97%"]
