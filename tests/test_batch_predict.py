"""Batch prediction's inputs and outputs (pure Python): each bad input of #34 gets a clear
message or is listed by its row, line or file name; reading is in bounded chunks; outputs are
whole files."""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from core.errors import BadInput
from core.predict.batch import output_frame, probabilities
from core.predict.batch_inputs import chunks, open_source
from core.predict.outputs import PredictionWriter, check_out
from core.specs import BatchPredictSpec, spec_from_dict
from core.training.features import FeatureSpec, ModelContract
from core.workspace import Workspace

TABLE = ModelContract(
    "classification",
    "species",
    [
        FeatureSpec("length", "length", "float32"),
        FeatureSpec("colour", "colour", "string"),
        FeatureSpec("code", "code", "int64"),
    ],
    ["a", "b"],
    "table",
)
TEXT = ModelContract(
    "text-classification",
    "label",
    [FeatureSpec("review", "text", "string")],
    ["neg", "pos"],
    "text",
)
IMAGE = ModelContract(
    "image-classification", "label", [], ["cat", "dog"], "image", {"image_size": 8}
)


@pytest.fixture
def ws(tmp_path) -> Workspace:
    return Workspace.resolve(tmp_path / "home")


def read_all(source, contract, rows=1000):
    got = list(chunks(source, contract, rows))
    frames = [c.frame for c in got if c.frame is not None]
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    return got, frame, [i for c in got for i in c.ids], [b for c in got for b in c.bad]


def test_the_spec_round_trips_and_has_safe_defaults():
    spec = BatchPredictSpec(source="r1", data="x.csv")
    assert spec.bad_rows == "refuse" and spec.chunk_rows > 0
    assert spec_from_dict("batch_predict", spec.to_dict()) == spec


def test_reordered_and_extra_columns_are_fine_and_named(tmp_path, ws):
    path = tmp_path / "new.csv"
    path.write_text("code,note,colour,length,species\n3,hi,red,1.5,a\n4,,blue,2.5,b\n")
    source = open_source(str(path), TABLE, ws)
    assert source.ignored_columns == ["note"]  # the target column is not "ignored": expected
    _, frame, ids, bad = read_all(source, TABLE)
    assert ids == [1, 2] and bad == []
    assert frame["length"].tolist() == [1.5, 2.5]
    assert frame["colour"].tolist() == ["red", "blue"]
    assert frame["code"].tolist() == [3.0, 4.0]


def test_missing_columns_refuse_the_file_by_name(tmp_path, ws):
    path = tmp_path / "short.csv"
    path.write_text("length,extra\n1,2\n")
    with pytest.raises(BadInput, match=r"lacks the columns 'colour', 'code' that the model takes"):
        open_source(str(path), TABLE, ws)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "is empty"),
        (b"length,colour,code\n", "no data rows|header row but no data rows"),
    ],
)
def test_an_empty_file_is_refused(tmp_path, ws, body, message):
    path = tmp_path / "empty.csv"
    path.write_bytes(body)
    try:
        source = open_source(str(path), TABLE, ws)
    except BadInput as exc:
        assert any(m in str(exc) for m in message.split("|"))
        return
    _, frame, ids, bad = read_all(source, TABLE)  # a header alone: nothing to predict
    assert ids == [] and bad == []


def test_wrong_types_are_bad_rows_named_by_row(tmp_path, ws):
    path = tmp_path / "typed.csv"
    path.write_text(
        "length,colour,code\n1.0,red,1\nfive,red,2\n2.0,,3.5\n3.0,NA,NA\ninf,red,1\n4,blue,2\n"
    )
    source = open_source(str(path), TABLE, ws)
    _, frame, ids, bad = read_all(source, TABLE)
    assert ids == [1, 4, 6]  # row 4: missing markers are missing values, not errors
    reasons = {b.where: b.reason for b in bad}
    assert reasons == {
        "row 2": "'length' needs a number, not 'five'",
        "row 3": "'code' takes whole-number codes",
        "row 5": "'length' needs a finite number",
    }
    assert np.isnan(frame["code"].iloc[1]) and frame["colour"].iloc[1] == ""


