"""read_table: delimiters, encodings, decimal commas, Parquet, JSON Lines, and clear refusals."""

from __future__ import annotations

import io
import random
import tomllib
import zipfile

import pandas as pd
import pytest

from core.data.limits import MAX_COLUMNS, UPLOAD_LIMIT_MB
from core.data.sources import SNIFF_BYTES, ReadOptions, read_table
from core.errors import BadInput
from tests.conftest import REPO


def values(frame: pd.DataFrame) -> dict[str, list]:
    return {c: frame[c].tolist() for c in frame.columns}


# ------------------------------------------------------------------------------ CSV dialects


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_delimiter_is_detected(delimiter):
    raw = "\n".join(delimiter.join(r) for r in [("a", "b", "c"), ("1", "2", "x"), ("3", "4", "y")])
    result = read_table((raw + "\n").encode(), "t.csv")
    assert result.format == "csv"
    assert result.delimiter == delimiter
    assert values(result.frame) == {"a": [1, 3], "b": [2, 4], "c": ["x", "y"]}
    assert result.skipped_rows == 0 and result.notes == []


def test_semicolon_file_with_commas_inside_text_values():
    raw = b"name;desc\nA;hello, world\nB;foo, bar, baz\nC;x, y\n"
    result = read_table(raw, "t.csv")
    assert result.delimiter == ";"
    assert result.frame["desc"].tolist() == ["hello, world", "foo, bar, baz", "x, y"]


def test_quoted_fields_keep_their_delimiters():
    raw = b'name,city\n"Doe, John","Paris, FR"\n"Roe, Jane","Rome, IT"\n'
    frame = read_table(raw, "t.csv").frame
    assert values(frame) == {"name": ["Doe, John", "Roe, Jane"], "city": ["Paris, FR", "Rome, IT"]}


def test_utf8_is_read_as_utf8():
    result = read_table("name,v\ncafé,1\nnaïve,2\n".encode(), "t.csv")
    assert result.encoding == "utf-8"
    assert result.frame["name"].tolist() == ["café", "naïve"]


def test_utf8_bom_is_stripped_from_the_first_column_name():
    result = read_table("\ufeffname,v\ncafé,1\nnaïve,2\n".encode(), "t.csv")
    assert result.encoding == "utf-8-sig"
    assert list(result.frame.columns) == ["name", "v"]
    assert result.frame["name"].tolist() == ["café", "naïve"]


def test_latin1_accents_survive():
    raw = "name,v\ncafé,1\nnaïve,2\nJürgen,3\n".encode("latin-1")
    result = read_table(raw, "t.csv")
    assert result.encoding == "latin-1"
    assert result.frame["name"].tolist() == ["café", "naïve", "Jürgen"]


def test_latin1_can_be_chosen_explicitly():
    raw = "a,b\ncafé,1\n".encode("latin-1")
    result = read_table(raw, "t.csv", ReadOptions(encoding="latin-1"))
    assert result.encoding == "latin-1" and result.frame["a"].tolist() == ["café"]


@pytest.mark.parametrize(
    "text",
    [
        "город,метка\nМосква,один\nПариж,два\nБерлин,три\n",
        "name,label\nΑθήνα,α\nΘεσσαλονίκη,β\n",
        "名前,ラベル\n東京都,はい\n大阪府,いいえ\n",
    ],
    ids=["cyrillic", "greek", "cjk"],
)
def test_utf8_text_in_non_latin_scripts_is_read(text):
    result = read_table(text.encode(), "t.csv")
    assert result.encoding == "utf-8"
    assert len(result.frame) == text.count("\n") - 1
    assert result.frame.iloc[0, 0] == text.splitlines()[1].split(",")[0]


