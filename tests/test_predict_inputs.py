"""Prediction inputs (pure Python): typed rows, texts, images and test windows."""

from __future__ import annotations

import io
import json
import math

import numpy as np
import pandas as pd
import pytest

from core.errors import BadInput
from core.predict.inputs import (
    parse_row,
    parse_text,
    pick_window,
    row_json,
    sample_row,
    save_image,
    source_run_dir,
)
from core.runs.status import RunStatus
from core.specs import SPEC_TYPES, PredictSpec, spec_from_dict
from core.training.features import FeatureSpec, ModelContract

CONTRACT = ModelContract(
    "classification",
    "species",
    [
        FeatureSpec("sepal length", "sepal_length", "float32"),
        FeatureSpec("colour", "colour", "string"),
        FeatureSpec("code", "code", "int64"),
    ],
    ["a", "b"],
    "table",
)


def png_bytes(size=(5, 4)) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", size, (200, 10, 10)).save(buf, format="PNG")
    return buf.getvalue()


def test_predict_spec_round_trips():
    spec = PredictSpec(source_run="r1", inputs_json='{"x": 1}')
    assert SPEC_TYPES["predict"] is PredictSpec
    assert spec_from_dict("predict", spec.to_dict()) == spec
    assert spec.window_index == -1


def test_a_typed_row_becomes_one_row_with_every_column():
    frame = parse_row('{"sepal length": "5.1", "colour": "red", "species": "a"}', CONTRACT)
    assert list(frame.columns) == ["sepal length", "colour", "code"]
    assert frame["sepal length"][0] == pytest.approx(5.1)
    assert frame["colour"][0] == "red"
    assert math.isnan(frame["code"][0])  # missing: the model treats it as unseen


def test_empty_and_null_cells_are_missing_values():
    frame = parse_row('{"sepal length": "", "colour": null, "code": 3.0}', CONTRACT)
    assert math.isnan(frame["sepal length"][0])
    assert frame["colour"][0] == ""
    assert frame["code"][0] == 3


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"petal": 1}, "unknown column 'petal': the model takes sepal length, colour, code"),
        ({"sepal length": "abc"}, "column 'sepal length' needs a number, not 'abc'"),
        ({"sepal length": "inf"}, "needs a finite number"),
        ({"code": 1.5}, "whole-number codes"),
        ({"colour": [1, 2]}, "one value"),
    ],
)
def test_bad_rows_say_what_is_wrong(row, message):
    with pytest.raises(BadInput, match=message):
        parse_row(json.dumps(row), CONTRACT)


def test_a_row_that_is_not_a_json_object_is_refused():
    with pytest.raises(BadInput, match="not valid JSON"):
        parse_row("{sepal", CONTRACT)
    with pytest.raises(BadInput, match="JSON object"):
        parse_row("[1, 2]", CONTRACT)


def test_sample_row_and_row_json(tmp_path):
    pd.DataFrame(
        {"sepal length": [4.9, 6.0], "colour": ["blue", "red"], "code": [2, 1], "species": "a"}
    ).to_csv(tmp_path / "test_sample.csv", index=False)
    row = sample_row(tmp_path, CONTRACT)
    assert row == {"sepal length": 4.9, "colour": "blue", "code": 2}
    assert sample_row(tmp_path / "none", CONTRACT) == dict.fromkeys(row)
    text = row_json({"a": np.float32(1.5), "b": float("nan"), "c": np.int64(2), "d": None})
    assert json.loads(text) == {"a": 1.5, "b": None, "c": 2, "d": None}


def test_text_input():
    contract = ModelContract("text-classification", "y", [FeatureSpec("review", "text", "string")])
    assert parse_text('{"text": "great film"}', contract) == "great film"
    assert parse_text('{"review": "bad"}', contract) == "bad"
    with pytest.raises(BadInput, match="type a text"):
        parse_text('{"text": "  "}', contract)


def test_images_are_checked_and_kept_by_content(tmp_path):
    data = png_bytes()
    path = save_image(tmp_path, data)
    assert path.parent == tmp_path / "playground" and path.suffix == ".png"
    assert path.read_bytes() == data
    assert save_image(tmp_path, data) == path
    with pytest.raises(BadInput, match="not a PNG or JPEG"):
        save_image(tmp_path, b"hello, not an image")


def test_windows_out_of_range_are_refused():
    windows = np.zeros((3, 4, 2), "float32")
    assert pick_window(windows, 2).shape == (1, 4, 2)
    for index in (-1, 3):
        with pytest.raises(BadInput, match="choose a test window from 0 to 2"):
            pick_window(windows, index)


def test_source_run_must_be_a_finished_training_run(ws, store):
    run = store.create_run("train", {})
    with pytest.raises(BadInput, match="only a finished training run"):
        source_run_dir(store, ws, run.id)
    store.set_status(run.id, RunStatus.RUNNING)
    store.finish_run(run.id, {})
    with pytest.raises(BadInput, match="no model.keras"):
        source_run_dir(store, ws, run.id)
    other = store.create_run("export", {})
    with pytest.raises(BadInput, match="predictions need a training run"):
        source_run_dir(store, ws, other.id)