def test_a_row_with_the_wrong_number_of_fields_is_named_by_line(tmp_path, ws):
    path = tmp_path / "ragged.csv"
    path.write_text("length,colour,code\n1,red,1\n2,red,1,extra,more\n3,blue,2\n")
    source = open_source(str(path), TABLE, ws)
    _, frame, ids, bad = read_all(source, TABLE)
    assert len(frame) == 2
    assert [b.where for b in bad] == ["line 3"]
    assert "expected 3 fields" in bad[0].reason


def test_a_cp1252_file_and_a_decimal_comma_are_read(tmp_path, ws):
    path = tmp_path / "euro.csv"
    path.write_bytes(
        "length;colour;code\n1,5;caf\u00e9 \u2019n\u2019 cr\u00e8me;1\n".encode("cp1252")
    )
    source = open_source(str(path), TABLE, ws)
    _, frame, ids, bad = read_all(source, TABLE)
    assert bad == [] and frame["length"].tolist() == [1.5]
    assert frame["colour"].tolist() == ["caf\u00e9 \u2019n\u2019 cr\u00e8me"]


def test_a_large_file_is_read_in_bounded_chunks(tmp_path, ws):
    path = tmp_path / "big.csv"
    n = 50_000
    pd.DataFrame({"length": np.arange(n) / 7, "colour": "red", "code": 1}).to_csv(path, index=False)
    source = open_source(str(path), TABLE, ws)
    got = list(chunks(source, TABLE, 4096))
    assert max(len(c.ids) for c in got) == 4096 and sum(len(c.ids) for c in got) == n
    assert got[-1].done == pytest.approx(source.total)  # progress reaches the file's size
    assert got[0].done < source.total / 2  # and grows as it reads, not all at once


def test_jsonl_bad_lines_are_named_by_line(tmp_path, ws):
    path = tmp_path / "rows.jsonl"
    lines = [
        {"length": 1, "colour": "red", "code": 1},
        "not json",
        {"length": "x", "colour": "red", "code": 1},
        {"length": None, "colour": None, "code": 2},
    ]
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in lines) + "\n")
    source = open_source(str(path), TABLE, ws)
    assert source.id_column == "line"
    _, frame, ids, bad = read_all(source, TABLE)
    assert ids == [1, 4]
    assert [(b.where, b.reason) for b in bad] == [
        ("line 2", "not valid JSON (UTF-8)"),
        ("line 3", "'length' needs a number, not 'x'"),
    ]


def test_a_parquet_file_is_read_by_column_name(tmp_path, ws):
    path = tmp_path / "rows.parquet"
    pd.DataFrame({"code": [1, 2], "colour": ["a", None], "length": [0.5, None]}).to_parquet(path)
    source = open_source(str(path), TABLE, ws)
    _, frame, ids, bad = read_all(source, TABLE)
    assert ids == [1, 2] and bad == [] and frame["colour"].tolist() == ["a", ""]


def test_texts_from_a_txt_keep_unicode_and_skip_blank_lines(tmp_path, ws):
    path = tmp_path / "reviews.txt"
    path.write_text("It\u2019s great \U0001f600\n\n\u05e9\u05dc\u05d5\u05dd \u2014 \u4f60\u597d\n")
    source = open_source(str(path), TEXT, ws)
    assert source.fmt == "txt" and source.id_column == "line"
    _, frame, ids, bad = read_all(source, TEXT)
    assert ids == [1, 3]
    assert frame["text"].tolist() == [
        "It\u2019s great \U0001f600",
        "\u05e9\u05dc\u05d5\u05dd \u2014 \u4f60\u597d",
    ]


