"""Compression preflight and spec checks: pure Python, no TensorFlow (a .keras file is a zip)."""

from __future__ import annotations

import json
import zipfile

import pytest

from core.compression.preflight import check_spec, keras_layers, parse_methods, preflight
from core.errors import BadInput
from core.runs.status import RunStatus
from core.specs import CompressSpec, spec_from_dict
from core.training.features import FeatureSpec, ModelContract


def layer(cls, name, inbound=None, **config):
    args = [
        {"class_name": "__keras_tensor__", "config": {"keras_history": [src, 0, 0]}}
        for src in (inbound or [])
    ]
    return {
        "class_name": cls,
        "name": name,
        "config": {"name": name, **config},
        "inbound_nodes": [{"args": args, "kwargs": {}}] if args else [],
    }


def write_keras(path, layers):
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("config.json", json.dumps({"config": {"layers": layers}}))


MLP = [
    layer("InputLayer", "features", batch_shape=[None, 4]),
    layer("Dense", "dense_0", ["features"], units=8),
    layer("Dropout", "dropout_0", ["dense_0"], rate=0.1),
    layer("Dense", "probabilities", ["dropout_0"], units=3),
]


def fake_run_folder(folder, network_layers, input_kind="table", preprocessing=()):
    folder.mkdir(parents=True, exist_ok=True)
    ModelContract(
        "classification", "y", [FeatureSpec("a", "a", "float32")], ["x", "y"], input_kind
    ).save(folder / "features.json")
    (folder / "model.keras").write_bytes(b"placeholder")
    write_keras(folder / "network.keras", network_layers)
    write_keras(
        folder / "preprocessing.keras", [layer(t, f"p{i}") for i, t in enumerate(preprocessing)]
    )
    return folder


def test_keras_layers_reads_names_types_and_inbound(tmp_path):
    write_keras(tmp_path / "n.keras", MLP)
    layers = keras_layers(tmp_path / "n.keras")
    assert [(x["class_name"], x["name"]) for x in layers][:2] == [
        ("InputLayer", "features"),
        ("Dense", "dense_0"),
    ]
    assert layers[2]["inbound"] == ["dense_0"]


def test_keras_layers_refuses_a_file_that_is_not_a_keras_zip(tmp_path):
    (tmp_path / "bad.keras").write_bytes(b"not a zip")
    with pytest.raises(BadInput, match="cannot read the layer list"):
        keras_layers(tmp_path / "bad.keras")


def test_preflight_of_an_mlp_supports_every_method(tmp_path):
    report = preflight("r1", fake_run_folder(tmp_path / "r", MLP))
    assert all(c.supported for c in report.methods.values())
    rows = {r["layer"]: r for r in report.table()}
    assert rows["dense_0"]["prune"] == "wrapped"
    assert rows["dropout_0"]["cluster"] == "kept as is"
    assert report.methods["qat"].scope == "network"


def test_preflight_wraps_convolutions_and_explains_an_unsupported_layer(tmp_path):
    conv = [
        layer("InputLayer", "image", batch_shape=[None, 8, 8, 3]),
        layer("Conv2D", "conv", ["image"], filters=4),
        layer("MaxPooling2D", "pool", ["conv"]),
        layer("Flatten", "flat", ["pool"]),
        layer("Dense", "probabilities", ["flat"], units=2),
    ]
    report = preflight("r2", fake_run_folder(tmp_path / "r", conv))
    assert all(report.methods[m].supported for m in ("prune", "cluster", "qat", "pqat", "cqat"))
    rows = {r["layer"]: r for r in report.table()}
    assert rows["conv"]["prune"] == rows["conv"]["qat"] == "wrapped"
    assert rows["pool"]["cluster"] == "kept as is" and rows["pool"]["qat"] == "kept in float"

    attention = [*conv[:2], layer("MultiHeadAttention", "attn", ["conv"]), conv[-1]]
    report = preflight("r2", fake_run_folder(tmp_path / "a", attention))
    prune = report.methods["prune"]
    assert not prune.supported
    assert "'attn' (MultiHeadAttention)" in prune.reason and "rebuilds Dense" in prune.reason
    assert not report.methods["pqat"].supported and "attn" in report.methods["pqat"].reason
    assert report.methods["dynamic"].supported  # PTQ takes the whole model
    assert {r["layer"]: r["qat"] for r in report.table()}["attn"] == "unsupported"


def test_preflight_follows_branches_and_names_what_qat_cannot_wrap(tmp_path):
    forecaster = [
        layer("InputLayer", "window", batch_shape=[None, 12, 2]),
        layer("LSTM", "lstm", ["window"], units=8),
        layer("Reshape", "forecast", ["lstm"], target_shape=[2, 4]),
        layer("LastValue", "last_value", ["window"]),
        layer("Add", "forecast_from_last", ["forecast", "last_value"]),
    ]
    report = preflight("r3", fake_run_folder(tmp_path / "r", forecaster, input_kind="sequence"))
    assert report.methods["prune"].supported and report.methods["cluster"].supported
    qat = report.methods["qat"]
    assert not qat.supported and "no layer this method wraps (Dense, Conv2D)" in qat.reason
    assert not report.methods["cqat"].supported
    rows = {r["layer"]: r for r in report.table()}
    assert rows["lstm"]["prune"] == "wrapped" and rows["lstm"]["qat"] == "kept in float"


