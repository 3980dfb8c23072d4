"""The streaming CSV import (issue #20): a block at a time into Parquet, the same table as the
whole-file reader stores, a profile from a sample plus exact statistics, and every bad big file
a clear message. Small files are streamed here by setting the streaming size to 0 and shrinking
the blocks, row groups and sample, so each test crosses many blocks."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from core.data import import_stream, profile_stored
from core.data.datasets import DatasetStore
from core.data.sources import ReadOptions
from core.errors import BadInput
from core.workspace import Workspace

ROWS = 3_000


@pytest.fixture
def small_blocks(monkeypatch):
    monkeypatch.setattr(import_stream, "BLOCK_BYTES", 8 << 10)
    monkeypatch.setattr(import_stream, "SAMPLE_BLOCK_BYTES", 16 << 10)
    monkeypatch.setattr(import_stream, "ROW_GROUP_ROWS", 500)
    monkeypatch.setattr(profile_stored, "SAMPLE_ROWS", 1_000)


def frame(n: int = ROWS, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    f = pd.DataFrame(
        {
            "x": rng.normal(size=n).round(4),
            "count": rng.integers(0, 40, n),
            "label": rng.integers(0, 3, n),
            "color": rng.choice(["red", "green", "blue", " NA ", "", "n/a"], n),
            "flag": rng.choice(["true", "false"], n),
            "when": pd.date_range("2021-03-01", periods=n, freq="h").astype(str),
        }
    )
    f.loc[rng.choice(n, 40, replace=False), "x"] = np.nan
    return f


def import_both(tmp_path, monkeypatch, path, name="data.csv", **kwargs):
    """The same file imported whole and streamed, into two workspaces."""
    out = {}
    for mode, limit in (("whole", "100000"), ("stream", "0")):
        monkeypatch.setenv("TFSTUDIO_STREAM_ABOVE_MB", limit)
        store = DatasetStore(Workspace.resolve(tmp_path / mode))
        version = store.import_file(path, name, **kwargs)
        out[mode] = (store, version, json.loads((version.folder / "manifest.json").read_text()))
    return out


def test_streamed_import_stores_the_table_the_whole_reader_stores(
    tmp_path, monkeypatch, small_blocks
):
    path = tmp_path / "data.csv"
    frame().to_csv(path, index=False)
    out = import_both(tmp_path, monkeypatch, path, target="label")
    (ws_, vw, mw), (ss, vs, ms) = out["whole"], out["stream"]
    assert pq.ParquetFile(vs.folder / "data.parquet").num_row_groups == ROWS // 500
    whole, streamed = (pd.read_parquet(v.folder / "data.parquet") for v in (vw, vs))
    pd.testing.assert_frame_equal(whole, streamed)
    assert streamed["color"].isna().sum() == whole["color"].isna().sum() > ROWS // 3
    assert mw["read"] == ms["read"] and vs.rows == vw.rows == ROWS
    assert ms["notes"] == [
        "read a block at a time; profiled on 1,000 of 3,000 rows, counts and ranges exact"
    ]
    pw, ps = ws_.profile(vw), ss.profile(vs)
    assert ps.sample == {"rows": 1_000, "of": ROWS} and pw.sample == {}
    for cw, cs in zip(pw.columns, ps.columns, strict=True):
        assert (cs.name, cs.type, cs.count, cs.missing) == (cw.name, cw.type, cw.count, cw.missing)
        if cw.type in ("categorical", "boolean", "integer"):
            assert cs.distinct == cw.distinct
            assert sorted(cs.top) == sorted(cw.top)
        for key in ("min", "max", "mean", "std"):
            if key in cw.stats:
                assert cs.stats[key] == pytest.approx(cw.stats[key], rel=1e-9)
    assert ps.class_balance == pw.class_balance and sum(ps.class_balance.values()) == ROWS
    assert ps.time_column == pw.time_column == "when" and ps.time == pw.time
    assert ps.issues == pw.issues


def test_decimal_comma_semicolon_file_streams_with_its_number_format(
    tmp_path, monkeypatch, small_blocks
):
    f = frame()
    path = tmp_path / "eu.csv"
    f.to_csv(path, index=False, sep=";", decimal=",")
    out = import_both(tmp_path, monkeypatch, path)
    (_, vw, _), (ss, vs, ms) = out["whole"], out["stream"]
    assert ms["read"]["delimiter"] == ";" and ms["read"]["decimal"] == ","
    streamed = pd.read_parquet(vs.folder / "data.parquet")
    assert streamed["x"].dtype == "float64"
    np.testing.assert_allclose(streamed["x"], f["x"])
    pd.testing.assert_frame_equal(pd.read_parquet(vw.folder / "data.parquet"), streamed)
    assert ss.profile(vs).column("x").stats["max"] == pytest.approx(f["x"].max())


def test_whole_numbers_that_meet_a_decimal_late_are_widened_not_refused(
    tmp_path, monkeypatch, small_blocks
):
    f = frame()
    f["count"] = f["count"].astype(object)
    f.loc[ROWS - 3, "count"] = 2.5  # long after the block the types are inferred from
    path = tmp_path / "late.csv"
    f.to_csv(path, index=False)
    monkeypatch.setenv("TFSTUDIO_STREAM_ABOVE_MB", "0")
    store = DatasetStore(Workspace.resolve(tmp_path / "ws"))
    v = store.import_file(path, "late.csv")
    assert "read a block at a time" in v.notes[0]
    stored = pd.read_parquet(v.folder / "data.parquet")
    assert stored["count"].dtype == "float64" and stored["count"].iloc[ROWS - 3] == 2.5
    # the sample may not contain the decimal; the statistics, over every row, decide the type
    assert store.profile(v).column("count").type == "numeric"


def test_text_late_in_a_numeric_column_falls_back_to_the_whole_reader_and_is_named(
    tmp_path, monkeypatch, small_blocks
):
    """The issue's crash: a large mixed-type file. It is read whole (nothing half-written is
    kept) and the profile names the bad value; too large to read whole, a clear refusal."""
    f = frame()
    f["count"] = f["count"].astype(object)
    f.loc[ROWS - 3, "count"] = "seven"
    path = tmp_path / "mixed.csv"
    f.to_csv(path, index=False)
    monkeypatch.setenv("TFSTUDIO_STREAM_ABOVE_MB", "0")
    store = DatasetStore(Workspace.resolve(tmp_path / "ws"))
    v = store.import_file(path, "mixed.csv")
    assert not any("block at a time" in n for n in v.notes)
    assert "could not be read as numbers, e.g. 'seven'" in " ".join(store.profile(v).issues)
    monkeypatch.setenv("TFSTUDIO_MAX_TABLE_MB", "0.01")
    other = DatasetStore(Workspace.resolve(tmp_path / "ws2"))
    with pytest.raises(BadInput, match="more than this machine can read into memory"):
        other.import_file(path, "mixed.csv")
    assert other.list_versions() == []
    assert not list((tmp_path / "ws2").rglob("*.parquet"))


def test_a_row_with_too_many_fields_is_named_or_skipped_and_counted(
    tmp_path, monkeypatch, small_blocks
):
    lines = frame().to_csv(index=False).splitlines()
    lines[ROWS - 10] += ",extra"
    path = tmp_path / "ragged.csv"
    path.write_text("\n".join(lines) + "\n")
    monkeypatch.setenv("TFSTUDIO_STREAM_ABOVE_MB", "0")
    store = DatasetStore(Workspace.resolve(tmp_path / "ws"))
    with pytest.raises(BadInput, match="has a row with 7 fields where the header has 6"):
        store.import_file(path, "ragged.csv")
    assert store.list_versions() == []
    v = store.import_file(path, "ragged.csv", options=ReadOptions(skip_bad_rows=True))
    assert v.rows == ROWS - 1
    assert v.notes[0] == "skipped 1 row(s) with the wrong number of fields"


def test_a_delimiter_ending_every_line_makes_no_column_unless_it_holds_values(
    tmp_path, monkeypatch, small_blocks
):
    text = frame().to_csv(index=False, lineterminator=",\n")
    path = tmp_path / "trailing.csv"
    path.write_text(text)
    monkeypatch.setenv("TFSTUDIO_STREAM_ABOVE_MB", "0")
    store = DatasetStore(Workspace.resolve(tmp_path / "ws"))
    v = store.import_file(path, "trailing.csv")
    assert v.columns == ["x", "count", "label", "color", "flag", "when"]
    assert "read a block at a time" in v.notes[0]
    lines = text.splitlines()
    lines[ROWS - 2] += "late"  # a value in the unnamed column: the whole reader keeps it
    path.write_text("\n".join(lines) + "\n")
    v2 = store.import_file(path, "trailing.csv")
    assert len(v2.columns) == 7 and not any("block at a time" in n for n in v2.notes)


def test_bad_big_files_get_the_whole_readers_messages(tmp_path, monkeypatch, small_blocks):
    monkeypatch.setenv("TFSTUDIO_STREAM_ABOVE_MB", "0")
    store = DatasetStore(Workspace.resolve(tmp_path / "ws"))
    header_only = tmp_path / "header.csv"
    header_only.write_text("a,b,c\n")
    with pytest.raises(BadInput, match="has a header row but no data rows"):
        store.import_file(header_only, "header.csv")
    dupes = tmp_path / "dupes.csv"
    dupes.write_text("a,b,a \n" + "1,2,3\n" * 2_000)
    with pytest.raises(BadInput, match=r"duplicate column names \(a\)"):
        store.import_file(dupes, "dupes.csv")
    latin = tmp_path / "latin.csv"  # clean UTF-8 for the sniffed megabyte, then a Latin-1 byte
    latin.write_bytes(b"name,x\n" + b"abc,1\n" * 200_000 + b"caf\xe9,2\n")
    v = store.import_file(latin, "latin.csv")
    assert v.read["encoding"] == "latin-1"
    assert pd.read_parquet(v.folder / "data.parquet")["name"].iloc[-1] == "café"
    assert store.list_versions() == [v]


def test_correcting_a_sampled_versions_types_never_reads_it_whole(
    tmp_path, monkeypatch, small_blocks
):
    path = tmp_path / "data.csv"
    frame().to_csv(path, index=False)
    monkeypatch.setenv("TFSTUDIO_STREAM_ABOVE_MB", "0")
    store = DatasetStore(Workspace.resolve(tmp_path / "ws"))
    v = store.import_file(path, "data.csv")

    def refuse(*a, **k):
        raise AssertionError("read whole")

    monkeypatch.setattr(store, "read_frame", refuse)
    prof = store.update_schema(v, types={"count": "categorical"}, target="label")
    count = prof.column("count")
    assert count.type == "categorical" and count.distinct == 40
    exact = frame()["count"].astype(str).value_counts()
    assert dict(count.top) == {k: int(exact[k]) for k, _ in count.top} and len(count.top) == 20
    assert prof.sample["of"] == ROWS
    assert sum(prof.class_balance.values()) == ROWS


def test_a_file_larger_than_memory_allows_is_previewed_from_its_head_and_imported(
    tmp_path, monkeypatch, small_blocks
):
    """The whole reader refuses a file over max_table_bytes(); the streaming import takes it,
    and the preview reads only its head, saying so."""
    from core.data.preview import preview_import

    monkeypatch.setattr("core.data.preview.HEAD_BYTES", 32 << 10)
    path = tmp_path / "data.csv"
    frame().to_csv(path, index=False)
    monkeypatch.setenv("TFSTUDIO_MAX_TABLE_MB", "0.05")
    monkeypatch.setenv("TFSTUDIO_STREAM_ABOVE_MB", "0")
    preview = preview_import(path, "data.csv")
    assert 0 < preview.rows < ROWS and preview.file_bytes == path.stat().st_size
    assert preview.lines()[0].startswith(f"data.csv: timeseries, first {preview.rows:,} rows read")
    assert "the import reads the whole file a block at a time" in preview.notes[-1]
    assert [c["name"] for c in preview.columns] == list(frame().columns)
    store = DatasetStore(Workspace.resolve(tmp_path / "ws"))
    v = store.import_file(path, "data.csv")
    assert v.rows == ROWS
    sample = store.sample_frame(v)
    assert len(sample) == 1_000 and sample["when"].is_monotonic_increasing
    monkeypatch.setenv("TFSTUDIO_STREAM_ABOVE_MB", "100000")
    with pytest.raises(BadInput, match="more than this machine can read into memory"):
        DatasetStore(Workspace.resolve(tmp_path / "ws2")).import_file(path, "data.csv")


def test_tasks_that_do_not_stream_read_a_bounded_sample_and_say_so(
    tmp_path, monkeypatch, small_blocks
):
    """A search, AutoML, profiling, compression and model comparison hold at most
    bounded_rows() of a large table: an even sample of a table, the last rows of a series."""
    from core.data.resolve import load_data

    path = tmp_path / "data.csv"
    frame().to_csv(path, index=False)
    monkeypatch.setenv("TFSTUDIO_STREAM_ABOVE_MB", "0")
    monkeypatch.setenv("TFSTUDIO_BOUNDED_ROWS", "500")
    ws = Workspace.resolve(tmp_path / "ws")
    store = DatasetStore(ws)
    series = store.import_file(path, "data.csv")
    table = store.import_file(path, "data.csv", name="tab", kind="table")
    assert (series.kind, table.kind) == ("timeseries", "table")
    loaded = load_data(series.id, ws, bounded=True)
    assert len(loaded.frame) == 500
    assert loaded.frame["when"].astype(str).tolist() == frame()["when"].tail(500).tolist()
    assert loaded.notes[0] == (
        f"{series.id} is large: this task reads the last 500 of its 3,000 rows "
        "(training streams every row)"
    )
    sampled = load_data(table.id, ws, bounded=True)
    assert len(sampled.frame) == 500 and sampled.frame["when"].is_monotonic_increasing
    assert str(sampled.frame["when"].iloc[0]) == frame()["when"].iloc[0]
    assert "an even sample of 500 of its 3,000 rows" in sampled.notes[0]
    assert len(load_data(table.id, ws).frame) == ROWS  # unbounded callers are unchanged
    monkeypatch.setenv("TFSTUDIO_BOUNDED_ROWS", "5000")
    assert len(load_data(table.id, ws, bounded=True).frame) == ROWS
