"""Compression beyond tables, and exporting a compressed variant (marked slow): a small CNN on
8x8 digit images (image_size 16) and a dense forecaster, through the CLI."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.conftest import tfstudio

pytestmark = pytest.mark.slow


def run_json(*args):
    out = tfstudio(*args, "--json")
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout)


def compress(trained, *args):
    """`tfstudio compress` of a (home, training payload) fixture's run, fine-tuning for one
    epoch: its report."""
    home, train = trained
    return run_json("compress", train["run_id"], *args, "--epochs", "1", "--home", str(home))


def digits_zip(per_class: int = 40) -> bytes:
    from PIL import Image
    from sklearn.datasets import load_digits

    digits = load_digits()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for label in (0, 1, 7):
            for i in np.where(digits.target == label)[0][:per_class]:
                pixels = (digits.images[i] * 255 / 16).astype("uint8")
                out = io.BytesIO()
                Image.fromarray(pixels).convert("RGB").save(out, "PNG")
                z.writestr(f"digits/{label}/{i}.png", out.getvalue())
    return buf.getvalue()


@pytest.fixture(scope="module")
def image_run(tmp_path_factory):
    home = tmp_path_factory.mktemp("digits-home")
    (home / "digits.zip").write_bytes(digits_zip())
    data = run_json("data", "import", str(home / "digits.zip"), "--home", str(home))
    train = run_json(
        "train", "--data", data["id"], "--image-size", "16", "--epochs", "4", "--home", str(home)
    )
    assert train["result"]["model"] == "cnn"
    return home, train


@pytest.fixture(scope="module")
def image_report(image_run):
    home, train = image_run
    report = compress(
        image_run, "--method", "int8,prune,pqat", "--sparsity", "0.5", "--schedule", "constant"
    )
    return home, train, report


def by_method(report):
    return {v["method"]: v for v in report["variants"]}


def test_image_model_quantizes_and_prunes(image_report):
    _, train, report = image_report
    base, v = report["baseline"], by_method(report)
    assert base["metric_name"] == "accuracy"
    assert base["metric"] == pytest.approx(train["test_metrics"]["accuracy"], abs=1e-6)
    for method in ("int8", "prune", "pqat"):
        assert "error" not in v[method], v[method]
    # the CNN's weights dominate its file: int8 of the network is far smaller than float
    assert v["int8"]["scope"] == "network" and "Resizing" in v["int8"]["note"]
    assert v["int8"]["size_bytes"] < 0.45 * base["size_bytes"]
    assert v["int8"]["metric"] >= base["metric"] - 0.1
    # constant schedule: the target sparsity from the first step, conv kernels included
    assert v["prune"]["schedule"] == "constant"
    assert v["prune"]["sparsity"] == pytest.approx(0.5, abs=0.02)
    assert v["prune"]["gzip_bytes"] < 0.8 * base["gzip_bytes"]
    # sparsity-preserving QAT keeps the zeros through quantization-aware fine-tuning
    assert v["pqat"]["sparsity"] == pytest.approx(0.5, abs=0.02)
    assert v["pqat"]["gzip_bytes"] < v["int8"]["gzip_bytes"]


def test_int8_image_variant_exports_with_float_preprocessing(image_report, tmp_path):
    home, _, report = image_report
    out = run_json(
        "export", report["run_id"], "--variant", "int8", "--format", "all", "--out",
        str(tmp_path), "--home", str(home),
    )  # fmt: skip
    assert out["variant"] == "int8" and out["formats"] == ["tflite", "micro"]
    tfl, micro = out["bundles"]["tflite"], out["bundles"]["micro"]
    assert tfl["ok"], out["bundles"]
    # image models are refused for TFLite Micro, with the reason (the glue is tables only)
    assert not micro["ok"] and "image models are not exported" in micro["error"]
    assert tfl["parity"]["same_file_as_report"] is True
    assert tfl["parity"]["agreement"] >= 0.9 and "chained" in tfl["parity"]
    with zipfile.ZipFile(tfl["bundle"]) as z:
        assert {"model.tflite", "preprocessing.tflite", "labels.txt"} <= set(z.namelist())
        meta = json.loads(z.read("metadata.json"))
        assert meta["chain"] == ["preprocessing.tflite", "model.tflite"]
        assert meta["compression"]["method"] == "int8"
        assert z.read("model.tflite") == Path(by_method(report)["int8"]["path"]).read_bytes()

    # the chain from the bundle alone gives the Keras model's classes on raw images
    from core.compression.report import TFLiteModel

    folder = tmp_path / "unzipped"
    zipfile.ZipFile(tfl["bundle"]).extractall(folder)
    raw = np.load(Path(home) / "runs" / report["source_run"] / "test_inputs.npz")["input"]
    features = TFLiteModel(folder / "preprocessing.tflite").predict(raw)
    probs = TFLiteModel(folder / "model.tflite").predict(features)
    assert probs.shape == (len(raw), 3)


def test_pruned_variant_exports_a_savedmodel_as_version_2(image_report, tmp_path):
    home, _, report = image_report
    out = run_json(
        "export", report["run_id"], "--variant", "prune", "--format", "savedmodel",
        "--version", "2", "--out", str(tmp_path), "--home", str(home),
    )  # fmt: skip
    bundle = out["bundles"]["savedmodel"]
    assert bundle["ok"] and bundle["parity"]["max_abs_diff"] < 1e-4, bundle
    assert out["version"] == 2
    with zipfile.ZipFile(bundle["bundle"]) as z:
        names = z.namelist()
        assert f"{out['serving_name']}/2/saved_model.pb" in names
        readme = z.read("README.md").decode()
    assert "version 2" in readme and "`prune` variant" in readme


@pytest.fixture(scope="module")
def series_run(tmp_path_factory):
    home = tmp_path_factory.mktemp("series-home")
    t = np.arange(360)
    pd.DataFrame(
        {
            "hour": pd.date_range("2026-01-01", periods=len(t), freq="h").astype(str),
            "load": 10
            + 3 * np.sin(2 * np.pi * t / 24)
            + np.random.default_rng(0).normal(0, 0.1, len(t)),
        }
    ).to_csv(home / "load.csv", index=False)
    data = run_json("data", "import", str(home / "load.csv"), "--home", str(home))
    train = run_json(
        "train", "--data", data["id"], "--target", "load", "--window", "12", "--horizon", "2",
        "--epochs", "3", "--home", str(home),
    )  # fmt: skip
    assert train["result"]["model"] == "dense-forecast"
    return home, train


def test_forecaster_quantizes_and_clusters_with_its_last_value_skip(series_run):
    _, train = series_run
    report = compress(
        series_run, "--method", "int8,cluster", "--clusters", "8", "--centroids", "linear"
    )
    base, v = report["baseline"], by_method(report)
    assert base["metric_name"] == "mae"
    assert base["metric"] == pytest.approx(train["test_metrics"]["mae"], rel=1e-4)
    for method in ("int8", "cluster"):
        assert "error" not in v[method], v[method]
        assert v[method]["metric"] <= 2 * base["metric"] + 0.1, v[method]
    assert v["int8"]["scope"] == "network"
    assert v["cluster"]["centroids"] == "linear" and v["cluster"]["distinct_values"] <= 8
    assert v["cluster"]["gzip_bytes"] < base["gzip_bytes"]