def test_latin1_accent_after_the_sniffed_head_still_survives():
    rows = "".join(f"{i},plain\n" for i in range(SNIFF_BYTES // 8))
    raw = ("id,name\n" + rows + "999999,café\n").encode("latin-1")
    assert len(raw) > SNIFF_BYTES
    try:
        frame = read_table(raw, "big.csv").frame
    except BadInput as exc:  # refusing with a pointer to the encoding option would also do
        assert "encoding" in str(exc)
        return
    assert frame["name"].iloc[-1] == "café"
    assert frame["name"].map(type).eq(str).all()


def test_decimal_comma_is_detected():
    result = read_table(b"a;b\n1,5;2,25\n3,5;4,75\n", "t.csv")
    assert (result.delimiter, result.decimal) == (";", ",")
    assert values(result.frame) == {"a": [1.5, 3.5], "b": [2.25, 4.75]}
    assert str(result.frame["a"].dtype) == "float64"


def test_decimal_comma_with_bom_and_accents():
    raw = "\ufeffa;b;name\n1,5;2,25;café\n3,5;4,75;x\n".encode()
    result = read_table(raw, "t.csv")
    described = result.describe()
    assert {k: described[k] for k in ("format", "delimiter", "encoding", "decimal")} == {
        "format": "csv",
        "delimiter": ";",
        "encoding": "utf-8-sig",
        "decimal": ",",
    }
    assert described["skipped_rows"] == 0 and described["thousands"] is None
    assert values(result.frame) == {"a": [1.5, 3.5], "b": [2.25, 4.75], "name": ["café", "x"]}


@pytest.mark.parametrize("delimiter", [";", "\t"])
def test_decimal_comma_chosen_explicitly(delimiter):
    raw = f"a{delimiter}b\n1,5{delimiter}2,25\n".encode()
    result = read_table(raw, "t.csv", ReadOptions(decimal=","))
    assert result.decimal == ","
    assert values(result.frame) == {"a": [1.5], "b": [2.25]}


def test_quoted_decimal_commas_in_a_comma_file_with_explicit_decimal():
    result = read_table(b'a,b\n"1,5","2,25"\n', "t.csv", ReadOptions(decimal=","))
    assert values(result.frame) == {"a": [1.5], "b": [2.25]}


def test_explicit_dot_decimal_keeps_comma_numbers_as_text():
    result = read_table(b"a;b\n1,5;2,25\n", "t.csv", ReadOptions(decimal=".", delimiter=";"))
    assert result.decimal == "."
    assert values(result.frame) == {"a": ["1,5"], "b": ["2,25"]}


# ------------------------------------------------------------------------------ other formats


def sample_frame() -> pd.DataFrame:
    return pd.DataFrame({"x": [1.5, 2.5, 3.5], "n": [1, 2, 3], "s": ["é", "b", "c"]})


def test_parquet_from_bytes():
    buf = io.BytesIO()
    sample_frame().to_parquet(buf, index=False)
    result = read_table(buf.getvalue(), "data.parquet")
    assert result.format == "parquet"
    assert values(result.frame) == values(sample_frame())


def test_parquet_from_a_path_is_recognised_by_its_bytes(tmp_path):
    path = tmp_path / "table.bin"  # no telling suffix: the PAR1 magic decides
    sample_frame().to_parquet(path, index=False)
    result = read_table(path)
    assert result.format == "parquet"
    assert values(result.frame) == values(sample_frame())


def test_broken_parquet_is_refused():
    with pytest.raises(BadInput, match=r"data\.parquet is not a readable Parquet file"):
        read_table(b"PAR1 this is not really parquet", "data.parquet")


def test_json_lines():
    raw = b'{"a": 1, "b": "x"}\n{"a": 2, "b": "y"}\n{"a": 3, "b": null}\n'
    result = read_table(raw, "rows.jsonl")
    assert result.format == "jsonl"
    assert result.frame["a"].tolist() == [1, 2, 3]
    assert result.frame["b"].tolist()[:2] == ["x", "y"]
    assert result.frame["b"].isna().tolist() == [False, False, True]


def test_json_lines_from_a_path(tmp_path):
    path = tmp_path / "rows.ndjson"
    path.write_bytes(b'{"a": 1.5}\n{"a": 2.5}\n')
    result = read_table(path)
    assert result.format == "jsonl" and result.frame["a"].tolist() == [1.5, 2.5]


@pytest.mark.parametrize(
    "raw",
    [b'{"a": 1, "b": "x"}\n{"a": 2,\n', b'{"a": 1}\nnot json at all\n'],
    ids=["truncated", "plain-text-line"],
)
def test_invalid_json_lines_are_refused(raw):
    with pytest.raises(BadInput, match=r"rows\.jsonl is not valid JSON Lines"):
        read_table(raw, "rows.jsonl")


def test_json_line_that_is_not_an_object_is_refused():
    with pytest.raises(BadInput, match="JSON Lines"):
        read_table(b'{"a": 1}\n[1, 2]\n', "rows.jsonl")


# ------------------------------------------------------------------------------ bad inputs


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"", r"t\.csv is empty"),
        (b"   \n\n", r"t\.csv is empty"),
        (b"a,b,label\n", r"t\.csv has a header row but no data rows"),
        ("\ufeffa;b\n".encode(), r"t\.csv has a header row but no data rows"),
        (
            b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4,
            r"t\.csv is not a text file \(it contains binary data\): give a CSV file",
        ),
    ],
    ids=["empty", "blank-lines", "header-only", "bom-header-only", "png"],
)
def test_unusable_files_are_refused(raw, message):
    with pytest.raises(BadInput, match=message):
        read_table(raw, "t.csv")


