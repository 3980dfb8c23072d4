"""`tfstudio serve` against TF Serving's own REST test cases, on real SavedModels.

Served here: TF Serving's half-plus-two test models (copied in tests/data/tf_serving, TF1 and
native TF2, with their `classify_*` / `regress_*` signatures), a tf.Module with several
signatures (unknown-rank input, a scalar output, string/bytes), and a Keras model exported with
`model.export`. The cases are those of tensorflow/serving's http_rest_api_handler_test.cc
(Predict, PredictRequestErrors, Regress, Classify, GetStatus, GetModelMetadata) and the REST
tests of tensorflow_model_server_test.py, with TF Serving's expected answers.
"""

from __future__ import annotations

import base64
import http.client
import json
import re
import shutil
import threading
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.slow
DATA = Path(__file__).parent / "data" / "tf_serving"
TF1 = "saved_model_half_plus_two_2_versions"  # the name http_rest_api_handler_test.cc serves


def _serve(slot):
    from core.serving.server import make_server

    server = make_server(slot, port=0)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/v1/models"


def _toolkit(folder: Path) -> None:
    import tensorflow as tf

    class Toolkit(tf.Module):
        def __init__(self):
            self.a, self.b = tf.Variable(0.5), tf.Variable(2.0)

        @tf.function(input_signature=[tf.TensorSpec(None, tf.float32, name="x")])
        def half_plus_two(self, x):
            return {"y": self.a * x + self.b}

        @tf.function(input_signature=[tf.TensorSpec(None, tf.float32, name="x")])
        def two(self, x):  # test_tf_saved_model_save_multiple_signatures: a scalar output
            return {"y": tf.constant(2.0) + 0.0 * tf.reduce_sum(x)}

        @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="s")])
        def echo(self, s):
            return {"echo_bytes": s, "length": tf.strings.length(s)}

    m = Toolkit()
    signatures = {"serving_default": m.half_plus_two, "custom_signature_key": m.two,
                  "bytes": m.echo}  # fmt: skip
    tf.saved_model.save(m, str(folder), signatures=signatures)


def _keras(folder: Path):
    import keras

    keras.utils.set_random_seed(0)
    a, b = keras.Input((1,), name="a"), keras.Input((1,), name="b")
    out = keras.layers.Dense(2, activation="softmax")(keras.layers.Concatenate()([a, b]))
    model = keras.Model({"a": a, "b": b}, out)
    model.export(str(folder), format="tf_saved_model", verbose=False)
    return model


@pytest.fixture(scope="module")
def urls(tmp_path_factory):
    """One server per model: {"tf1", "tf2", "toolkit", "keras"} -> base URL; and the Keras model."""
    from core.serving.versions import open_slot, point_to

    tmp = tmp_path_factory.mktemp("parity")
    tf1 = tmp / "tf1"
    shutil.copytree(DATA / TF1, tf1)
    point_to(tf1, 123, labels={"Version_Label": 123})  # the handler test's version label
    tf2 = tmp / "tf2"
    shutil.copytree(DATA / "saved_model_half_plus_two_tf2_cpu", tf2)
    _toolkit(tmp / "toolkit" / "1")
    model = _keras(tmp / "keras" / "1")
    servers, out = [], {}
    for key, base, name in [("tf1", tf1, TF1), ("tf2", tf2, TF1), ("toolkit", tmp / "toolkit",
                            "toolkit"), ("keras", tmp / "keras", "keras")]:  # fmt: skip
        slot, watcher = open_slot(base, name)
        watcher.stop()
        server, url = _serve(slot)
        servers.append(server)
        out[key] = url
    yield out, model, tmp
    for server in servers:
        server.shutdown()
        server.server_close()


def call(url: str, body=None, method=None):
    data = None if body is None else body if isinstance(body, bytes) else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


# -- GetModelMetadata, GetStatus -------------------------------------------------------------
def _without_defaults(metadata):
    for sig in metadata["metadata"]["signature_def"]["signature_def"].values():
        sig.pop("defaults", None)
    return metadata


