"""`tfstudio predict` with real models: a table file (by run id and by registered version),
its bad rows refused or skipped, every output format, a .txt of Unicode texts, an image zip with
a file that does not decode, and a series' next steps; predictions equal the model's own."""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from tests.cli_helpers import cli_json, iris_run_fixture, write_reviews
from tests.conftest import tfstudio

pytestmark = pytest.mark.slow

iris_run = iris_run_fixture("batch-predict-home", epochs=10)


def new_rows(home, run_id, tmp_path):
    """The run's held-out rows as a user's new file: columns reordered, one extra, no target."""
    sample = pd.read_csv(home / "runs" / run_id / "test_sample.csv")
    frame = sample.drop(columns=["species"])
    frame = frame[list(reversed(frame.columns))].assign(batch="2026-12")
    path = tmp_path / "new.csv"
    frame.to_csv(path, index=False)
    return path, sample


def model_probabilities(home, run_id, sample):
    from core.models.io import load_run_model
    from core.predict.inputs import load_contract
    from core.training.features import to_inputs

    folder = home / "runs" / run_id
    contract = load_contract(folder)
    return np.asarray(
        load_run_model(folder).predict(to_inputs(sample, contract.features), verbose=0)
    )


def test_a_table_file_gets_the_models_own_predictions(iris_run, tmp_path):
    home, run = iris_run
    path, sample = new_rows(home, run["run_id"], tmp_path)
    out = tmp_path / "predictions.csv"
    payload = cli_json(home, "predict", run["run_id"], "--data", str(path), "--out", str(out))
    assert payload["status"] == "SUCCEEDED"
    assert payload["rows_predicted"] == len(sample) and payload["bad_rows"] == 0
    assert payload["ignored_columns"] == ["batch"]
    got = pd.read_csv(out)
    classes = run["result"]["classes"]
    assert got.columns.tolist() == ["row", "predicted", "confidence", *[f"p_{c}" for c in classes]]
    assert got["row"].tolist() == list(range(1, len(sample) + 1))
    expected = model_probabilities(home, run["run_id"], sample)
    assert np.abs(got[[f"p_{c}" for c in classes]].to_numpy() - expected).max() < 1e-5
    assert got["predicted"].tolist() == [classes[i] for i in expected.argmax(axis=1)]
    assert payload["preview"][0]["predicted"] == got["predicted"].iloc[0]


def test_a_registered_version_predicts_into_parquet_and_jsonl(iris_run, tmp_path):
    home, run = iris_run
    cli_json(home, "registry", "register", run["run_id"], "--name", "flowers")
    path, sample = new_rows(home, run["run_id"], tmp_path)
    for suffix, read in (
        (".parquet", pd.read_parquet),
        (".jsonl", lambda p: pd.read_json(p, lines=True)),
    ):
        out = tmp_path / f"p{suffix}"
        payload = cli_json(home, "predict", "flowers@v1", "--data", str(path), "--out", str(out))
        assert payload["model"] == "flowers@v1" and payload["source_run"] == run["run_id"]
        assert len(read(out)) == len(sample)


def test_bad_rows_refuse_the_file_or_are_skipped_and_named(iris_run, tmp_path):
    home, run = iris_run
    path, sample = new_rows(home, run["run_id"], tmp_path)
    frame = pd.read_csv(path).astype(object)
    frame.loc[2, "petal_length_cm"] = "long"
    frame.to_csv(path, index=False)
    out = tmp_path / "refused.csv"
    done = tfstudio("predict", run["run_id"], "--data", str(path), "--out", str(out),
                    "--home", str(home))  # fmt: skip
    assert done.returncode != 0
    assert "row 3: 'petal_length_cm' needs a number, not 'long'" in done.stderr + done.stdout
    assert "choose to skip rows that cannot be read" in done.stderr + done.stdout
    assert not out.exists() and not list(tmp_path.glob("*.partial"))

    payload = cli_json(home, "predict", run["run_id"], "--data", str(path), "--out", str(out),
                       "--bad-rows", "skip")  # fmt: skip
    assert payload["rows_predicted"] == len(sample) - 1 and payload["bad_rows"] == 1
    assert payload["bad_examples"] == [
        {"where": "row 3", "reason": "'petal_length_cm' needs a number, not 'long'"}
    ]
    assert 3 not in pd.read_csv(out)["row"].tolist()


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p.write_text(""), "is empty"),
        (lambda p: p.write_text("sepal_length_cm,colour\n1,red\n"), "lacks the columns"),
    ],
)
def test_a_wrong_file_exits_2_before_any_worker(iris_run, tmp_path, make, message):
    home, run = iris_run
    path = tmp_path / "bad.csv"
    make(path)
    done = tfstudio("predict", run["run_id"], "--data", str(path), "--home", str(home))
    assert done.returncode == 2 and message in done.stderr
    assert "Traceback" not in done.stderr


