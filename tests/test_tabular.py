"""Bad and odd tables: each gets a clear message, and nothing is half-written."""

from __future__ import annotations

import pandas as pd
import pytest

from core.data.samples import SAMPLES, sample_path
from core.data.tabular import load_table, prepare_table, read_csv
from core.errors import BadInput

GOOD = b"a,b,label\n" + b"".join(b"%d,%s\n" % (i, [b"x,yes", b"y,no"][i % 2]) for i in range(1, 11))


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"", "is empty"),
        (b"   \n\n", "is empty"),
        (b"a,b,label\n", "header row but no data rows"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4, "not a text file"),
        (bytes(range(1, 32)) * 100, "not a text file"),
    ],
)
def test_unreadable_files_are_refused(raw, message):
    with pytest.raises(BadInput, match=message):
        read_csv(raw, "upload.csv")


def test_delimiter_and_bom_are_handled():
    frame = read_csv("\ufeffa;b;label\n1;2;x\n3;4;y\n".encode(), "semi.csv")
    assert list(frame.columns) == ["a", "b", "label"]
    latin = read_csv("name,label\ncafé,1\nnaïve,2\n".encode("latin-1"), "latin.csv")
    assert latin["name"].tolist() == ["café", "naïve"]


def test_single_column_is_refused():
    with pytest.raises(BadInput, match="single column"):
        prepare_table(read_csv(b"label\n1\n2\n3\n"), "label")


def test_missing_target_lists_the_columns():
    with pytest.raises(BadInput, match=r"no column 'price'; columns are: a, b, label"):
        prepare_table(read_csv(GOOD), "price")


def test_target_with_one_class_is_refused():
    raw = b"a,label\n" + b"".join(b"%d,same\n" % i for i in range(20))
    with pytest.raises(BadInput, match="single class"):
        prepare_table(read_csv(raw), "label")


def test_all_missing_target_is_refused():
    raw = b"a,label\n" + b"".join(b"%d,\n" % i for i in range(20))
    with pytest.raises(BadInput, match="has no values"):
        prepare_table(read_csv(raw), "label")


def test_junk_in_a_numeric_column_is_refused_with_line_and_values():
    rows = [f"{i},{i % 2}" for i in range(30)]
    rows[7] = "abc,1"
    raw = ("x,label\n" + "\n".join(rows) + "\n").encode()
    with pytest.raises(
        BadInput,
        match=r"column 'x' is numeric but 1 value\(s\) are not numbers \('abc'; first on line 9\)",
    ):
        prepare_table(read_csv(raw), "label")
    info = prepare_table(read_csv(raw), "label", coerce_numeric=True)
    assert info.numeric == ["x"]
    assert info.frame["x"].isna().sum() == 1
    assert any("treated as missing" in w for w in info.warnings)


def test_types_and_task_are_inferred():
    info = prepare_table(read_csv(GOOD), "label")
    assert (info.task, info.numeric, info.categorical, info.classes) == (
        "classification",
        ["a"],
        ["b"],
        ["no", "yes"],
    )
    numbers = pd.DataFrame({"x": range(50), "y": [i * 0.37 for i in range(50)]})
    assert prepare_table(numbers, "y").task == "regression"
    ints = pd.DataFrame({"x": range(50), "y": [i % 3 for i in range(50)]})
    info = prepare_table(ints, "y")
    assert info.task == "classification" and info.classes == ["0", "1", "2"]


def test_rows_without_target_are_dropped_with_a_warning():
    frame = pd.DataFrame({"x": range(30), "y": [None if i % 10 == 0 else i % 2 for i in range(30)]})
    info = prepare_table(frame, "y")
    assert len(info.frame) == 27
    assert "3 row(s) with no 'y' value dropped" in info.warnings


def test_identifier_and_empty_columns_are_left_out():
    frame = pd.DataFrame(
        {
            "id": [f"row-{i}" for i in range(100)],
            "empty": [None] * 100,
            "x": range(100),
            "y": [i % 2 for i in range(100)],
        }
    )
    info = prepare_table(frame, "y")
    assert info.features == ["x"]
    assert len(info.warnings) == 2


def test_too_few_rows():
    with pytest.raises(BadInput, match="at least 10"):
        prepare_table(pd.DataFrame({"x": [1, 2, 3, 4], "y": [0, 1, 0, 1]}), "y")


def test_duplicate_column_names_are_refused():
    frame = pd.DataFrame([[1, 2, 0]] * 12, columns=["a", "a", "y"])
    with pytest.raises(BadInput, match="duplicate column names: a"):
        prepare_table(frame, "y")


def test_every_sample_loads_with_its_target(ws):
    for name, sample in SAMPLES.items():
        info = load_table(sample_path(name, ws.samples_dir), sample.target)
        expected = (
            "regression" if sample.task in ("regression", "forecasting") else "classification"
        )
        assert info.task == expected, name
        assert len(info.frame) >= 100
