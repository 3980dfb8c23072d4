"""Large tables through real TensorFlow (issue #20): preprocessing set from statistics equals
adapt(), and a streamed run trains on the same split as the in-memory path (marked slow)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from core.data import streamed
from core.data.datasets import DatasetStore
from core.runs.store import RunStore
from core.specs import TrainSpec
from core.training.features import FeatureSpec, to_inputs
from core.training.precheck import check_train_spec
from tests.conftest import tfstudio

pytestmark = pytest.mark.slow


def test_preprocessing_from_streamed_statistics_equals_adapt(tmp_path):
    from core.training.preprocessing import build_preprocessing_model

    rng = np.random.default_rng(1)
    n = 5_000
    frame = pd.DataFrame({"x": rng.normal(10, 3, n), "z": rng.exponential(2, n)})
    frame.loc[::9, "x"] = np.nan
    frame["color"] = rng.choice(["red", "green", "blue", None], n)
    frame["code"] = rng.integers(1, 5, n)
    frame["y"] = 0
    frame.to_parquet(tmp_path / "t.parquet", row_group_size=700)
    features = [
        FeatureSpec("x", "x", "float32"),
        FeatureSpec("z", "z", "float32_binned"),
        FeatureSpec("color", "color", "string"),
        FeatureSpec("code", "code", "int64"),
    ]
    parts = np.zeros(n, np.int8)
    stats, _ = streamed.train_statistics(tmp_path / "t.parquet", parts, features, "y")
    adapted = build_preprocessing_model(frame, features)
    given = build_preprocessing_model(None, features, stats)
    inputs = to_inputs(frame, features)
    a = np.asarray(adapted.predict(inputs, verbose=0))
    b = np.asarray(given.predict(inputs, verbose=0))
    assert a.shape == b.shape == (n, 1 + 10 + 4 + 5)
    assert np.max(np.abs(a[:, 0] - b[:, 0])) < 1e-4  # Normalization: mean and variance
    assert np.mean(a[:, 0]) == pytest.approx(0, abs=1e-5)
    assert (a[:, 11:] == b[:, 11:]).all()  # lookups: same vocabulary, same order
    # quantile bins from the whole sample (all 5,000 rows fit in SAMPLE_ROWS): the same bins
    assert (a[:, 1:11] == b[:, 1:11]).mean() > 0.999


def test_streamed_run_of_an_old_format_version_trains_on_the_in_memory_split(
    ws, tmp_path, monkeypatch
):
    rng = np.random.default_rng(0)
    n = 2_000
    frame = pd.DataFrame(rng.normal(size=(n, 4)), columns=list("abcd"))
    frame["kind"] = rng.choice(["p", "q"], n)
    frame["label"] = np.where(frame.a + frame.b + (frame.kind == "p") > 0.5, "yes", "no")
    path = tmp_path / "old.csv"
    frame.to_csv(path, index=False)
    v = DatasetStore(ws).import_file(path, "old.csv")
    # As a version was stored before #20: one row group, no statistics.
    pd.read_parquet(v.folder / "data.parquet").to_parquet(v.folder / "data.parquet", index=False)
    (v.folder / "stats.json").unlink()
    path.unlink()  # the source file is gone: only the stored version is read
    expected = check_train_spec(TrainSpec(data=v.id, target="label"), ws).split_sizes
    monkeypatch.setenv("TFSTUDIO_STREAM_ABOVE_MB", "0")
    out = tfstudio("train", "--data", v.id, "--target", "label", "--epochs", "4",
                   "--batch-size", "64", "--json", "--home", str(ws.root))  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    payload = json.loads(out.stdout)
    assert payload["status"] == "SUCCEEDED", payload.get("error")
    assert payload["result"]["rows"] == expected == {"train": 1200, "validation": 400, "test": 400}
    assert payload["test_metrics"]["accuracy"] >= 0.85
    assert payload["result"]["tflite_parity"]["max_abs_diff"] < 1e-4
    events = [e.message for e in RunStore(ws.db_path).get_events(payload["run_id"])]
    assert any(
        "streaming 2,000 rows" in e and "statistics of the 1,200 training rows" in e for e in events
    ), events
    assert (v.folder / "stats.json").is_file()  # computed on first use, kept


def test_a_table_imported_a_block_at_a_time_trains_streamed(ws, tmp_path, monkeypatch):
    """The one-pass import's Parquet (Arrow-written: nullable whole numbers, booleans, masked
    markers) is what a streamed run reads: import, precheck and train through the CLI."""
    rng = np.random.default_rng(1)
    n = 3_000
    frame = pd.DataFrame(rng.normal(size=(n, 3)).round(3), columns=list("abc"))
    frame["count"] = rng.integers(0, 9, n).astype(object)
    frame.loc[::50, "count"] = None  # whole numbers with missing values
    frame["kind"] = rng.choice(["p", "q", " NA "], n)
    frame["flag"] = rng.choice(["true", "false"], n)
    frame["label"] = np.where(frame.a + frame.b > 0, "yes", "no")
    path = tmp_path / "blocks.csv"
    frame.to_csv(path, index=False)
    monkeypatch.setenv("TFSTUDIO_STREAM_ABOVE_MB", "0")
    out = tfstudio("data", "import", str(path), "--json", "--home", str(ws.root))
    assert out.returncode == 0, out.stderr[-2000:]
    v = DatasetStore(ws).list_versions()[0]
    assert "read a block at a time" in v.notes[0]
    out = tfstudio("train", "--data", v.id, "--target", "label", "--epochs", "3",
                   "--batch-size", "64", "--json", "--home", str(ws.root))  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    payload = json.loads(out.stdout)
    assert payload["status"] == "SUCCEEDED", payload.get("error")
    assert sum(payload["result"]["rows"].values()) == n
    assert payload["test_metrics"]["accuracy"] >= 0.85
    events = [e.message for e in RunStore(ws.db_path).get_events(payload["run_id"])]
    assert any("streaming 3,000 rows" in e for e in events), events