def test_metadata_is_tf_servings_expected_answer(urls):
    url, _, _ = urls
    status, got = call(f"{url['tf1']}/{TF1}/metadata")
    want = json.loads((DATA / f"{TF1}_metadata.json").read_text())
    assert status == 200 and got == want  # all six signatures, byte for byte as protobuf JSON
    # TF2: the stored saved_model.pb is newer than TF Serving's expected file and also carries
    # SignatureDef.defaults (x's default value), which TF Serving prints too; the rest is equal.
    status, got = call(f"{url['tf2']}/{TF1}/versions/123/metadata")
    want = json.loads((DATA / "saved_model_half_plus_two_tf2_2_versions_metadata.json").read_text())
    assert status == 200 and _without_defaults(got) == _without_defaults(want)
    assert got["metadata"]["signature_def"]["signature_def"]["serving_default"]["outputs"]["y"][
        "name"] == "StatefulPartitionedCall_5:0"  # fmt: skip


def test_keras_metadata_has_every_signature_with_the_real_tensor_names(urls):
    from core.serving.model import read_signature_defs

    url, _, tmp = urls
    status, got = call(f"{url['keras']}/keras/metadata")
    sigs = got["metadata"]["signature_def"]["signature_def"]
    protos = read_signature_defs(tmp / "keras" / "1")
    assert status == 200 and set(sigs) == set(protos) and "serving_default" in sigs
    outputs = sigs["serving_default"]["outputs"]
    for key, info in outputs.items():
        assert info["name"] == protos["serving_default"].outputs[key].name
        assert re.fullmatch(r"StatefulPartitionedCall(_\d+)?:0", info["name"]), info["name"]
    assert sigs["serving_default"]["inputs"]["a"]["tensor_shape"]["dim"][1]["size"] == "1"
    assert got["model_spec"] == {"name": "keras", "signature_name": "", "version": "1"}


def test_status_by_name_version_and_label(urls):
    url, _, _ = urls
    ok = {"error_code": "OK", "error_message": ""}
    want = {"model_version_status": [{"version": "123", "state": "AVAILABLE", "status": ok}]}
    for path in ("", "/versions/123", "/labels/Version_Label"):
        assert call(f"{url['tf1']}/{TF1}{path}") == (200, want)


# -- Predict -----------------------------------------------------------------------------------
def test_predict_cases(urls):
    """HttpRestApiHandlerTest.Predict and testPredictREST / testPredictColumnarREST."""
    url, _, _ = urls
    hp = f"{url['toolkit']}/toolkit"  # x of any shape, as TF Serving's half_plus_two graph takes
    cases = [
        (":predict", {"instances": [[1.0, 2.0], [3.0, 4.0]]}, {"predictions": [[2.5, 3.0],
                                                                               [3.5, 4.0]]}),
        ("/versions/1:predict", {"instances": [1.0, 2.0]}, {"predictions": [2.5, 3.0]}),
        ("/versions/1:predict", {"signature_name": "serving_default", "instances": [3.0, 4.0]},
         {"predictions": [3.5, 4.0]}),
        ("/versions/1:predict", {"signature_name": "serving_default", "inputs": [3.0, 4.0]},
         {"outputs": [3.5, 4.0]}),
        (":predict", {"instances": [2.0, 3.0, 4.0]}, {"predictions": [3.0, 3.5, 4.0]}),
        (":predict", {"inputs": [2.0, 3.0, 4.0]}, {"outputs": [3.0, 3.5, 4.0]}),
    ]  # fmt: skip
    for path, body, want in cases:
        assert call(hp + path, body) == (200, want), (path, body)
    # the TF1 model by version label; its x is [-1, 1], so one value per instance is [x]
    status, got = call(f"{url['tf1']}/{TF1}/labels/Version_Label:predict",
                       {"instances": [[1.0], [2.0]]})  # fmt: skip
    assert (status, got) == (200, {"predictions": [[2.5], [3.0]]})
    # TF2's native model: x is [1]
    want = {"predictions": [3.0]}
    assert call(f"{url['tf2']}/{TF1}:predict", {"instances": [2.0]}) == (200, want)


def test_scalars_for_a_column_input_are_taken_as_one_value_per_row(urls):
    """#34: one scalar per instance for a [-1, 1] input, as TF Serving tutorials send table
    rows, is the column [[1.0], [2.0]]; a shape that fits no way is still refused by name."""
    url, _, _ = urls
    got = call(f"{url['tf1']}/{TF1}:predict", {"instances": [1.0, 2.0]})
    assert got == (200, {"predictions": [[2.5], [3.0]]})
    status, got = call(f"{url['tf1']}/{TF1}:predict", {"instances": [[1.0, 2.0]]})
    assert (
        status == 400
        and "got shape [1,2] but signature serving_default takes [-1,1]" in (got["error"])
    )