def test_a_text_model_reads_a_txt_of_unicode_texts(tmp_path):
    home = tmp_path / "home"
    data = tmp_path / "reviews.csv"
    write_reviews(data, 120, 4, ["great", "superb", "loved"], ["awful", "boring", "hated"])
    run = cli_json(home, "train", "--data", str(data), "--target", "sentiment",
                   "--text-column", "review", "--epochs", "5")  # fmt: skip
    texts = tmp_path / "new.txt"
    texts.write_text(
        "I loved it \u2014 superb \U0001f600\n\nit\u2019s awful, boring \u05e9\u05dc\u05d5\u05dd\n"
    )
    out = tmp_path / "p.jsonl"
    payload = cli_json(home, "predict", run["run_id"], "--data", str(texts), "--out", str(out))
    got = [json.loads(line) for line in out.read_text().splitlines()]
    assert [g["line"] for g in got] == [1, 3] and payload["rows_predicted"] == 2
    assert all(abs(g["p_negative"] + g["p_positive"] - 1) < 1e-5 for g in got)


def _png(value: int, size: int = 12) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (size, size), (value, value, value)).save(buf, format="PNG")
    return buf.getvalue()


def test_an_image_zip_with_a_broken_file_is_predicted_and_the_file_named(tmp_path):
    home = tmp_path / "home"
    train = tmp_path / "shades.zip"
    with zipfile.ZipFile(train, "w") as z:
        for i in range(12):
            z.writestr(f"dark/{i}.png", _png(10 + i))
            z.writestr(f"light/{i}.png", _png(230 - i))
    run = cli_json(home, "train", "--data", str(train), "--epochs", "2", "--image-size", "16")
    new = tmp_path / "new.zip"
    with zipfile.ZipFile(new, "w") as z:
        z.writestr("x/a.png", _png(20, size=30))  # another size: resized as in training
        z.writestr("x/b.jpg", b"\xff\xd8 not a jpeg")
    out = tmp_path / "p.csv"
    payload = cli_json(home, "predict", run["run_id"], "--data", str(new), "--out", str(out),
                       "--bad-rows", "skip")  # fmt: skip
    assert payload["bad_examples"][0]["where"] == "x/b.jpg"
    got = pd.read_csv(out)
    assert got["file"].tolist() == ["x/a.png"] and set(got["predicted"]) <= {"dark", "light"}


def test_a_forecaster_gives_the_steps_after_the_series(tmp_path):
    home = tmp_path / "home"
    t = np.arange(120)
    series = pd.DataFrame({"t": t, "y": 10 + np.sin(t / 3) + t / 50})
    data = tmp_path / "series.csv"
    series.to_csv(data, index=False)
    window = ["--time-column", "t", "--window", "12", "--horizon", "3"]
    run = cli_json(home, "train", "--data", str(data), "--task", "forecasting", "--target", "y",
                   *window, "--epochs", "3")  # fmt: skip
    out = tmp_path / "p.csv"
    cli_json(home, "predict", run["run_id"], "--data", str(data), "--out", str(out))
    got = pd.read_csv(out)
    assert got["step"].tolist() == [1, 2, 3] and got["after"].tolist() == [119] * 3
    assert got["y"].between(5, 15).all()
