"""Large tables (issue #20): stored statistics, prechecks that read no rows, streamed splits.

No TensorFlow here; the streamed training itself is in test_streaming_slow.py.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from core.data import streamed
from core.data.datasets import DatasetStore
from core.data.resolve import load_data
from core.data.stats import split_sizes
from core.data.tabular import class_labels, prepare_table
from core.errors import BadInput
from core.specs import TrainSpec
from core.training.families.tabular import contract_for
from core.training.precheck import check_train_spec, streaming
from core.training.split import split_rows, table_split


def table(n: int = 600, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"a": rng.normal(3, 2, n), "b": rng.integers(0, 50, n).astype(float)})
    frame.loc[::7, "a"] = np.nan
    frame["color"] = rng.choice(["red", "green", "blue"], n)
    frame["city"] = [f"c{i % 150}" for i in range(n)]  # many values: hashed
    frame["id"] = [f"row-{i}" for i in range(n)]  # an identifier: left out
    frame["label"] = np.where(frame["b"] > 20, "big", "small")
    frame.loc[5:8, "label"] = None  # rows without a target are dropped
    return frame


@pytest.fixture
def version(ws, tmp_path, monkeypatch):
    monkeypatch.setattr("core.data.datasets.ROW_GROUP_ROWS", 100)
    path = tmp_path / "big.csv"
    table().to_csv(path, index=False)
    return DatasetStore(ws).import_file(path, "big.csv")


def test_import_stores_parquet_row_groups_and_exact_statistics(ws, version):
    frame = table()
    parquet = version.folder / "data.parquet"
    assert pq.ParquetFile(parquet).num_row_groups == 6  # 600 rows in groups of 100
    stats = json.loads((version.folder / "stats.json").read_text())
    assert stats["rows"] == 600 and stats["row_groups"] == 6
    a = stats["columns"]["a"]
    assert (a["count"], a["missing"]) == (frame["a"].notna().sum(), frame["a"].isna().sum())
    assert a["mean"] == pytest.approx(frame["a"].mean(), rel=1e-12)
    assert a["var"] == pytest.approx(frame["a"].var(ddof=0), rel=1e-9)
    assert (a["min"], a["max"]) == (frame["a"].min(), frame["a"].max())
    assert a["integral"] is False and a["distinct"] == frame["a"].nunique()
    color = stats["columns"]["color"]
    assert dict(color["values"]) == frame["color"].value_counts().to_dict()
    assert color["distinct"] == 3 and color["distinct_exact"]
    assert stats["columns"]["label"]["missing"] == 4
    assert stats["columns"]["b"]["integral"] is True


def test_distinct_estimate_beyond_the_cap_is_close(tmp_path, monkeypatch):
    from core.data.stats import compute_stats

    monkeypatch.setattr("core.data.stats.VOCAB_CAP", 10)
    frame = pd.DataFrame({"s": [f"v{i % 5000}" for i in range(20_000)]})
    frame.to_parquet(tmp_path / "t.parquet", row_group_size=3000)
    col = compute_stats(tmp_path / "t.parquet")["columns"]["s"]
    assert not col["distinct_exact"] and "values" not in col
    assert 4000 < col["distinct"] < 6000  # k-minimum-values estimate of 5000, +-~3% typical


def test_precheck_of_a_large_version_reads_statistics_not_rows(ws, version, monkeypatch):
    spec = TrainSpec(data=version.id, target="label", validation_fraction=0.2, test_fraction=0.2)
    in_memory = check_train_spec(spec, ws)  # below the threshold: rows read as before
    monkeypatch.setenv("TFSTUDIO_STREAM_ABOVE_MB", "0")

    def no_rows(*args, **kwargs):
        raise AssertionError("the precheck read the rows")

    monkeypatch.setattr(DatasetStore, "read_frame", no_rows)
    monkeypatch.setattr(pq, "read_table", no_rows)
    monkeypatch.setattr(pd, "read_parquet", no_rows)
    planned = check_train_spec(spec, ws)
    assert planned.task == in_memory.task == "classification"
    assert (
        planned.split_sizes
        == in_memory.split_sizes
        == {
            "train": 357,
            "validation": 119,
            "test": 120,
        }
    )
    assert "4 row(s) with no 'label' value dropped" in planned.warnings
    assert any("checked from its stored statistics" in w for w in planned.warnings)
    with pytest.raises(BadInput, match="no column 'nope'"):
        check_train_spec(TrainSpec(data=version.id, target="nope"), ws)


@pytest.mark.parametrize("n", [10, 11, 99, 600, 12_345])
@pytest.mark.parametrize("fractions", [(0.2, 0.2), (0.1, 0.15), (0.45, 0.5), (0.33, 0.07)])
def test_split_sizes_from_counts_equal_the_real_split(n, fractions):
    frame = pd.DataFrame({"i": np.arange(n)})
    for time in (False, True):
        order = pd.Series(range(n)) if time else None
        try:
            real = {k: len(v) for k, v in split_rows(frame, *fractions, 0, None, order).items()}
        except BadInput:
            continue  # an empty part: refused in memory as well
        assert split_sizes(n, *fractions, time) == real


def test_fractions_that_leave_no_training_rows_are_refused():
    with pytest.raises(BadInput, match="leave some for training"):
        split_rows(pd.DataFrame({"i": range(100)}), 0.5, 0.5, 0)


def test_statistics_plan_matches_the_in_memory_table_checks(ws, version):
    loaded = load_data(version.id, ws)
    info = prepare_table(loaded.frame, "label", types=streamed._types(loaded.schema))
    stats = DatasetStore(ws).stats(version)
    plan = streamed.plan_table(stats, loaded.schema, "label")
    assert (
        (plan.task, plan.classes)
        == (info.task, info.classes)
        == ("classification", ["big", "small"])
    )
    assert (plan.numeric, plan.categorical, plan.hashed, plan.integer_categories) == (
        info.numeric,
        info.categorical,
        info.hashed,
        info.integer_categories,
    )
    assert set(plan.warnings) == set(info.warnings)
    assert plan.rows == len(info.frame) == 596


def test_streamed_split_is_the_in_memory_split(ws, version):
    """Same rows in each part, and the training split's statistics are what adapt() sees."""
    spec = TrainSpec(data=version.id, target="label", split="stratified", seed=7)
    loaded = load_data(version.id, ws)
    info = prepare_table(loaded.frame, "label", types=streamed._types(loaded.schema))
    parts = table_split(info.frame, spec, class_labels(info.frame["label"]), loaded.schema)
    stats = DatasetStore(ws).stats(version)
    parquet = version.folder / "data.parquet"
    codes, class_ids = streamed.split_parts(
        parquet, spec, "label", "classification", stats["columns"]["label"], loaded.schema
    )
    names = class_labels(loaded.frame["label"].dropna())
    assert (class_ids[loaded.frame["label"].notna()] == names.map({"big": 0, "small": 1})).all()
    assert (class_ids[loaded.frame["label"].isna()] == -1).all()
    kept = loaded.frame[loaded.frame["label"].notna()].reset_index(drop=True)
    for code, name in enumerate(streamed.PARTS):
        stored = loaded.frame[codes == code].sort_values("id")["id"].tolist()
        assert stored == sorted(parts[name]["id"]) and len(stored) == len(parts[name])
    assert len(kept) == sum(len(p) for p in parts.values())

    contract = contract_for(streamed.plan_table(stats, loaded.schema, "label"))
    got, test = streamed.train_statistics(parquet, codes, contract.features, "label")
    train = parts["train"]
    a = train["a"].to_numpy("float32")
    filled = np.where(np.isnan(a), np.nanmean(a), a)
    assert got["a"]["mean"] == pytest.approx(float(np.nanmean(a)), rel=1e-6)
    assert got["a"]["variance"] == pytest.approx(float(filled.var()), rel=1e-5)
    assert got["color"]["vocabulary"] == sorted(train["color"].unique())
    in_file_order = loaded.frame[codes == 2]["id"].head(streamed.TEST_HEAD)
    assert test["id"].tolist() == in_file_order.tolist()  # the first rows the stream serves


