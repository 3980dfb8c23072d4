"""The predict job with a real model: train a tiny iris model, then predict one typed row."""

from __future__ import annotations

import json

import numpy as np
import pytest

from core.runs import launcher
from core.runs.status import RunStatus
from core.runs.store import RunStore
from core.specs import PredictSpec
from core.workspace import Workspace
from tests.cli_helpers import train_iris
from tests.conftest import tfstudio

pytestmark = pytest.mark.slow

ROW = {
    "sepal_length_cm": 5.1,
    "sepal_width_cm": 3.5,
    "petal_length_cm": 1.4,
    "petal_width_cm": 0.2,
}


@pytest.fixture(scope="module")
def iris(tmp_path_factory):
    home = tmp_path_factory.mktemp("predict-home")
    payload = train_iris(home, 5)
    assert payload["status"] == "SUCCEEDED"
    return home, payload


@pytest.fixture
def predict(iris, monkeypatch):
    home, payload = iris
    monkeypatch.setenv("TFSTUDIO_HOME", str(home))
    monkeypatch.delenv("TFSTUDIO_HANDLERS", raising=False)
    ws = Workspace.resolve(home)
    store = RunStore(ws.db_path)

    def run(**fields):
        spec = PredictSpec(source_run=payload["run_id"], **fields)
        submitted = launcher.submit(ws, store, spec, name="predict test")
        return launcher.wait(store, submitted.id, timeout_s=180)

    return run


def test_a_typed_row_gets_class_probabilities(predict, iris):
    _, payload = iris
    done = predict(inputs_json=json.dumps(ROW))
    assert done.status is RunStatus.SUCCEEDED, done.error
    result = done.result
    classes = payload["result"]["classes"]
    assert result["task"] == "classification" and result["input_kind"] == "table"
    assert result["classes"] == classes == ["setosa", "versicolor", "virginica"]
    assert len(result["probabilities"]) == 3
    assert sum(result["probabilities"]) == pytest.approx(1.0, abs=1e-5)
    assert all(0.0 <= p <= 1.0 for p in result["probabilities"])
    assert result["predicted_class"] in classes
    best = max(range(3), key=lambda i: result["probabilities"][i])
    assert result["predicted_class"] == classes[best]
    assert result["row"] == ROW


def test_a_row_with_gaps_still_predicts(predict):
    done = predict(inputs_json=json.dumps({"petal_length_cm": 5.0, "sepal_width_cm": ""}))
    assert done.status is RunStatus.SUCCEEDED, done.error
    assert sum(done.result["probabilities"]) == pytest.approx(1.0, abs=1e-5)


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({**ROW, "petal_colour": "blue"}, "unknown column 'petal_colour': the model takes"),
        ({**ROW, "sepal_length_cm": "five"}, "column 'sepal_length_cm' needs a number, not 'five'"),
    ],
)
def test_a_bad_row_fails_with_what_to_fix(predict, row, message):
    done = predict(inputs_json=json.dumps(row))
    assert done.status is RunStatus.FAILED
    assert message in done.error
    assert "Traceback" not in done.error


def submit_and_wait(home, spec: PredictSpec):
    ws = Workspace.resolve(home)
    store = RunStore(ws.db_path)
    return launcher.wait(store, launcher.submit(ws, store, spec).id, timeout_s=180)


@pytest.fixture
def plain_env(monkeypatch):
    monkeypatch.delenv("TFSTUDIO_HANDLERS", raising=False)


def test_an_image_of_any_size_is_classified(tmp_path, plain_env, monkeypatch):
    from PIL import Image

    from tests.test_families_slow import colour_zip, train

    monkeypatch.setenv("TFSTUDIO_HOME", str(tmp_path))
    (tmp_path / "colours.zip").write_bytes(colour_zip(12))
    imported = tfstudio(
        "data", "import", str(tmp_path / "colours.zip"), "--json", "--home", str(tmp_path)
    )
    assert imported.returncode == 0, imported.stderr
    payload = train(
        tmp_path, "--data", json.loads(imported.stdout)["id"], "--epochs", "2", "--image-size", "32"
    )
    Image.new("RGB", (57, 31), (210, 30, 30)).save(tmp_path / "red.jpg", "JPEG")
    done = submit_and_wait(
        tmp_path, PredictSpec(source_run=payload["run_id"], image_path=str(tmp_path / "red.jpg"))
    )
    assert done.status is RunStatus.SUCCEEDED, done.error
    assert done.result["input_kind"] == "image"
    assert sum(done.result["probabilities"]) == pytest.approx(1.0, abs=1e-5)
    assert done.result["predicted_class"] in ("blue", "red")
    (tmp_path / "notes.png").write_text("not an image")
    bad = submit_and_wait(
        tmp_path, PredictSpec(source_run=payload["run_id"], image_path=str(tmp_path / "notes.png"))
    )
    assert bad.status is RunStatus.FAILED and "not a PNG or JPEG image" in bad.error


def test_a_text_is_classified(tmp_path, plain_env, monkeypatch):
    from tests.test_families_slow import reviews_csv, train

    monkeypatch.setenv("TFSTUDIO_HOME", str(tmp_path))
    reviews_csv(tmp_path / "reviews.csv", n=120)
    imported = tfstudio(
        "data", "import", str(tmp_path / "reviews.csv"), "--target", "sentiment", "--json",
        "--home", str(tmp_path),
    )  # fmt: skip
    assert imported.returncode == 0, imported.stderr
    payload = train(
        tmp_path, "--data", json.loads(imported.stdout)["id"], "--target", "sentiment",
        "--epochs", "2",
    )  # fmt: skip
    done = submit_and_wait(
        tmp_path,
        PredictSpec(
            source_run=payload["run_id"], inputs_json=json.dumps({"text": "a superb story"})
        ),
    )
    assert done.status is RunStatus.SUCCEEDED, done.error
    assert done.result["input_kind"] == "text" and done.result["text"] == "a superb story"
    assert sum(done.result["probabilities"]) == pytest.approx(1.0, abs=1e-5)
    assert done.result["predicted_class"] in ("negative", "positive")


def test_a_saved_test_window_is_forecast(tmp_path, plain_env, monkeypatch):
    from tests.test_families_slow import train

    monkeypatch.setenv("TFSTUDIO_HOME", str(tmp_path))
    payload = train(
        tmp_path, "--data", "sample:stocks", "--target", "GOOG,AAPL", "--task", "forecasting",
        "--epochs", "2", "--window", "8", "--horizon", "2",
    )  # fmt: skip
    done = submit_and_wait(tmp_path, PredictSpec(source_run=payload["run_id"], window_index=1))
    assert done.status is RunStatus.SUCCEEDED, done.error
    result = done.result
    assert result["task"] == "forecasting" and result["input_kind"] == "sequence"
    assert "probabilities" not in result and "predicted_class" not in result
    assert result["target"] == "GOOG,AAPL" and result["window_index"] == 1
    assert np.asarray(result["prediction"]).shape == (2, 2)  # (horizon, targets)
    assert np.isfinite(result["prediction"]).all()
    bad = submit_and_wait(tmp_path, PredictSpec(source_run=payload["run_id"], window_index=999))
    assert bad.status is RunStatus.FAILED and "window 999 does not exist" in bad.error
