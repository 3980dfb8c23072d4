"""Microcontroller bundles from real iris (numeric) and penguins-like (string columns) runs,
checked in the real TFLite Micro interpreter (the `tflite-micro` package), from the bundle alone."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import zipfile

import numpy as np
import pandas as pd
import pytest

from core.export import micro, micro_glue
from tests.conftest import tfstudio

pytestmark = pytest.mark.slow


def penguins_csv(path):
    """A small penguins-like table: two string columns (one with gaps), numbers with gaps."""
    rng = np.random.default_rng(0)
    base = {"Adelie": (38.8, 18.3, 190), "Chinstrap": (48.8, 18.4, 196), "Gentoo": (47.5, 15, 217)}
    rows = []
    for s in rng.choice(list(base), 180):
        island = {"Gentoo": "Biscoe", "Chinstrap": "Dream"}.get(s) or rng.choice(
            ["Torgersen", "Dream"]
        )
        b = base[s]
        rows.append(
            {
                "species": s,
                "island": island,
                "bill_length_mm": b[0] + rng.normal(0, 2),
                "bill_depth_mm": b[1] + rng.normal(0, 1),
                "flipper_length_mm": b[2] + rng.normal(0, 5),
                "sex": rng.choice(["male", "female", None], p=[0.48, 0.48, 0.04]),
            }
        )
    frame = pd.DataFrame(rows)
    frame.loc[[3, 50, 77], "bill_length_mm"] = np.nan
    frame.to_csv(path, index=False)
    return path


@pytest.fixture(scope="module", params=["iris", "penguins"])
def micro_export(request, tmp_path_factory):
    home = tmp_path_factory.mktemp(f"micro-{request.param}")
    data = "sample:iris" if request.param == "iris" else str(penguins_csv(home / "penguins.csv"))
    train = tfstudio(
        "train", "--data", data, "--target", "species", "--epochs", "8", "--json", "--home",
        str(home),
    )  # fmt: skip
    assert train.returncode == 0, train.stderr[-3000:]
    run = json.loads(train.stdout)
    out = home / "bundles"
    exported = tfstudio(
        "export", run["run_id"], "--format", "micro", "--out", str(out), "--json", "--home",
        str(home),
    )  # fmt: skip
    assert exported.returncode == 0, exported.stderr[-3000:]
    folder = out / "unzipped"
    result = json.loads(exported.stdout)
    zipfile.ZipFile(result["bundles"]["micro"]["bundle"]).extractall(folder)
    return request.param, home / "runs" / run["run_id"], result, folder


def test_tflm_runs_the_bundle_and_agrees_with_keras(micro_export):
    name, _, result, folder = micro_export
    bundle = result["bundles"]["micro"]
    assert bundle["ok"], bundle
    check = bundle["parity"]
    assert check["runtime"].startswith("tflite-micro ")
    assert check["rows"] >= 15 and check["agreement"] >= 0.9
    assert check["max_abs_diff"] < 0.1  # int8 probabilities against float Keras
    assert check["glue_vs_keras_preprocessing"] < 1e-5
    assert check["c_glue"]["checked"] and check["c_glue"]["int8_mismatches"] == 0
    expected = {
        "model_data.cc", "model_data.h", "tfstudio_features.h", "tfstudio_features.cc",
        "main.cc", "OPS.md", "README.md", "micro.json", "model.tflite", "build_host.sh",
    }  # fmt: skip
    assert {p.name for p in folder.iterdir()} == expected
    report = json.loads((folder / "micro.json").read_text())
    assert report["io"]["input"]["dtype"] == "int8" and report["io"]["input"]["shape"][0] == 1
    assert set(report["ops"]) <= {"FULLY_CONNECTED", "SOFTMAX", "RELU"}
    strings = [f for f in report["preprocessing"]["features"] if f["kind"] == "string"]
    assert (len(strings) == 2) == (name == "penguins")


def test_the_bundle_alone_runs_in_tflm_with_its_stated_arena(micro_export):
    """Parse the C array, preprocess with the shipped constants, run TFLM with kTensorArenaSize."""
    _, run_dir, result, folder = micro_export
    data = micro.parse_c_array((folder / "model_data.cc").read_text())
    assert data == (folder / "model.tflite").read_bytes()
    main_cc = (folder / "main.cc").read_text()
    arena = int(re.search(r"kTensorArenaSize = (\d+);", main_cc).group(1))
    report = json.loads((folder / "micro.json").read_text())
    assert arena == report["arena"]["arena_bytes"] >= report["arena"]["min_bytes"]
    from core.training.families.common import load_test_inputs

    raw = load_test_inputs(run_dir / "test_inputs.npz")
    io = report["io"]
    features = micro_glue.apply(report["preprocessing"], raw)
    q = micro_glue.quantize(features, io["input"]["scale"], io["input"]["zero_point"])
    out = micro.tflm_run(data, q, arena)
    probs = micro_glue.dequantize(out, io["output"]["scale"], io["output"]["zero_point"])
    assert np.allclose(probs.sum(1), 1.0, atol=0.05)
    predictions = json.loads((run_dir / "evaluation.json").read_text())
    assert probs.shape == (len(next(iter(raw.values()))), 3), predictions.keys()
    # the resolver calls in main.cc are exactly the model's ops, by TFLM's method names
    for op in report["ops"]:
        assert f"resolver.{micro.RESOLVER_METHOD[op]}();" in main_cc
    assert f"MicroMutableOpResolver<{len(report['ops'])}>" in main_cc


def test_the_end_to_end_tflite_is_what_tflm_refuses(micro_export):
    """The training run's own .tflite (desktop LiteRT runs it) is refused, with the op named."""
    name, run_dir, _, _ = micro_export
    data = (run_dir / "model.tflite").read_bytes()
    blockers = micro.tflm_blockers(micro.tflm_ops(data))
    if name == "penguins":
        assert "HASHTABLE" in blockers
    # iris: the missing-value fill's runtime-shaped constant (FILL on TF 2.19's converter,
    # BROADCAST_TO on 2.21's), which TFLM prepares only with a constant shape
    refused_by = "HASHTABLE" if name == "penguins" else "FILL|BROADCAST_TO"
    with pytest.raises(micro.MicroRefused, match=refused_by):
        micro.tflm_interpreter(data, micro.ARENA_MAX)


@pytest.mark.skipif(shutil.which("g++") is None, reason="g++ is not installed")
def test_generated_sources_compile_with_gxx(micro_export):
    """model_data.cc and the glue compile as C++17 (main.cc needs the TFLM tree: not here)."""
    _, _, _, folder = micro_export
    for source in ("model_data.cc", "tfstudio_features.cc"):
        cmd = ["g++", "-std=c++17", "-Wall", "-Werror", "-c", source, "-o", "/dev/null"]
        built = subprocess.run(cmd, cwd=folder, capture_output=True, text=True)
        assert built.returncode == 0, built.stderr