def test_empty_file_on_disk_is_refused(tmp_path):
    path = tmp_path / "nothing.csv"
    path.write_bytes(b"")
    with pytest.raises(BadInput, match=r"nothing\.csv is empty: give a file with a header row"):
        read_table(path)


def test_missing_file_is_refused(tmp_path):
    with pytest.raises(BadInput, match="no such file"):
        read_table(tmp_path / "absent.csv")


def test_random_bytes_are_refused():
    rng = random.Random(0)
    junk = bytes(rng.randrange(256) for _ in range(4000))
    assert b"\x00" in junk
    with pytest.raises(BadInput, match="not a text file"):
        read_table(junk, "junk.csv")
    with pytest.raises(BadInput, match="not a text file"):
        read_table(junk.replace(b"\x00", b"\x01"), "junk.csv")  # no NULs: printable share


def test_ragged_rows_are_refused_with_field_counts():
    raw = b"a,b,c\n1,2,3\n4,5\n6,7,8\n"
    with pytest.raises(BadInput) as info:
        read_table(raw, "t.csv")
    message = str(info.value)
    assert "a row with 2 fields where the header has 3" in message
    assert "'4,5'" in message and "--skip-bad-rows" in message


def test_row_with_too_many_fields_is_refused_with_field_counts():
    with pytest.raises(BadInput, match="a row with 4 fields where the header has 3"):
        read_table(b"a,b,c\n1,2,3\n9,10,11,12\n", "t.csv")


def test_skip_bad_rows_skips_and_counts_them():
    raw = b"a,b,c\n1,2,3\n4,5\n6,7,8\n9,10,11,12\n13,14,15\n"
    result = read_table(raw, "t.csv", ReadOptions(skip_bad_rows=True))
    assert result.skipped_rows == 2
    assert result.describe()["skipped_rows"] == 2
    assert result.notes == ["skipped 2 row(s) with the wrong number of fields"]
    assert values(result.frame) == {"a": [1, 6, 13], "b": [2, 7, 14], "c": [3, 8, 15]}


def test_skipping_every_row_leaves_no_data_rows():
    with pytest.raises(BadInput, match="header row but no data rows"):
        read_table(b"a,b,c\n1,2\n3,4\n", "t.csv", ReadOptions(skip_bad_rows=True))


@pytest.mark.parametrize(
    "raw",
    [b"a,b,a\n1,2,3\n", b"a;b;a\n1;2;3\n", b'"a","b"," a"\n1,2,3\n'],
    ids=["comma", "semicolon", "spaces"],
)
def test_duplicate_column_names_are_refused(raw):
    with pytest.raises(BadInput, match=r"duplicate column names \(a\): rename them"):
        read_table(raw, "t.csv")


def wide_csv(columns: int) -> bytes:
    header = ",".join(f"c{i}" for i in range(columns))
    return (header + "\n" + ",".join("1" for _ in range(columns)) + "\n").encode()


def test_too_many_columns_are_refused_naming_the_limit():
    with pytest.raises(BadInput) as info:
        read_table(wide_csv(10_000), "wide.csv")
    message = str(info.value)
    assert "wide.csv has 10,000 columns" in message
    assert f"at most {MAX_COLUMNS:,}" in message


def test_column_limit_is_inclusive():
    assert len(read_table(wide_csv(MAX_COLUMNS), "w.csv").frame.columns) == MAX_COLUMNS
    with pytest.raises(BadInput, match=f"has {MAX_COLUMNS + 1:,} columns"):
        read_table(wide_csv(MAX_COLUMNS + 1), "w.csv")


def test_too_many_columns_in_json_lines_are_refused():
    raw = ("{" + ",".join(f'"c{i}": 1' for i in range(10_000)) + "}\n").encode()
    with pytest.raises(BadInput, match=f"at most {MAX_COLUMNS:,}"):
        read_table(raw, "wide.jsonl")


@pytest.mark.parametrize("name", ["photos.zip", "photos.csv"])
def test_a_zip_is_not_a_table(name):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("cats/a.png", b"not really a png")
    with pytest.raises(BadInput, match=f"{name} is a zip archive: import it as an image dataset"):
        read_table(buf.getvalue(), name)


# ------------------------------------------------------------------------------ limits


def test_streamlit_upload_limit_matches_the_engine_limit():
    config = tomllib.loads((REPO / ".streamlit" / "config.toml").read_text())
    assert config["server"]["maxUploadSize"] == UPLOAD_LIMIT_MB