def time_column(kind: str) -> pd.Series:
    if kind == "reversed":  # 300 distinct days, newest first
        return pd.Series(pd.date_range("2020-01-01", periods=300, freq="D").astype(str)[::-1])
    days = pd.date_range("2020-01-01", periods=100, freq="D")
    when = pd.Series(np.random.default_rng(3).choice(days, 300)).dt.strftime("%Y-%m-%d")
    when[::17] = ""  # missing times
    if kind == "text":
        when = when.where(when == "", "on " + when)  # not a date the import can type
    return when


@pytest.mark.parametrize("kind", ["reversed", "timestamps", "text"])
def test_time_split_streams_the_same_rows(ws, tmp_path, monkeypatch, kind):
    """Stored timestamps are sorted as they are (no string per row), text times are parsed by
    the in-memory rule; either way the parts are the in-memory split's, ties in file order and
    missing times last, rows without a target left out."""
    monkeypatch.setattr("core.data.datasets.ROW_GROUP_ROWS", 64)
    frame = table(300)
    frame["when"] = time_column(kind)
    frame.loc[5::41, "label"] = np.nan  # rows without a target
    path = tmp_path / "times.csv"
    frame.to_csv(path, index=False)
    v = DatasetStore(ws).import_file(path, "times.csv")
    stored = pq.read_schema(v.folder / "data.parquet").field("when").type
    assert streamed._is_time(stored) == (kind != "text")
    spec = TrainSpec(data=v.id, target="label", split="time", time_column="when")
    loaded = load_data(v.id, ws)
    info = prepare_table(loaded.frame, "label", types=streamed._types(loaded.schema))
    parts = table_split(info.frame, spec, None, loaded.schema)
    stats = DatasetStore(ws).stats(v)
    codes, _ = streamed.split_parts(
        v.folder / "data.parquet", spec, "label", "classification", stats["columns"]["label"],
        loaded.schema,
    )  # fmt: skip
    assert (codes == -1).sum() == frame["label"].isna().sum()
    for code, name in enumerate(streamed.PARTS):
        assert sorted(loaded.frame[codes == code]["id"]) == sorted(parts[name]["id"])


