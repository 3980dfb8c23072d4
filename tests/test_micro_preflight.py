"""The microcontroller export without TensorFlow: the preflight that refuses before a job, the
C++ glue (compiled with g++ and run against its numpy mirror), the C array and resolver calls."""

from __future__ import annotations

import json
import shutil
import subprocess
import zipfile
from pathlib import Path

import numpy as np
import pytest

from core.errors import BadInput
from core.export import micro, micro_glue
from core.export.micro_job import check_glue
from core.export.source import check
from core.export.tflm_ops import RESOLVER_METHOD
from core.specs import ExportSpec
from tests.test_pages import open_page

GXX = shutil.which("g++")
needs_gxx = pytest.mark.skipif(GXX is None, reason="g++ is not installed")


def fake_preprocessing_keras(folder: Path, classes: list[str]) -> None:
    """A preprocessing.keras holding only a config.json naming layers of these classes."""
    layers = [{"class_name": c, "config": {"name": f"x_{c.lower()}"}} for c in classes]
    with zipfile.ZipFile(folder / "preprocessing.keras", "w") as z:
        z.writestr("config.json", json.dumps({"config": {"layers": layers}}))


def contract_folder(tmp_path: Path, input_kind="table", dtypes=("float32",), layers=None):
    features = [{"column": f"c {i}", "input": f"c_{i}", "dtype": d} for i, d in enumerate(dtypes)]
    contract = {"task": "classification", "target": "y", "features": features}
    contract.update(classes=["a", "b"], input_kind=input_kind, details={})
    (tmp_path / "features.json").write_text(json.dumps(contract))
    fake_preprocessing_keras(tmp_path, layers or ["InputLayer", "FillMissing", "Normalization"])
    return tmp_path


def test_preflight_accepts_lookups_and_numbers(tmp_path):
    layers = ["InputLayer", "FillMissing", "Normalization", "StringLookup", "Concatenate"]
    assert micro_glue.preflight(contract_folder(tmp_path, layers=layers)) == ""


def test_preflight_names_the_hashed_column(tmp_path):
    folder = contract_folder(tmp_path, layers=["InputLayer", "Hashing"])
    why = micro_glue.preflight(folder)
    assert "hashed" in why and "FarmHash" in why and "x" in why


def test_preflight_refuses_layers_the_glue_does_not_know(tmp_path):
    folder = contract_folder(tmp_path, layers=["InputLayer", "CustomAutoKerasLayer"])
    assert "CustomAutoKerasLayer" in micro_glue.preflight(folder)


def test_preflight_refuses_text_models_with_the_reason(tmp_path):
    folder = contract_folder(tmp_path, input_kind="text", dtypes=())
    assert "TextVectorization" in micro_glue.preflight(folder)


def test_preflight_refuses_an_end_to_end_tflite_variant(tmp_path):
    folder = contract_folder(tmp_path)
    why = micro_glue.preflight(folder, {"method": "dynamic", "scope": "end-to-end"})
    assert "end-to-end" in why and "FILL" in why
    assert micro_glue.preflight(folder, {"method": "int8", "scope": "network"}) == ""


def test_export_check_refuses_micro_before_a_job(ws, store):
    from tests.test_export_page import finished_train_run

    train = finished_train_run(ws, store)
    fake_preprocessing_keras(ws.run_dir(train.id), ["InputLayer", "Hashing"])
    with pytest.raises(BadInput, match="TFLite Micro cannot run training run .*hashed"):
        check(store, ws, ExportSpec(source_run=train.id, formats=("tflite", "micro")))
    _, formats = check(store, ws, ExportSpec(source_run=train.id, formats=("tflite",)))
    assert formats == ("tflite",)


def test_export_page_warns_and_leaves_micro_out_before_the_user_asks(ws, store):
    from tests.test_export_page import finished_train_run

    train = finished_train_run(ws, store)
    fake_preprocessing_keras(ws.run_dir(train.id), ["InputLayer", "Hashing"])
    at = open_page("export")
    assert not at.exception, at.exception
    assert any("TFLite Micro cannot run" in w.value for w in at.warning)
    assert "micro" not in at.multiselect(key="export-formats").value


def test_export_page_offers_micro_when_the_preflight_passes(ws, store):
    from tests.test_export_page import finished_train_run

    finished_train_run(ws, store)
    at = open_page("export")
    assert not any("TFLite Micro" in w.value for w in at.warning)
    assert "micro" in at.multiselect(key="export-formats").value