def test_predict_request_errors(urls):
    url, _, _ = urls
    path = f"{url['tf1']}/{TF1}:predict"
    for body, message in [
        (b"", "JSON Parse error: The document is empty"),
        (b"instances = [1, 2]", "JSON Parse error: Invalid value"),
        ({"instances": ["x", "y"]}, "not of expected type: float"),
        ({"signature_name": 100}, "'signature_name' key must be a string value."),
        ({"signature_name": "nope", "instances": [[1.0]]}, '"nope" not found in signature def'),
        (b'{"instances": [[1e400]]}', "Number too big to be stored in double"),
        ({"instances": [[None]]}, "Type: Null is not of expected type: float"),
    ]:
        status, got = call(path, body)
        assert status == 400 and message in got["error"], (body, got)
    status, got = call(f"{url['tf1']}/{TF1}/labels/Version_Nonexistent:predict",
                       {"instances": ["x", "y"]})  # fmt: skip
    assert status == 400 and "Unrecognized servable version label" in got["error"]
    status, got = call(f"{url['tf1']}/foo:predict", {"instances": [1]})
    assert status == 404 and "Servable not found for request: Latest(foo)" in got["error"]


def test_every_signature_by_name_and_scalar_outputs(urls):
    url, _, _ = urls
    hp = f"{url['toolkit']}/toolkit:predict"
    body = {"signature_name": "custom_signature_key", "inputs": [2.0]}
    assert call(hp, body) == (200, {"outputs": 2.0})
    status, got = call(hp, {"signature_name": "custom_signature_key", "instances": [2.0]})
    assert status == 400 and "Tensor name: y has no shape information" in got["error"]
    status, got = call(hp, {"signature_name": "__saved_model_init_op", "instances": [1.0]})
    assert (
        status == 400
        and "Failed to get input map for signature: __saved_model_init_op" in (got["error"])
    )


def test_b64_inputs_and_bytes_outputs(urls):
    url, _, _ = urls
    raw = [b"\x00\xff\x10binary", b"text"]
    instances = [{"b64": base64.b64encode(r).decode()} for r in raw]
    status, got = call(f"{url['toolkit']}/toolkit:predict",
                       {"signature_name": "bytes", "instances": instances})  # fmt: skip
    assert status == 200, got
    assert got == {"predictions": [{"echo_bytes": instances[0], "length": 9},
                                   {"echo_bytes": instances[1], "length": 4}]}  # fmt: skip
    status, got = call(f"{url['toolkit']}/toolkit:predict",
                       {"signature_name": "bytes", "inputs": ["plain", "text"]})  # fmt: skip
    assert got["outputs"]["length"] == [5, 4] and got["outputs"]["echo_bytes"][0] == {
        "b64": base64.b64encode(b"plain").decode()
    }


def test_keras_predictions_match_keras_and_strict_inputs(urls):
    url, model, _ = urls
    keras_url = f"{url['keras']}/keras:predict"
    a, b = np.array([[0.5], [1.5], [-2.0]], "float32"), np.array([[1.0], [0.0], [3.0]], "float32")
    expected = np.asarray(model({"a": a, "b": b}))
    rows = [{"a": [float(x[0])], "b": [float(y[0])]} for x, y in zip(a, b, strict=True)]
    status, got = call(keras_url, {"instances": rows})
    assert status == 200 and np.abs(np.asarray(got["predictions"]) - expected).max() < 1e-6
    status, got = call(keras_url, {"inputs": {"a": a.tolist(), "b": b.tolist()}})
    assert status == 200 and np.abs(np.asarray(got["outputs"]) - expected).max() < 1e-6
    # one scalar per instance for a [-1, 1] input is that column (#34)
    scalars = [{"a": float(x[0]), "b": float(y[0])} for x, y in zip(a, b, strict=True)]
    status, got = call(keras_url, {"instances": scalars})
    assert status == 200 and np.abs(np.asarray(got["predictions"]) - expected).max() < 1e-6
    for body, message in [
        # a plain Keras SavedModel lists no inputs it fills: null stays refused, as in TF Serving
        ({"instances": [{"a": [None], "b": [1.0]}]}, "Type: Null is not of expected type: float"),
        ({"instances": [[0.5, 1.0]]}, "instances is a plain list"),
        ({"instances": [{"a": [True], "b": [1.0]}]}, "Type: True is not of expected type: float"),
    ]:
        status, got = call(keras_url, body)
        assert status == 400 and message in got["error"], (body, got)