def test_mixed_type_large_table_is_read_whole_and_refused_clearly(ws, tmp_path, monkeypatch):
    """Numbers stored as text cannot be streamed: the table is read into memory (said), and the
    usual check names the bad values instead of a traceback."""
    frame = table(200)
    frame["b"] = frame["b"].astype(str)
    frame.loc[150, "b"] = "n/a?"
    path = tmp_path / "mixed.csv"
    frame.to_csv(path, index=False)
    v = DatasetStore(ws).import_file(path, "mixed.csv")
    monkeypatch.setenv("TFSTUDIO_STREAM_ABOVE_MB", "0")
    loaded = load_data(v.id, ws, stream_large=True)
    assert loaded.stream is not None and len(loaded.frame) == 0
    full = streaming(TrainSpec(data=v.id, target="label"), "classification", loaded, ws)
    assert full.stream is None and len(full.frame) == 200
    assert "numbers stored as text" in full.notes[-1]
    with pytest.raises(BadInput, match="column 'b' is numeric but 1 value"):
        check_train_spec(TrainSpec(data=v.id, target="label"), ws)


def test_a_version_stored_before_statistics_gets_them_on_first_use(ws, version):
    (version.folder / "stats.json").unlink()
    stats = DatasetStore(ws).stats(version)
    assert stats["rows"] == 600 and (version.folder / "stats.json").is_file()
    assert stats == json.loads((version.folder / "stats.json").read_text())