def test_a_text_table_names_empty_texts(tmp_path, ws):
    path = tmp_path / "reviews.csv"
    path.write_text("review,stars\ngood,5\n,1\n")
    source = open_source(str(path), TEXT, ws)
    _, frame, ids, bad = read_all(source, TEXT)
    assert ids == [1] and [b.where for b in bad] == ["row 2"]


def _png(colour) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (5, 4), colour).save(buf, format="PNG")
    return buf.getvalue()


def test_images_that_do_not_decode_are_named_by_file(tmp_path, ws):
    path = tmp_path / "new.zip"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("a/one.png", _png("red"))
        z.writestr("a/broken.jpg", b"\xff\xd8 not really a jpeg")
        z.writestr("__MACOSX/a/._one.png", b"junk")
        z.writestr("notes.txt", b"ignored")
    source = open_source(str(path), IMAGE, ws)
    got, _, ids, bad = read_all(source, IMAGE)
    assert ids == ["a/one.png"] and [b.where for b in bad] == ["a/broken.jpg"]
    assert got[0].images[0] == _png("red")


@pytest.mark.parametrize(
    ("contract", "make", "message"),
    [
        (IMAGE, lambda p: p.write_text("a,b\n1,2\n"), "not a zip archive or a folder"),
        (TABLE, lambda p: zipfile.ZipFile(p, "w").close(), "zip archive"),
        (IMAGE, lambda p: zipfile.ZipFile(p, "w").close(), "holds no images"),
    ],
)
def test_a_file_of_the_wrong_kind_is_refused(tmp_path, ws, contract, make, message):
    path = tmp_path / "input.zip"
    make(path)
    with pytest.raises(BadInput, match=message):
        open_source(str(path), contract, ws)


def test_a_missing_input_says_so(ws):
    with pytest.raises(BadInput, match="no such file, folder or dataset"):
        open_source("/nowhere/x.csv", TABLE, ws)


def test_output_columns_for_classes_and_values():
    frame = output_frame([3, 4], "row", np.array([[0.2, 0.8], [0.9, 0.1]]), TABLE)
    assert frame.columns.tolist() == ["row", "predicted", "confidence", "p_a", "p_b"]
    assert frame["predicted"].tolist() == ["b", "a"]
    assert frame["confidence"].tolist() == pytest.approx([0.8, 0.9])
    reg = ModelContract("regression", "price", [], [], "table")
    assert output_frame([1], "row", np.array([[2.5]]), reg).columns.tolist() == [
        "row",
        "predicted_price",
    ]
    assert probabilities(np.array([[2.0, 0.0]])).sum() == pytest.approx(1.0)  # logits


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".jsonl"])
def test_outputs_are_written_whole_in_each_format(tmp_path, suffix):
    out = check_out(tmp_path / f"p{suffix}")
    writer = PredictionWriter(out)
    writer.write(pd.DataFrame({"row": [1], "predicted": ["caf\u00e9"], "confidence": [0.5]}))
    assert not out.exists()  # a .partial file until it is whole
    writer.write(pd.DataFrame({"row": [2], "predicted": ["b"], "confidence": [np.nan]}))
    writer.close()
    read = {
        ".csv": pd.read_csv,
        ".parquet": pd.read_parquet,
        ".jsonl": lambda p: pd.read_json(p, lines=True),
    }[suffix](out)
    assert read["row"].tolist() == [1, 2] and read["predicted"].tolist() == ["caf\u00e9", "b"]
    assert not list(tmp_path.glob("*.partial"))


def test_an_aborted_output_leaves_nothing(tmp_path):
    writer = PredictionWriter(check_out(tmp_path / "p.csv"))
    writer.write(pd.DataFrame({"row": [1]}))
    writer.abort()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("name", "message"), [("p.xlsx", "write predictions to a"), ("nowhere/p.csv", "does not exist")]
)
def test_a_bad_output_path_is_refused(tmp_path, name, message):
    with pytest.raises(BadInput, match=message):
        check_out(tmp_path / name)
