"""Issue 13: files read as they are written (markers, decimal marks, thousands, encodings), type
corrections that never lose a value, numeric time indexes, and one data argument everywhere."""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from core.data.datasets import DatasetStore
from core.data.parsing import detect_number_format, parse_numbers, sample_rows
from core.data.profile import profile_table
from core.data.resolve import load_data
from core.data.sources import ReadOptions, read_table
from core.data.tabular import prepare_table
from core.errors import BadInput
from core.specs import TrainSpec
from core.training.precheck import check_train_spec
from core.workspace import Workspace

PENGUINS = (
    "species;island;bill_length_mm;body_mass_g;sex\n"
    "Adelie;Torgersen;39,1;3750;MALE\n"
    "Adelie;Torgersen;39,5;3800;FEMALE\n"
    "Adelie;Torgersen;?;?;?\n"
    "Adelie;Biscoe;36,7;3450;FEMALE\n"
    "Gentoo;Biscoe;46,1;4500;FEMALE\n"
    "Gentoo;Biscoe;50,0;5700;MALE\n"
    "Chinstrap;Dream;46,5;3500;FEMALE\n"
    "Chinstrap;Dream;50,0;3900;MALE\n"
    "Chinstrap;Dream;51,3;3650;MALE\n"
    "Gentoo;Biscoe;48,7;?;FEMALE\n"
    "Adelie;Dream;41,1;3900;MALE\n"
    "Adelie;Dream;41,1;3550;Männlich\n"
).encode("latin-1")


@pytest.fixture
def ws(tmp_path):
    return Workspace.resolve(str(tmp_path / "ws"))


def test_latin1_semicolon_decimal_comma_with_question_marks_reads_as_numbers():
    result = read_table(PENGUINS, "penguins.csv")
    frame = result.frame
    assert (result.delimiter, result.encoding, result.decimal) == (";", "latin-1", ",")
    assert frame["bill_length_mm"].dtype == "float64"
    assert frame["bill_length_mm"].tolist()[:3] == [39.1, 39.5, None] or np.isnan(
        frame["bill_length_mm"].iloc[2]
    )
    assert frame["bill_length_mm"].isna().sum() == 1
    assert frame["body_mass_g"].isna().sum() == 2
    assert frame["sex"].isna().sum() == 1 and "?" not in set(frame["sex"].dropna())
    assert result.markers_found == {"?": 4}
    prof = profile_table(frame, read=result.describe())
    assert prof.column("bill_length_mm").type == "numeric"
    assert prof.column("bill_length_mm").missing == 1
    assert prof.column("sex").missing == 1
    assert prof.column("sex").top[0] == ("MALE", 5)


def test_thousands_separators_are_detected_and_applied():
    raw = b'city,population,area\nA,"1,234,567",12.5\nB,"12,345",3.25\nC,987,1.0\n'
    result = read_table(raw, "t.csv")
    assert (result.decimal, result.thousands) == (".", ",")
    assert result.frame["population"].tolist() == [1234567, 12345, 987]
    raw = b"city;population;area\nA;1.234.567;12,5\nB;12.345;3,25\nC;987;1,0\n"
    result = read_table(raw, "t.csv")
    assert (result.decimal, result.thousands) == (",", ".")
    assert result.frame["population"].tolist() == [1234567, 12345, 987]
    assert result.frame["area"].tolist() == [12.5, 3.25, 1.0]


def test_reading_options_can_be_chosen_instead_of_detected():
    raw = b"a;b\n1.000;x\n2.000;y\n3.500;z\n"
    assert read_table(raw, "t.csv").frame["a"].tolist() == [1.0, 2.0, 3.5]
    chosen = read_table(raw, "t.csv", ReadOptions(decimal=",", thousands="."))
    assert chosen.frame["a"].tolist() == [1000, 2000, 3500]
    raw = b"a,b\n1,x\n-,y\n3,missing\n4,z\n"
    default = read_table(raw, "t.csv").frame
    assert default["a"].isna().sum() == 1 and default["b"].tolist()[2] == "missing"
    chosen = read_table(raw, "t.csv", ReadOptions(missing=("missing",))).frame
    assert chosen["b"].isna().sum() == 1 and chosen["a"].tolist()[1] == "-"


def test_numeric_looking_text_column_is_flagged_with_examples_never_no_problems():
    values = [str(i) for i in range(100)] + ["three"] * 20
    frame = read_table(
        ("n,label\n" + "\n".join(f"{v},{i % 2}" for i, v in enumerate(values))).encode(), "t.csv"
    )
    assert frame.left_as_text == {"n": "20 values could not be read as numbers, e.g. 'three'"}
    prof = profile_table(frame.frame, read=frame.describe())
    assert any("'n': looks numeric but 20 values could not be read" in i for i in prof.issues)
    assert any("'three'" in i for i in prof.issues)


