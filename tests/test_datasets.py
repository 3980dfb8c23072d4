"""DatasetStore: content-hashed versions, atomic imports, kinds and schema edits."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from core.data.datasets import DatasetStore
from core.errors import BadInput, NotFound

TABLE = b"a,b,label\n" + b"".join(
    b"%d,%d,%s\n" % (i, i * 2, b"xy"[i % 2 : i % 2 + 1]) for i in range(30)
)
DATES = pd.date_range("2024-01-01", periods=40, freq="D")


@pytest.fixture
def datasets(ws) -> DatasetStore:
    return DatasetStore(ws)


def entries_under(datasets: DatasetStore) -> list[str]:
    """Everything in the datasets folder, hidden entries included."""
    return sorted(p.relative_to(datasets.root).as_posix() for p in datasets.root.rglob("*"))


def series_csv(dates) -> bytes:
    return ("date,value\n" + "".join(f"{t.date()},{i}\n" for i, t in enumerate(dates))).encode()


def make_zip(entries: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return buf.getvalue()


_rng = np.random.default_rng(0)


def image(mode: str, size: tuple[int, int], fmt: str = "PNG") -> bytes:
    w, h = size
    rgb = Image.fromarray(_rng.integers(0, 256, (h, w, 3), dtype=np.uint8))
    img = rgb.quantize(16) if mode == "P" else rgb.convert(mode)
    buf = io.BytesIO()
    img.save(buf, format=fmt)
    return buf.getvalue()


# ------------------------------------------------------------------------------ versions


def test_import_writes_version_1_with_hash_and_files(datasets):
    v = datasets.import_file(TABLE, "my data.csv")
    assert (v.id, v.name, v.version, v.kind) == ("my-data@v1", "my-data", 1, "table")
    assert v.sha256 == hashlib.sha256(TABLE).hexdigest()
    assert (v.rows, v.columns, v.source) == (30, ["a", "b", "label"], "my data.csv")
    assert {k: v.read[k] for k in ("format", "delimiter", "encoding", "decimal")} == {
        "format": "csv",
        "delimiter": ",",
        "encoding": "utf-8",
        "decimal": ".",
    }
    assert v.read["skipped_rows"] == 0 and v.read["thousands"] is None
    assert v.folder == datasets.root / "my-data" / "v1"
    assert sorted(p.name for p in v.folder.iterdir()) == [
        "data.parquet",
        "manifest.json",
        "profile.json",
        "schema.json",
        "stats.json",
    ]
    manifest = json.loads((v.folder / "manifest.json").read_text())
    assert manifest["sha256"] == v.sha256 and manifest["rows"] == 30
    assert json.loads((v.folder / "schema.json").read_text()) == {
        "kind": "table",
        "target": None,
        "time_column": None,
        "columns": [
            {"name": "a", "type": "integer"},
            {"name": "b", "type": "integer"},
            {"name": "label", "type": "categorical"},
        ],
        "schema_version": 1,
    }
    assert json.loads((v.folder / "profile.json").read_text())["rows"] == 30
    frame = pd.read_parquet(v.folder / "data.parquet")
    assert frame["a"].tolist() == list(range(30)) and frame["label"].tolist()[:2] == ["x", "y"]


def test_import_from_a_path_hashes_the_file(datasets, tmp_path):
    path = tmp_path / "table.csv"
    path.write_bytes(TABLE)
    v = datasets.import_file(path, path.name)
    assert v.id == "table@v1" and v.sha256 == hashlib.sha256(TABLE).hexdigest()


def test_identical_bytes_return_the_same_version(datasets):
    first = datasets.import_file(TABLE, "t.csv", name="sales")
    again = datasets.import_file(TABLE, "renamed.csv", name="sales")
    assert again.id == first.id == "sales@v1"
    assert again.created_at == first.created_at
    assert [v.id for v in datasets.list_versions()] == ["sales@v1"]


def test_changed_bytes_make_version_2_and_lookups(datasets):
    v1 = datasets.import_file(TABLE, "t.csv", name="sales")
    v2 = datasets.import_file(TABLE + b"99,1,x\n", "t.csv", name="sales")
    assert (v2.id, v2.rows) == ("sales@v2", 31)
    assert v2.sha256 != v1.sha256
    assert [v.id for v in datasets.list_versions("sales")] == ["sales@v1", "sales@v2"]
    assert datasets.get("sales").id == "sales@v2"
    assert datasets.get("sales@v1").id == "sales@v1"
    assert datasets.get("sales@1").id == "sales@v1"
    assert datasets.get(" sales@v2 ").rows == 31
    assert datasets.is_ref("sales@v2") and not datasets.is_ref("sales@v3")


def test_unknown_dataset_is_not_found_and_lists_datasets(datasets):
    datasets.import_file(TABLE, "t.csv", name="sales")
    with pytest.raises(NotFound, match=r"no dataset 'nope'; datasets: sales@v1"):
        datasets.get("nope")
    with pytest.raises(NotFound, match=r"no dataset 'sales@v7'; datasets: sales@v1"):
        datasets.get("sales@v7")
    with pytest.raises(NotFound, match="is not a dataset id"):
        datasets.get("sales@latest")


def test_unknown_dataset_in_an_empty_workspace(datasets):
    with pytest.raises(NotFound, match="datasets: none yet"):
        datasets.get("anything")


def test_unknown_target_is_refused_with_the_columns(datasets):
    with pytest.raises(BadInput, match=r"no column 'price'; columns are: a, b, label"):
        datasets.import_file(TABLE, "t.csv", target="price")
    assert entries_under(datasets) == []


# ------------------------------------------------------------------------------ failed imports


def wide_csv() -> bytes:
    return (
        ",".join(f"c{i}" for i in range(10_000)) + "\n" + ",".join("1" * 10_000) + "\n"
    ).encode()


FAILED_IMPORTS = {
    "empty.csv": (lambda: b"", "is empty"),
    "binary.csv": (lambda: b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" * 40, "not a text file"),
    "ragged.csv": (lambda: b"a,b,c\n1,2,3\n4,5\n", "2 fields where the header has 3"),
    "wide.csv": (wide_csv, "10,000 columns"),
    "slip.zip": (
        lambda: make_zip({"cats/a.png": image("RGB", (4, 4)), "../../evil.png": b"x"}),
        "outside the dataset folder",
    ),
    "bomb.zip": (lambda: make_zip({"cats/a.png": bytes(20 * 1024 * 1024)}), "zip bomb"),
    "noimages.zip": (lambda: make_zip({"readme.txt": b"hello"}), "no PNG or JPEG images"),
}


@pytest.mark.parametrize("filename", sorted(FAILED_IMPORTS))
def test_failed_import_leaves_nothing_behind(datasets, filename):
    build, message = FAILED_IMPORTS[filename]
    with pytest.raises(BadInput, match=message):
        datasets.import_file(build(), filename)
    assert entries_under(datasets) == []  # no dataset folder, no hidden .tmp-* folder
    assert datasets.list_versions() == []


def test_failed_import_of_a_new_version_keeps_the_old_one(datasets):
    v1 = datasets.import_file(TABLE, "t.csv", name="sales")
    before = entries_under(datasets)
    with pytest.raises(BadInput):
        datasets.import_file(b"a,b,c\n1,2,3\n4,5\n", "t.csv", name="sales")
    assert entries_under(datasets) == before
    assert [v.id for v in datasets.list_versions()] == [v1.id]


def test_unknown_kind_and_images_from_a_table_are_refused(datasets):
    with pytest.raises(BadInput, match="unknown dataset kind 'video'"):
        datasets.import_file(TABLE, "t.csv", kind="video")
    with pytest.raises(BadInput, match=r"t\.csv is not a zip archive"):
        datasets.import_file(TABLE, "t.csv", kind="images")
    with pytest.raises(BadInput, match="a time series needs a time column"):
        datasets.import_file(TABLE, "t.csv", kind="timeseries")
    assert entries_under(datasets) == []


# ------------------------------------------------------------------------------ kinds


def test_sorted_date_column_makes_a_time_series(datasets):
    v = datasets.import_file(series_csv(DATES), "daily.csv")
    assert v.kind == "timeseries"
    schema = datasets.schema(v)
    assert schema["kind"] == "timeseries" and schema["time_column"] == "date"
    prof = datasets.profile(v)
    assert prof.time_column == "date"
    assert prof.time["step_seconds"] == 86400.0 and prof.time["step"] == "1 day"
    assert prof.time["gap_count"] == 0 and prof.time["sorted"] is True
    assert prof.issues == []


def test_time_column_that_does_not_parse_is_refused(datasets):
    raw = b"when,value\n2024-01-01,1\n2024-01-02,2\nnot a date,3\n2024-01-04,4\n"
    with pytest.raises(BadInput) as info:
        datasets.import_file(raw, "bad.csv", time_column="when")
    message = str(info.value)
    assert "the time column 'when' does not parse as dates/times" in message
    assert "'not a date'" in message and "(line 4)" in message
    with pytest.raises(BadInput, match=r"no column 'nope' to use as time; columns are: when"):
        datasets.import_file(raw, "bad.csv", time_column="nope")
    assert entries_under(datasets) == []


def test_gaps_in_a_time_series_are_reported(datasets):
    dates = list(DATES[:10]) + list(DATES[15:30])  # 5 days missing after Jan 10
    v = datasets.import_file(series_csv(dates), "gappy.csv")
    prof = datasets.profile(v)
    assert v.kind == "timeseries"
    assert prof.time["gap_count"] == 1
    assert prof.time["gaps"] == [
        {"after": "2024-01-10 00:00:00", "before": "2024-01-16 00:00:00", "missing_steps": 5}
    ]
    step = prof.time["step"]
    assert prof.time["step_seconds"] == 86400.0
    assert f"the time column 'date' has 1 gap(s) (step {step})" in prof.issues


def test_irregular_time_steps_are_reported(datasets):
    minutes = np.cumsum(np.r_[0, np.where(np.arange(59) % 3 == 0, 90, 60)])
    times = pd.Timestamp("2024-01-01") + pd.to_timedelta(minutes, unit="min")
    raw = "time,value\n" + "".join(f"{t:%Y-%m-%d %H:%M:%S},{i}\n" for i, t in enumerate(times))
    v = datasets.import_file(raw.encode(), "irregular.csv")
    prof = datasets.profile(v)
    assert (prof.time["step"], prof.time["step_seconds"]) == ("1 hour", 3600.0)
    assert prof.time["irregular_fraction"] == pytest.approx(20 / 59)
    assert "time steps in 'time' are irregular (34% differ from the usual step)" in prof.issues


def test_free_text_column_makes_a_text_dataset(datasets):
    rows = "".join(
        f'"review {i}: the quick brown fox jumps over the lazy dog, then sleeps",{"pn"[i % 2]}\n'
        for i in range(30)
    )
    v = datasets.import_file(("review,label\n" + rows).encode(), "reviews.csv")
    assert v.kind == "text"
    types = {c["name"]: c["type"] for c in datasets.schema(v)["columns"]}
    assert types == {"review": "text", "label": "categorical"}
    assert datasets.profile(v).column("review").stats["max_length"] > 30


def test_image_zip_makes_an_image_dataset(datasets):
    raw = make_zip(
        {
            "pets/cats/a.png": image("RGB", (8, 6)),
            "pets/cats/b.jpg": image("L", (10, 12), "JPEG"),
            "pets/dogs/c.png": image("RGBA", (5, 5)),
            "pets/dogs/d.png": image("P", (7, 3)),
            "pets/dogs/broken.png": b"\x89PNG\r\n\x1a\nnot really an image",
            "__MACOSX/pets/cats/._a.png": b"\x00\x05\x16\x07resource fork",
            "pets/.DS_Store": b"junk",
        }
    )
    v = datasets.import_file(raw, "pets.zip")
    assert (v.id, v.kind, v.rows) == ("pets@v1", "images", 4)
    assert v.read == {"format": "zip", "classes": ["cats", "dogs"], "skipped": 1, "ignored": 2}
    assert v.notes == ["skipped 1 unreadable image(s)", "ignored 2 non-image or system file(s)"]
    skipped = json.loads((v.folder / "skipped.json").read_text())
    assert [entry for entry, _ in skipped] == ["pets/dogs/broken.png"]
    index = datasets.read_frame(v)
    sizes = {
        r.source_entry: (r.label, r.width, r.height, r.source_mode) for r in index.itertuples()
    }
    assert sizes == {
        "pets/cats/a.png": ("cats", 8, 6, "RGB"),
        "pets/cats/b.jpg": ("cats", 10, 12, "L"),
        "pets/dogs/c.png": ("dogs", 5, 5, "RGBA"),
        "pets/dogs/d.png": ("dogs", 7, 3, "P"),
    }
    for row in index.itertuples():
        with Image.open(v.folder / row.path) as img:
            assert (img.format, img.mode, img.size) == ("PNG", "RGB", (row.width, row.height))
    schema = datasets.schema(v)
    assert schema["kind"] == "images" and schema["target"] == "label"
    assert datasets.profile(v).class_balance == {"cats": 2, "dogs": 2}


# ------------------------------------------------------------------------------ schema edits


def test_update_schema_rewrites_schema_and_profile_not_data(datasets):
    raw = b"a,grade,label\n" + b"".join(
        b"%d,%d,%s\n" % (i, i % 3 + 1, b"xy"[i % 2 : i % 2 + 1]) for i in range(30)
    )
    v = datasets.import_file(raw, "grades.csv")
    data_before = (v.folder / "data.parquet").read_bytes()
    assert datasets.profile(v).class_balance == {}
    assert datasets.profile(v).column("grade").type == "integer"

    prof = datasets.update_schema(v, types={"grade": "categorical"}, target="label")

    schema = json.loads((v.folder / "schema.json").read_text())
    assert schema["target"] == "label" and schema["kind"] == "table"
    assert {"name": "grade", "type": "categorical"} in schema["columns"]
    saved = json.loads((v.folder / "profile.json").read_text())
    assert saved["class_balance"] == {"x": 15, "y": 15} == prof.class_balance
    grade = next(c for c in saved["columns"] if c["name"] == "grade")
    assert (grade["type"], grade["inferred_type"]) == ("categorical", "integer")
    assert grade["top"] == [["1", 10], ["2", 10], ["3", 10]]
    assert (v.folder / "data.parquet").read_bytes() == data_before
    assert sorted(p.name for p in v.folder.iterdir()) == [
        "data.parquet",
        "manifest.json",
        "profile.json",
        "schema.json",
        "schemas",  # the schema before the correction, for undo
        "stats.json",
    ]
    # A later edit keeps the earlier choices it does not change.
    datasets.update_schema(v, types={"a": "numeric"})
    schema = datasets.schema(v)
    assert schema["target"] == "label"
    assert {c["name"]: c["type"] for c in schema["columns"]} == {
        "a": "numeric",
        "grade": "categorical",
        "label": "categorical",
    }


def test_update_schema_refuses_unknown_columns_and_types(datasets):
    v = datasets.import_file(TABLE, "t.csv")
    schema_before = (v.folder / "schema.json").read_text()
    profile_before = (v.folder / "profile.json").read_text()
    with pytest.raises(BadInput, match=r"there is no column 'nope' in t@v1"):
        datasets.update_schema(v, types={"nope": "numeric"})
    with pytest.raises(BadInput, match=r"unknown type 'float'; types are: numeric, integer"):
        datasets.update_schema(v, types={"a": "float"})
    with pytest.raises(BadInput, match=r"there is no column 'price' in t@v1"):
        datasets.update_schema(v, target="price")
    with pytest.raises(BadInput, match=r"the time column 'label' does not parse"):
        datasets.update_schema(v, time_column="label")
    assert (v.folder / "schema.json").read_text() == schema_before
    assert (v.folder / "profile.json").read_text() == profile_before
    assert [p.name for p in v.folder.iterdir() if p.name.startswith(".")] == []