def test_a_chunked_body_from_a_real_client(urls):
    url, _, _ = urls
    host = url["toolkit"].split("//")[1].split("/")[0]
    conn = http.client.HTTPConnection(host, timeout=30)
    body = json.dumps({"instances": [2.0, 3.0, 4.0]}).encode()
    conn.request("POST", "/v1/models/toolkit:predict", body=iter([body[:5], body[5:]]),
                 encode_chunked=True)  # fmt: skip
    response = conn.getresponse()
    want = {"predictions": [3.0, 3.5, 4.0]}
    assert response.status == 200 and json.loads(response.read()) == want
    conn.close()


# -- Classify, Regress -------------------------------------------------------------------------
@pytest.mark.parametrize("model", ["tf1", "tf2"])
def test_regress_and_classify(urls, model):
    """HttpRestApiHandlerTest.Regress/Classify, testClassifyREST/testRegressREST (and Tf2)."""
    url, _, _ = urls
    base = f"{url[model]}/{TF1}"
    regress = {"signature_name": "regress_x_to_y", "examples": [{"x": 80.0}]}
    assert call(base + ":regress", regress) == (200, {"results": [42.0]})
    assert call(base + "/versions/123:regress", regress) == (200, {"results": [42.0]})
    body = {"signature_name": "regress_x_to_y", "examples": [{"x": 2.0}]}
    assert call(base + ":regress", body) == (200, {"results": [3.0]})
    body = {"signature_name": "regress_x_to_y2", "examples": [{"x": 2.0}]}  # y2 = 0.5x + 3
    assert call(base + ":regress", body) == (200, {"results": [4.0]})
    classify = {"signature_name": "classify_x_to_y", "examples": [{"x": 20.0}]}
    assert call(base + ":classify", classify) == (200, {"results": [[["", 12.0]]]})
    body = {"signature_name": "classify_x_to_y", "examples": [{"x": 2.0}, {"x": 10.0}]}
    assert call(base + ":classify", body) == (200, {"results": [[["", 3.0]], [["", 7.0]]]})
    # a context merged into each example; the example's own features win
    body = {"signature_name": "regress_x_to_y", "context": {"x": 80.0},
            "examples": [{}, {"x": 2.0}]}  # fmt: skip
    assert call(base + ":regress", body) == (200, {"results": [42.0, 3.0]})


def test_classify_and_regress_errors_as_tf_serving(urls):
    url, _, _ = urls
    base = f"{url['tf1']}/{TF1}"
    label = {"signature_name": "classify_x_to_y", "examples": [{"x": 10.0}]}
    want = {"results": [[["", 7.0]]]}
    assert call(base + "/labels/Version_Label:classify", label) == (200, want)
    for path, body, status, message in [
        (":classify", {"examples": [{"x": 2.0}]}, 400, "No classification inputs found"),
        (":regress", {"examples": [{"x": 2.0}]}, 400, "No regression inputs found"),
        (":regress", {"signature_name": "nope", "examples": [{"x": 1.0}]}, 400,
         "No signature was found with the name: nope"),
        (":regress", {"signature_name": "regress_x2_to_y3", "examples": [{"x": 1.0}]}, 400,
         "Expects arg[0] to be float but string is provided"),
        (":regress", {"signature_name": "regress_x_to_y"}, 400, "key 'examples' is expected"),
        (":regress", {"signature_name": "regress_x_to_y", "examples": []}, 400, "empty array"),
        (":classify", {"signature_name": "classify_x_to_y", "examples": [{"x": [None]}]}, 400,
         "x has element with unexpected JSON type: Null"),
    ]:  # fmt: skip
        got_status, got = call(base + path, body)
        assert got_status == status and message in got["error"], (body, got)
    # a Keras model has no classify/regress signature: TF Serving's error for serving_default
    status, got = call(f"{url['keras']}/keras:classify", {"examples": [{"a": 1.0}]})
    assert status == 400 and got["error"] == "Expected one input Tensor."