def test_utf16_and_cp1252_files_are_read():
    result = read_table("a\tb\n1\tcafé\n2\tx\n".encode("utf-16"), "u.tsv")
    assert result.encoding == "utf-16" and result.frame["b"].tolist() == ["café", "x"]
    result = read_table("a,b\n1,\u201cq\u201d \u20ac5\n2,x\n".encode("cp1252"), "w.csv")
    assert result.encoding == "cp1252" and result.frame["b"].tolist()[0] == "\u201cq\u201d \u20ac5"


def test_number_format_detection_rules():
    def fmt(text, d):
        return detect_number_format(sample_rows(text, d), d)

    assert fmt("a;b\n39,1;x\n", ";").decimal == ","
    assert fmt('a,b\n"1,234.5",x\n', ",").thousands == ","
    assert fmt("a;b\n0,125;x\n", ";").decimal == ","  # "0,125" is not a thousands group
    values, failed = parse_numbers(pd.Series(["1.234,5", " 7 ", "?", "n/a", "x"]), ",", ".")
    assert values.tolist()[:2] == [1234.5, 7.0] and failed.tolist() == ["x"]


# ------------------------------------------------------------------------------ corrections


def test_correcting_a_text_column_to_numeric_reparses_and_counts_failures(ws):
    """Regression: this correction used to wipe the column (distinct 0, stats {})."""
    rows = [f"{i},{v},{i % 2}" for i, v in enumerate([str(x) for x in range(100)] + ["three"] * 12)]
    raw = ("id,n,label\n" + "\n".join(rows) + "\n").encode()
    store = DatasetStore(ws)
    v = store.import_file(raw, "words.csv", target="label")
    assert store.schema(v)["columns"][1]["type"] == "categorical"
    prof = store.update_schema(v, types={"n": "numeric"})
    col = prof.column("n")
    assert (col.type, col.count, col.missing, col.distinct) == ("numeric", 100, 12, 100)
    assert col.stats["min"] == 0.0 and col.stats["max"] == 99.0
    assert "12 values could not be read as numbers, e.g. 'three'" in col.notes
    assert store.read_frame(v)["n"].tolist()[-1] == "three"  # the raw values stay
    loaded = load_data(v.id, ws)
    assert loaded.frame["n"].isna().sum() == 12 and loaded.frame["n"].iloc[5] == 5.0
    assert loaded.notes == [
        "column 'n': 12 values could not be read as numbers, e.g. 'three' (treated as missing)"
    ]
    # a new schema version that can be undone
    assert store.schema(v)["schema_version"] == 2 and store.schema_history(v) == [1]
    back = store.undo_schema(v)
    assert back.column("n").type == "categorical" and store.schema(v)["schema_version"] == 1
    assert store.schema_history(v) == []
    with pytest.raises(BadInput, match="no earlier schema"):
        store.undo_schema(v)


def test_correction_uses_the_files_decimal_comma(ws):
    raw = "a;b;y\n" + "\n".join(f"{i},5;x{i};{i % 2}" for i in range(30)) + "\n1,5;oops;1\n"
    raw = raw.replace("x7", "zz").encode()
    store = DatasetStore(ws)
    v = store.import_file(raw, "c.csv")
    assert store.schema(v)["columns"][0]["type"] == "numeric"
    prof = store.update_schema(v, types={"b": "numeric"})
    assert prof.column("b").count == 0 and prof.column("b").missing == 31
    assert prof.column("a").stats["max"] == 29.5


def test_mixed_type_column_all_numbers_does_not_crash_prepare_table():
    """Issue 20 item 2: `junk.index[0]` on an empty result (numbers held as objects)."""
    frame = pd.DataFrame(
        {"a": pd.Series([1, "2", 3.5, "4"] * 5, dtype=object), "y": [0.0, 1.0, 2.0, 3.5] * 5}
    )
    info = prepare_table(frame, "y", "regression")
    assert info.frame["a"].tolist()[:4] == [1.0, 2.0, 3.5, 4.0] and "a" in info.numeric


# ------------------------------------------------------------------------------ time


def sunspots_csv(tmp_path, n=80):
    years = np.arange(1700, 1700 + n)
    vals = 50 + 40 * np.sin(years / 11 * 2 * np.pi)
    path = tmp_path / "sunspots.csv"
    text = '"YEAR","SUNACTIVITY"\n' + "\n".join(
        f"{y:.1f},{v:.1f}" for y, v in zip(years, vals, strict=True)
    )
    path.write_text(text + "\n")
    return path


def test_numeric_year_index_is_a_time_column(ws, tmp_path):
    path = sunspots_csv(tmp_path)
    store = DatasetStore(ws)
    v = store.import_file(path, path.name)
    assert v.kind == "timeseries" and store.schema(v)["time_column"] == "YEAR"
    time = store.profile(v).time
    assert (time["index"], time["step"], time["gap_count"], time["first"]) == (
        "years",
        "1 year",
        0,
        "1700",
    )
    plan = check_train_spec(
        TrainSpec(data=str(path), target="SUNACTIVITY", model="lstm", window=12), ws
    )
    assert plan.task == "forecasting" and plan.split_sizes["train"] > 0
    plan = check_train_spec(
        TrainSpec(
            data=v.id, target="SUNACTIVITY", task="forecasting", time_column="YEAR", window=8
        ),
        ws,
    )
    assert plan.task == "forecasting"