GLUE = {
    "features": [
        {"input": "length", "column": "length (cm)", "offset": 0, "kind": "number"}
        | {"fill": 2.5, "mean": 3.0, "std": 0.5, "width": 1},
        {"input": "age", "column": "age", "offset": 1, "kind": "bucket", "fill": 40.0}
        | {"boundaries": [20.0, 35.5, 60.0], "width": 4},
        {"input": "city", "column": 'city "name"', "offset": 5, "kind": "string"}
        | {"vocabulary": ["Zürich", 'say "hi"', "a\\b", "why?"], "width": 5},
        {"input": "class", "column": "class", "offset": 10, "kind": "integer"}
        | {"vocabulary": [3, 7, -5], "width": 4},
    ],
    "width": 14,
}
RAW = {
    "length": np.array([[2.0], [np.nan], [4.25], [-1.0]], "float32"),
    "age": np.array([[19.0], [35.5], [np.nan], [99.0]], "float32"),
    "city": np.array([["Zürich"], ['say "hi"'], [""], ["a\\b"]], dtype=object),
    "class": np.array([[7], [-1], [-5], [3]], "int64"),
}
IO = {
    "input": {"shape": [1, 14], "dtype": "int8", "scale": 0.0173, "zero_point": -3},
    "output": {"shape": [1, 2], "dtype": "int8", "scale": 1 / 256, "zero_point": -128},
}


def test_glue_mirror_follows_the_keras_rules():
    x = micro_glue.apply(GLUE, RAW)
    assert x[:, 0].tolist() == pytest.approx([-2.0, -1.0, 2.5, -8.0])  # NaN -> fill 2.5
    assert x[:, 1:5].argmax(1).tolist() == [0, 2, 2, 3]  # boundaries <= x; NaN -> 40
    assert x[:, 5:10].argmax(1).tolist() == [1, 2, 0, 3]  # "" -> OOV slot 0
    assert x[:, 10:14].argmax(1).tolist() == [2, 0, 3, 1]  # -1 (missing) -> OOV
    assert (x[:, 1:].sum(1) == 3).all()  # one hot per one-hot feature


@needs_gxx
def test_generated_glue_compiles_and_matches_numpy(tmp_path):
    """g++ -Wall -Werror on the generated .h/.cc, run on rows with NaN, quotes, UTF-8, OOV."""
    (tmp_path / "tfstudio_features.h").write_text(micro_glue.header(GLUE, IO, ["a", "b"]))
    (tmp_path / "tfstudio_features.cc").write_text(micro_glue.source(GLUE, ["a", "b"]))
    report = check_glue(GLUE, IO, RAW, tmp_path)
    assert report["checked"] and report["rows"] == 4
    assert report["max_abs_diff"] < 1e-6
    assert report["int8_mismatches"] == 0
    header = (tmp_path / "tfstudio_features.h").read_text()
    assert "int64_t class_;" in header  # a C++ keyword as an input name gets a suffix


@needs_gxx
def test_model_data_compiles_as_cpp17_and_holds_the_bytes(tmp_path):
    data = bytes(range(256)) * 3 + b"\x00\x10"
    source, header = micro.c_array(data)
    assert "alignas(16) const unsigned char g_model[]" in source
    assert micro.parse_c_array(source) == data
    (tmp_path / "model_data.cc").write_text(source)
    (tmp_path / "model_data.h").write_text(header)
    cmd = [GXX, "-std=c++17", "-Wall", "-Werror", "-c", "model_data.cc", "-o", "model_data.o"]
    built = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True)
    assert built.returncode == 0, built.stderr
    nm = subprocess.run(["nm", "-C", "model_data.o"], cwd=tmp_path, capture_output=True, text=True)
    assert "g_model" in nm.stdout and "g_model_len" in nm.stdout


def test_resolver_calls_are_tflm_method_names():
    code = micro.resolver_code(["CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "SOFTMAX"])
    assert "MicroMutableOpResolver<4>" in code
    for method in ("AddConv2D", "AddDepthwiseConv2D", "AddFullyConnected", "AddSoftmax"):
        assert f"resolver.{method}();" in code
    # the ops desktop TFLite accepts and TFLM lacks
    assert micro.tflm_blockers(["HASHTABLE", "HASHTABLE_FIND", "ADD", "CUSTOM:FlexX"]) == [
        "HASHTABLE",
        "HASHTABLE_FIND",
        "CUSTOM:FlexX",
    ]
    assert RESOLVER_METHOD["UNIDIRECTIONAL_SEQUENCE_LSTM"] == "AddUnidirectionalSequenceLSTM"
    assert RESOLVER_METHOD["FILL"] == "AddFill" and "HASHTABLE" not in RESOLVER_METHOD


def test_build_host_script_is_valid_shell_naming_tflm_and_its_third_party_code(tmp_path):
    from core.export.micro_host import build_host_script

    script = tmp_path / "build_host.sh"
    script.write_text(build_host_script(["FULLY_CONNECTED", "SOFTMAX"]))
    assert subprocess.run(["sh", "-n", str(script)]).returncode == 0
    text = script.read_text()
    assert "90b983c2b3f1" in text and "main.cc model_data.cc tfstudio_features.cc" in text
    assert "for op in FULLY_CONNECTED SOFTMAX; do" in text
    # without the checkouts it stops with the variable to set, before compiling anything
    proc = subprocess.run(["sh", str(script)], capture_output=True, text=True, env={})
    assert proc.returncode != 0 and "set TFLM to a tflite-micro checkout" in proc.stderr
