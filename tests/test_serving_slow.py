"""`tfstudio serve`: TF Serving's REST API for a real iris run, over real HTTP on loopback."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from tests.cli_helpers import iris_run_fixture
from tests.conftest import REPO, wait_until
from tests.test_browser import free_port

pytestmark = pytest.mark.slow

FEATURES = ["sepal_length_cm", "sepal_width_cm", "petal_length_cm", "petal_width_cm"]


iris_run = iris_run_fixture("iris-serve-home")


@pytest.fixture(scope="module")
def server(iris_run, tmp_path_factory):
    """`tfstudio serve RUN_ID --port P` in its own process."""
    home, payload = iris_run
    port = free_port()
    log = tmp_path_factory.mktemp("serve-log") / "serve.log"
    with open(log, "w") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "core.cli.main", "serve", payload["run_id"], "--port",
             str(port), "--home", str(home)],
            cwd=REPO, stdout=subprocess.PIPE, stderr=err, text=True, start_new_session=True,
        )  # fmt: skip
    try:
        line = proc.stdout.readline()  # the "listening" line, once the model is loaded
        assert line, log.read_text()[-3000:]
        assert json.loads(line)["port"] == port
        yield f"http://127.0.0.1:{port}/v1/models/species", payload
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


def call(url: str, body: bytes | dict | None = None, headers: dict | None = None):
    data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def sample_rows(payload, n=5):
    import pandas as pd

    rows = pd.read_csv(payload["artifacts"]["test_sample.csv"]).head(n)
    return rows


def keras_expected(payload, rows):
    from tests.test_training_slow import keras_predict

    art = payload["artifacts"]
    expected, _ = keras_predict(art["model.keras"], rows, art["features.json"])
    return expected


def test_status_and_metadata(server):
    url, _ = server
    status, body = call(url)
    assert status == 200
    assert body["model_version_status"][0] == {
        "version": "1", "state": "AVAILABLE", "status": {"error_code": "OK", "error_message": ""},
    }  # fmt: skip
    status, body = call(url + "/versions/1/metadata")
    assert status == 200 and body["model_spec"]["name"] == "species"
    sig = body["metadata"]["signature_def"]["signature_def"]["serving_default"]
    assert set(sig["inputs"]) == set(FEATURES)
    assert sig["inputs"]["sepal_length_cm"]["dtype"] == "DT_FLOAT"


def test_row_and_columnar_predictions_match_keras(server):
    url, payload = server
    rows = sample_rows(payload)
    expected = keras_expected(payload, rows)
    instances = [{f: [float(r[f])] for f in FEATURES} for _, r in rows.iterrows()]
    status, body = call(url + ":predict", {"instances": instances})
    assert status == 200, body
    assert np.max(np.abs(np.asarray(body["predictions"]) - expected)) < 1e-5
    # the columnar format (TF Serving answers it with "outputs")
    columns = {f: [[float(v)] for v in rows[f]] for f in FEATURES}
    status, body = call(url + "/versions/1:predict", {"inputs": columns})
    assert status == 200, body
    assert np.max(np.abs(np.asarray(body["outputs"]) - expected)) < 1e-5
    # the app's own example request (test_inputs.npz) is one the server takes
    from core.serving.process import example_request

    run_dir = payload["artifacts"]["model.keras"].rsplit("/", 1)[0]
    status, body = call(url + ":predict", example_request(Path(run_dir), rows=2))
    assert status == 200 and np.asarray(body["predictions"]).shape == (2, 3), body


def test_rows_of_scalars_and_null_for_a_missing_number_are_served(server):
    """#34: a table row as TF Serving tutorials send it (one scalar per column) gives the same
    prediction as the strict [x] form, and null is a missing value the model fills."""
    url, payload = server
    scalar = {"sepal_length_cm": 5.1, "sepal_width_cm": 3.5, "petal_length_cm": 1.4,
              "petal_width_cm": 0.2}  # fmt: skip
    strict = {f: [v] for f, v in scalar.items()}
    answers = [call(url + ":predict", {"instances": [row]}) for row in (scalar, strict)]
    assert [status for status, _ in answers] == [200, 200], answers
    first, second = (np.asarray(body["predictions"]) for _, body in answers)
    np.testing.assert_allclose(first, second, atol=1e-6)
    missing = {**strict, "sepal_length_cm": [None]}
    status, body = call(url + ":predict", {"instances": [missing]})
    assert status == 200 and np.isfinite(np.asarray(body["predictions"])).all(), body
    status, body = call(url + ":predict", {"instances": [{**strict, "sepal_length_cm": [True]}]})
    assert status == 400 and "Type: True is not of expected type: float" in body["error"], body


@pytest.mark.parametrize(
    "body, status, message",
    [
        (b"{not json", 400, "JSON Parse error: Missing a name for object member."),
        (b'{"instances": [1e400]}', 400, "Number too big to be stored in double"),
        ({"instances": []}, 400, "No values in 'instances' array"),
        ({"instances": [{"sepal_length_cm": [1.0]}]}, 400, "keys must be equal to"),
        (
            {"instances": [{**{f: [1.0] for f in FEATURES}, "colour": ["red"]}]},
            400,
            "does not have named input: colour",
        ),
        (
            {"instances": [{**{f: [1.0] for f in FEATURES}, "sepal_length_cm": ["x"]}]},
            400,
            "is not of expected type: float",
        ),
        ({"instances": [[1.0, 2.0, 3.0, 4.0]]}, 400, "instances is a plain list"),
        ({"inputs": {f: [[1.0], [2.0]] for f in FEATURES[:3]}}, 400, "Missing named input"),
        ({"instances": [{f: [[1.0, 2.0]] for f in FEATURES}]}, 400, "takes [-1,1]"),
        ({"rows": []}, 400, "Missing 'inputs' or 'instances' key"),
    ],
)
def test_bad_requests_get_tf_serving_errors(server, body, status, message):
    url, _ = server
    got_status, got = call(url + ":predict", body)
    assert got_status == status and set(got) == {"error"} and message in got["error"], got


def test_unknown_model_or_version_is_404_and_the_server_keeps_serving(server):
    url, _ = server
    base = url.rsplit("/", 1)[0]
    status, body = call(base + "/other:predict", {"instances": [{}]})
    assert status == 404 and "Servable not found" in body["error"]
    status, body = call(url + "/versions/7")
    assert status == 404 and "error" in body
    assert call(url)[0] == 200


def test_concurrent_requests_are_all_answered_correctly(server):
    url, payload = server
    rows = sample_rows(payload, 20)
    expected = keras_expected(payload, rows)

    def one(i):
        instance = {f: [float(rows.iloc[i][f])] for f in FEATURES}
        return i, call(url + ":predict", {"instances": [instance]})

    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(one, range(len(rows))))
    for i, (status, body) in results:
        assert status == 200, body
        assert np.max(np.abs(np.asarray(body["predictions"][0]) - expected[i])) < 1e-5


def test_token_and_size_limit(iris_run):
    """In process: a bearer token and a request size limit (settings of `tfstudio serve`)."""
    from core.serving.model import ServedModel
    from core.serving.server import make_server

    home, payload = iris_run
    saved = home / "runs" / payload["run_id"] / "serving" / "savedmodel"
    if not saved.exists():  # the CLI server fixture writes it; alone, write it here
        from core.export.convert import to_savedmodel
        from core.models.io import load_run_model

        to_savedmodel(load_run_model(home / "runs" / payload["run_id"]), saved)
    httpd = make_server(ServedModel(saved, "iris"), port=0, token="s3cret", max_body_bytes=2000)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{httpd.server_address[1]}/v1/models/iris"
    try:
        assert call(url)[0] == 401
        auth = {"Authorization": "Bearer s3cret"}
        assert call(url, headers=auth)[0] == 200
        big = {"instances": [{f: 1.0 for f in FEATURES}] * 100}
        status, body = call(url + ":predict", big, headers=auth)
        assert status == 413 and "over" in body["error"]
        wait_until(lambda: call(url, headers=auth)[0] == 200, timeout=5)
    finally:
        httpd.shutdown()
        httpd.server_close()