def test_preflight_refuses_a_layer_defined_after_its_input(tmp_path):
    backwards = [
        layer("InputLayer", "features", batch_shape=[None, 4]),
        layer("Dense", "a", ["b"], units=4),
        layer("Dense", "b", ["features"], units=4),
    ]
    report = preflight("r3", fake_run_folder(tmp_path / "r", backwards))
    assert "defined after it" in report.methods["cluster"].reason


def test_preflight_notes_string_lookups_for_int8(tmp_path):
    folder = fake_run_folder(tmp_path / "r", MLP, preprocessing=("InputLayer", "StringLookup"))
    check = preflight("r4", folder).methods["int8"]
    assert check.supported and check.scope == "network"
    assert "StringLookup" in check.note and "network alone" in check.note


@pytest.mark.parametrize(
    ("kind", "why"),
    [("image", "Resizing"), ("text", "TextVectorization"), ("sequence", "normalises")],
)
def test_preflight_quantizes_the_network_of_other_input_kinds(tmp_path, kind, why):
    report = preflight("r5", fake_run_folder(tmp_path / "r", MLP, input_kind=kind))
    assert all(c.supported for c in report.methods.values())
    int8 = report.methods["int8"]
    assert int8.scope == "network" and why in int8.note and "preprocessing.tflite" in int8.note
    assert report.methods["dynamic"].scope == "end-to-end"
    assert report.methods["prune+int8"].scope == "network"


def test_parse_methods():
    assert parse_methods("int8, prune,int8") == ["int8", "prune"]
    with pytest.raises(BadInput, match="unknown method"):
        parse_methods("dynamic,magic")
    with pytest.raises(BadInput, match="at least one"):
        parse_methods(" , ")


def test_compress_spec_round_trips():
    spec = CompressSpec(
        source_run="r", method="prune,cqat", sparsity=0.5, schedule="constant", centroids="linear"
    )
    assert spec_from_dict("compress", spec.to_dict()) == spec


def finished(store, kind="train", status=RunStatus.SUCCEEDED):
    run = store.create_run(kind, {"data": "sample:iris"}, name=kind)
    store.set_status(run.id, RunStatus.RUNNING)
    if status is RunStatus.SUCCEEDED:
        return store.finish_run(run.id, {})
    return store.fail_run(run.id, "broke")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"method": "prune", "sparsity": 0.0}, "sparsity must be in"),
        ({"method": "prune", "sparsity": 1.0}, "sparsity must be in"),
        ({"method": "cluster", "clusters": 0}, "at least 2 clusters"),
        ({"method": "prune", "epochs": 0}, "at least 1 fine-tuning epoch"),
        ({"method": "shrink"}, "unknown method"),
        ({"method": "prune+int8", "sparsity": 2.0}, "sparsity must be in"),
        ({"method": "pqat", "sparsity": -0.1}, "sparsity must be in"),
        ({"method": "cqat", "clusters": 1}, "at least 2 clusters"),
        ({"method": "prune", "schedule": "cosine"}, "unknown pruning schedule"),
        ({"method": "cluster", "centroids": "kmeans"}, "unknown centroid initialisation"),
    ],
)
def test_check_spec_refuses_bad_parameters(ws, store, changes, message):
    run = finished(store)
    fake_run_folder(ws.run_dir(run.id), MLP)
    with pytest.raises(BadInput, match=message):
        check_spec(CompressSpec(source_run=run.id, **changes), store, ws)


def test_check_spec_refuses_runs_without_a_model(ws, store):
    export = finished(store, kind="export")
    with pytest.raises(BadInput, match="export run"):
        check_spec(CompressSpec(source_run=export.id), store, ws)
    failed = finished(store, status=RunStatus.FAILED)
    with pytest.raises(BadInput, match="FAILED"):
        check_spec(CompressSpec(source_run=failed.id), store, ws)
    empty = finished(store)
    with pytest.raises(BadInput, match="no model.keras"):
        check_spec(CompressSpec(source_run=empty.id), store, ws)


def test_check_spec_refuses_a_method_the_model_cannot_take(ws, store):
    run = finished(store)
    attn = [
        layer("InputLayer", "x"),
        layer("Attention", "attn", ["x"]),
        layer("Dense", "d", ["attn"]),
    ]
    fake_run_folder(ws.run_dir(run.id), attn)
    with pytest.raises(BadInput, match="prune is not available for this model"):
        check_spec(CompressSpec(source_run=run.id, method="dynamic,prune"), store, ws)
    methods, report = check_spec(CompressSpec(source_run=run.id, method="float16"), store, ws)
    assert methods == ["float16"] and report.run_id == run.id