def test_gaps_in_a_numeric_index_are_reported_and_no_time_column_means_row_order(ws, tmp_path):
    frame = pd.DataFrame({"t": [0, 1, 2, 3, 7, 8, 9, 10, 11, 12], "v": np.arange(10.0)})
    prof = profile_table(frame)
    assert prof.time_column == "t" and prof.time["gap_count"] == 1
    assert prof.time["gaps"][0] == {"after": "3", "before": "7", "missing_steps": 3}
    assert any("1 gap(s)" in i for i in prof.issues)
    path = tmp_path / "plain.csv"
    pd.DataFrame({"value": np.sin(np.arange(60) / 5)}).to_csv(path, index=False)
    plan = check_train_spec(
        TrainSpec(data=str(path), target="value", task="forecasting", window=6), ws
    )
    assert "no time column: the rows' order is taken as the time order" in plan.warnings


def test_unix_seconds_index_shows_dates(tmp_path):
    frame = pd.DataFrame({"timestamp": 1_600_000_000 + 3600 * np.arange(10), "v": np.arange(10.0)})
    prof = profile_table(frame)
    assert prof.time_column == "timestamp" and prof.time["index"] == "unix-seconds"
    assert prof.time["step"] == "1 hour"


def test_a_window_or_sequence_model_on_a_dated_table_means_forecasting(ws, tmp_path):
    path = tmp_path / "weekly.csv"
    dates = pd.date_range("2000-01-01", periods=80, freq="W")
    pd.DataFrame({"date": dates, "co2": 370 + np.arange(80) * 0.1}).to_csv(path, index=False)
    plan = check_train_spec(TrainSpec(data=str(path), target="co2", model="lstm", window=12), ws)
    assert (plan.task, plan.model) == ("forecasting", "lstm")
    plan = check_train_spec(TrainSpec(data=str(path), target="co2", window=12), ws)
    assert plan.task == "forecasting"


# ------------------------------------------------------------------------------ data argument


def _png(color) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), color).save(buf, format="PNG")
    return buf.getvalue()


def test_a_path_is_imported_once_and_reused_while_its_hash_matches(ws, tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("a,b\n" + "\n".join(f"{i},{i % 2}" for i in range(20)) + "\n")
    first = load_data(str(path), ws)
    again = load_data(str(path), ws)
    assert first.dataset.id == again.dataset.id == "t@v1" and first.auto_imported
    assert first.lineage["file"] == str(path.resolve())
    path.write_text("a,b\n" + "\n".join(f"{i},{i % 3}" for i in range(20)) + "\n")
    assert load_data(str(path), ws).dataset.id == "t@v2"


def test_a_zip_and_a_folder_of_class_folders_are_data_arguments(ws, tmp_path):
    folder = tmp_path / "photos"
    for label, color in (("cats", "red"), ("dogs", "blue")):
        (folder / label).mkdir(parents=True)
        for i in range(3):
            (folder / label / f"{i}.png").write_bytes(
                _png((40 * i, 0, 200 if color == "blue" else 0))
            )
    loaded = load_data(str(folder), ws)
    assert loaded.dataset.kind == "images" and sorted(set(loaded.frame["label"])) == [
        "cats",
        "dogs",
    ]
    assert load_data(str(folder), ws).dataset.id == loaded.dataset.id  # same files, same hash
    zpath = tmp_path / "photos.zip"
    with zipfile.ZipFile(zpath, "w") as zf:
        for label in ("cats", "dogs"):
            for i in range(3):
                zf.writestr(
                    f"photos/{label}/{i}.png", _png((40 * i, 100 if label == "cats" else 0, 0))
                )
    zipped = load_data(str(zpath), ws)
    assert zipped.dataset.kind == "images" and len(zipped.frame) == 6
    assert json.loads((zipped.dataset.folder / "manifest.json").read_text())["kind"] == "images"


def test_tune_and_automl_take_a_file_path_imported_as_one_dataset_version(ws, tmp_path):
    from core.data.datasets import DatasetStore
    from core.specs import AutoMLSpec, TuneSpec
    from core.tuning.automl_plan import check_automl_spec
    from core.tuning.space import check_tune_spec

    path = tmp_path / "semi.csv"
    rows = [
        f"{i};{i * 0.5:.1f};{'?' if i % 9 == 0 else i % 3}".replace(".", ",") for i in range(60)
    ]
    path.write_text("a;b;label\n" + "\n".join(rows) + "\n")
    base = {"data": str(path), "target": "label", "model": "mlp", "epochs": 1}
    plan = check_tune_spec(TuneSpec(base=base, max_trials=1), ws)[0]
    assert plan.task == "classification"
    assert check_automl_spec(AutoMLSpec(data=str(path), target="label"), ws) is not None
    versions = DatasetStore(ws).list_versions()
    assert [v.id for v in versions] == ["semi@v1"]  # imported once, reused by the second
    assert versions[0].read["decimal"] == "," and versions[0].read["markers_found"] == {"?": 7}
