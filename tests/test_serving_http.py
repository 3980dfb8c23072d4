"""The REST server's routing and HTTP hardening, over real sockets, with a stand-in model.

The routing cases are tensorflow/serving's http_rest_api_handler_test.cc (UnsupportedApiCalls,
PredictModelNameVersionErrors, GetStatus with versions and labels); the hardening cases are
hostile clients on raw sockets (issue 19). The model is a numpy half-plus-two behind TF
Serving's real JSON rules (core/serving/json_tensor.py), so no TensorFlow is imported.
"""

from __future__ import annotations

import json
import socket
import threading
import time

import numpy as np
import pytest

from core.serving.json_tensor import RequestError, TensorInfo, predict_tensors
from core.serving.model import Predict
from core.serving.server import make_server
from core.serving.versions import ModelSlot

NAME = "half_plus_two"


class HalfPlusTwo:
    """y = 0.5 x + 2 over a (-1, 1) float input; `fail` makes run() raise (a server bug)."""

    def __init__(self, version=123, fail=None):
        self.name, self.version, self.fail = NAME, version, fail
        self.infos = {"x": TensorInfo("float32", (None, 1))}

    def metadata(self):
        return {"model_spec": {"name": self.name, "signature_name": "",
                               "version": str(self.version)}}  # fmt: skip

    def parse(self, doc):
        def inputs_for(sig):
            if (sig or "serving_default") != "serving_default":
                raise RequestError(f'Serving signature name: "{sig}" not found in signature def')
            return self.infos

        sig, arrays, form = predict_tensors(doc, inputs_for)
        return Predict("serving_default", arrays, form)

    def run(self, arrays, signature="serving_default"):
        if self.fail:
            raise self.fail
        return {"y": arrays["x"] * np.float32(0.5) + np.float32(2)}

    def classify(self, doc):
        raise RequestError("No classification inputs found in SignatureDef: x")

    regress = classify


def start(model=None, **kwargs):
    slot = ModelSlot(model or HalfPlusTwo(), labels={"stable": 123, "canary": 124})
    server = make_server(slot, port=0, **kwargs)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    return server


@pytest.fixture
def server():
    httpd = start(max_body_bytes=4096, header_timeout_s=1.0, body_timeout_s=1.5, max_connections=4)
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def raw(server, data: bytes, read_timeout: float = 5.0, then_close: bool = False) -> bytes:
    """Send bytes on a fresh connection; everything the server answers until it closes (or
    until `read_timeout`)."""
    with socket.create_connection(server.server_address[:2], timeout=read_timeout) as s:
        s.sendall(data)
        if then_close:
            s.shutdown(socket.SHUT_WR)
        out = b""
        try:
            while chunk := s.recv(65536):
                out += chunk
                if _complete(out):
                    break
        except TimeoutError:
            pass
        return out


def _complete(data: bytes) -> bool:
    head, sep, body = data.partition(b"\r\n\r\n")
    if not sep:
        return False
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return len(body) >= int(line.split(b":")[1])
    return False


def request(method: str, path: str, body: bytes | None = None, headers: str = "") -> bytes:
    length = f"Content-Length: {len(body)}\r\n" if body is not None else ""
    return (f"{method} {path} HTTP/1.1\r\nHost: x\r\n{length}{headers}\r\n").encode() + (
        body or b""
    )


def answer(data: bytes) -> tuple[int, dict]:
    head, _, body = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    assert b"application/json" in head, head
    return status, json.loads(body)


def read_response(s: socket.socket) -> bytes:
    """One whole response from a kept-open connection: the server may send its head and body in
    separate writes, so a single recv() can end after the head."""
    data = b""
    while b"\r\n\r\n" not in data or len(data.partition(b"\r\n\r\n")[2]) < _length(data):
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


def _length(data: bytes) -> int:
    for line in data.partition(b"\r\n\r\n")[0].split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value)
    return 0


def call(server, method, path, body=None, headers=""):
    payload = body if body is None or isinstance(body, bytes) else json.dumps(body).encode()
    return answer(raw(server, request(method, path, payload, headers)))


# -- routing (http_rest_api_handler_test.cc) ---------------------------------------------------
@pytest.mark.parametrize(
    "method, path, message",
    [
        ("GET", "/v1/foo", "Malformed request"),
        ("POST", "/v1/foo", "Malformed request"),
        ("GET", "/v1/models", "Missing model name"),
        ("GET", "/v1/models/debug/model_name", "Malformed request"),
        ("POST", "/v1/models", "Malformed request"),
        ("GET", "/v1/models/foo:predict", "Malformed request"),
        ("GET", "/v1/models/foo/version/50:predict", "Malformed request"),
        ("POST", "/v1/models/foo/version/50:regress", "Malformed request"),
        ("POST", "/v1/models/foo/versions/HELLO:regress", "Malformed request"),
        ("POST", f"/v1/models/foo/versions/{2**64 - 1}:regress", "Failed to convert version"),
        ("POST", "/v1/models/foo/metadata", "Malformed request"),
        ("POST", "/v1/models/foo/label/some_label:regress", "Malformed request"),
        ("POST", "/v1/models/foo/versions/50/labels/some_label:regress", "Malformed request"),
        ("POST", "/v1/models/foo/versions/some_label:regress", "Malformed request"),
        ("GET", f"/v1/models/{NAME}/versions/HELLO", "Malformed request"),
        ("PUT", f"/v1/models/{NAME}", "Malformed request: PUT"),
        ("DELETE", f"/v1/models/{NAME}", "Malformed request: DELETE"),
        ("POST", f"/v1/models/{NAME}:PREDICT", "Malformed request"),  # the path is (?i)
    ],
)
def test_unsupported_api_calls_are_400_with_tf_servings_message(server, method, path, message):
    status, body = call(server, method, path, b"" if method != "GET" else None)
    assert status == 400 and set(body) == {"error"} and message in body["error"], body


def test_outside_v1_is_a_json_404(server):
    status, body = call(server, "GET", "/statuspage")
    assert status == 404 and "error" in body


@pytest.mark.parametrize(
    "path, message",
    [
        ("/v1/models/foo:predict", "Servable not found for request: Latest(foo)"),
        ("/v1/models/foo/versions/50:predict", "Servable not found for request: Specific(foo, 50)"),
        (f"/v1/models/{NAME}99:predict", f"Latest({NAME}99)"),
        (f"/v1/models/{NAME}/versions/7:predict", f"Specific({NAME}, 7)"),
        (f"/v1/models/{NAME}/labels/canary:predict", f"Specific({NAME}, 124)"),  # not served
    ],
)
def test_predict_model_name_version_errors_are_404(server, path, message):
    status, body = call(server, "POST", path, {"instances": [[1.0]]})
    assert status == 404 and message in body["error"], body


def test_predict_by_version_label_and_signature(server):
    for path in ("", "/versions/123", "/labels/stable"):
        status, body = call(server, "POST", f"/v1/models/{NAME}{path}:predict",
                            {"instances": [[1.0], [2.0]]})  # fmt: skip
        assert status == 200 and body == {"predictions": [[2.5], [3.0]]}, body
    body = {"signature_name": "serving_default", "inputs": [[3.0], [4.0]]}
    want = {"outputs": [[3.5], [4.0]]}
    assert call(server, "POST", f"/v1/models/{NAME}:predict", body) == (200, want)
    status, body = call(server, "POST", f"/v1/models/{NAME}/labels/nope:predict",
                        {"instances": ["x", "y"]})  # fmt: skip
    assert status == 400 and "Unrecognized servable version label: nope" in body["error"]
    status, body = call(server, "POST", f"/v1/models/{NAME}:predict", {"signature_name": 100})
    assert status == 400 and "'signature_name' key must be a string value." in body["error"]
    status, body = call(server, "POST", f"/v1/models/{NAME}:predict", {"instances": ["x", "y"]})
    assert status == 400 and "not of expected type: float" in body["error"]
    status, body = call(server, "POST", f"/v1/models/{NAME}:predict", b"")
    assert status == 400 and "JSON Parse error: The document is empty" in body["error"]


def test_status_by_version_and_label(server):
    ok = {"error_code": "OK", "error_message": ""}
    want = {"model_version_status": [{"version": "123", "state": "AVAILABLE", "status": ok}]}
    for path in ("", "/versions/123", "/labels/stable"):
        assert call(server, "GET", f"/v1/models/{NAME}{path}") == (200, want)
    status, body = call(server, "GET", f"/v1/models/{NAME}/versions/9")
    assert status == 404 and body["error"] == f"Could not find version 9 of model {NAME}"
    status, body = call(server, "GET", "/v1/models/other")
    assert status == 404 and body["error"] == "Could not find any versions of model other"
    status, body = call(server, "GET", f"/v1/models/{NAME}/labels/nope/metadata")
    assert status == 400 and "Unrecognized servable version label" in body["error"]
    assert call(server, "GET", f"/v1/models/{NAME}/labels/stable/metadata")[0] == 200


def test_own_failures_are_5xx_and_the_server_keeps_serving():
    httpd = start(HalfPlusTwo(fail=RuntimeError("the batcher lost its thread")))
    try:
        status, body = call(httpd, "POST", f"/v1/models/{NAME}:predict", {"instances": [[1.0]]})
        assert status == 500 and "Internal: RuntimeError" in body["error"]
        assert call(httpd, "GET", f"/v1/models/{NAME}")[0] == 200
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_cors_preflight(server):
    assert call(server, "OPTIONS", f"/v1/models/{NAME}", headers="Origin: http://a.b\r\n")[0] == 200
    status, body = call(server, "OPTIONS", f"/v1/models/{NAME}")
    assert status == 400 and "Origin header is missing in CORS preflight" in body["error"]


# -- hardening (issue 19) ------------------------------------------------------------------------
PREDICT = f"/v1/models/{NAME}:predict"


@pytest.mark.parametrize(
    "length, status, message",
    [("abc", 400, "bad Content-Length"), ("-1", 400, "bad Content-Length"),
     ("1e3", 400, "bad Content-Length"), ("5000", 413, "over this server's limit")],
)  # fmt: skip
def test_bad_or_oversize_content_length_is_refused_before_the_body(server, length, status, message):
    t = time.time()
    data = raw(server, f"POST {PREDICT} HTTP/1.1\r\nContent-Length: {length}\r\n\r\n".encode())
    got, body = answer(data)  # the answer comes although no body was sent
    assert got == status and message in body["error"] and time.time() - t < 1.0, body


def test_missing_length_is_411_and_conflicting_lengths_400(server):
    got, body = answer(raw(server, f"POST {PREDICT} HTTP/1.1\r\n\r\n".encode()))
    assert got == 411 and "Content-Length" in body["error"]
    head = f"POST {PREDICT} HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{{}}"
    assert answer(raw(server, head.encode()))[0] == 400
    head = f"POST {PREDICT} HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n"
    assert answer(raw(server, head.encode()))[0] == 501


def test_an_oversize_upload_reads_its_413_not_a_broken_pipe(server):
    """The client sends all of a 5 MB body (limit 4 KB) and then reads the 413."""
    big = b"x" * (5 * 1024 * 1024)
    head = f"POST {PREDICT} HTTP/1.1\r\nContent-Length: {len(big)}\r\n\r\n".encode()
    with socket.create_connection(server.server_address[:2], timeout=10) as s:
        s.sendall(head + big)  # no BrokenPipeError / ConnectionResetError here
        got, body = answer(read_response(s))
    assert got == 413 and "over this server's limit of 4096 bytes" in body["error"]


def test_expect_100_continue_gets_413_instead_of_continue(server):
    data = raw(server, request("POST", PREDICT, None, "Content-Length: 99999\r\n"
                               "Expect: 100-continue\r\n"))  # fmt: skip
    assert not data.startswith(b"HTTP/1.1 100") and answer(data)[0] == 413
    small = json.dumps({"instances": [[1.0]]}).encode()
    head = (
        f"POST {PREDICT} HTTP/1.1\r\nContent-Length: {len(small)}\r\nExpect: 100-continue\r\n\r\n"
    )
    with socket.create_connection(server.server_address[:2], timeout=5) as s:
        s.sendall(head.encode())
        assert s.recv(100).startswith(b"HTTP/1.1 100 Continue")
        s.sendall(small)
        assert answer(read_response(s)) == (200, {"predictions": [[2.5]]})


def test_chunked_bodies(server):
    body = json.dumps({"instances": [[1.0], [2.0]]}).encode()
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(body[i : i + 7]), body[i : i + 7])
                      for i in range(0, len(body), 7))  # fmt: skip
    head = f"POST {PREDICT} HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n".encode()
    assert answer(raw(server, head + chunks + b"0\r\n\r\n")) == (
        200,
        {"predictions": [[2.5], [3.0]]},
    )
    got, msg = answer(raw(server, head + b"zz\r\n{}\r\n0\r\n\r\n"))
    assert got == 400 and "chunk size" in msg["error"]
    got, msg = answer(raw(server, head + b"%x\r\n" % 5000 + b"x" * 5000 + b"\r\n0\r\n\r\n"))
    assert got == 413


def test_a_client_that_stops_sending_its_body_gets_408(server):
    head = f'POST {PREDICT} HTTP/1.1\r\nContent-Length: 100\r\n\r\n{{"inst'.encode()
    t = time.time()
    got, body = answer(raw(server, head))
    assert got == 408 and "timed out" in body["error"] and time.time() - t < 4


def test_header_timeouts_cut_silent_and_trickling_clients(server):
    t = time.time()
    assert raw(server, b"POST / HTTP/1.1\r\nHost:", read_timeout=6) == b""  # closed, ~1 s
    assert time.time() - t < 3
    with socket.create_connection(server.server_address[:2], timeout=6) as s:
        t = time.time()
        with pytest.raises(OSError):  # one byte every 0.3 s never trips a per-read timeout
            for byte in b"GET /v1/models/" + b"x" * 40:
                s.sendall(bytes([byte]))
                time.sleep(0.3)
        assert time.time() - t < 3  # the 1 s header deadline (+ the reaper's 0.5 s) cut it


def test_connections_are_bounded_and_freed(server):
    idle = [socket.create_connection(server.server_address[:2]) for _ in range(4)]
    try:
        time.sleep(0.2)
        got, body = call(server, "GET", f"/v1/models/{NAME}")
        assert got == 503 and "too many connections" in body["error"]
    finally:
        for s in idle:
            s.close()
    time.sleep(0.3)
    assert call(server, "GET", f"/v1/models/{NAME}")[0] == 200


def test_json_for_the_stdlibs_own_errors(server):
    assert answer(raw(server, b"FOO /v1/models/x HTTP/1.1\r\n\r\n"))[0] == 501
    assert answer(raw(server, b"garbage\r\n\r\n"))[0] == 400
    too_many = "".join(f"X-{i}: y\r\n" for i in range(200))
    assert answer(raw(server, f"GET /v1/models/x HTTP/1.1\r\n{too_many}\r\n".encode()))[0] == 431


def test_keep_alive_survives_a_refused_request(server):
    bad, good = b"{nope", json.dumps({"instances": [[4.0]]}).encode()
    with socket.create_connection(server.server_address[:2], timeout=5) as s:
        s.sendall(request("POST", PREDICT, bad) + request("POST", PREDICT, good))
        data = b""
        while data.count(b"HTTP/1.1") < 2 or not data.endswith(b"}"):
            data += s.recv(65536)
    assert b'"predictions": [[4.0]]' in data and b"JSON Parse error" in data


def test_clients_that_hang_up_leave_no_traceback(server, capfd):
    body = json.dumps({"instances": [[1.0]] * 50}).encode()
    for _ in range(30):
        with socket.create_connection(server.server_address[:2]) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            s.sendall(request("POST", PREDICT, body))
        # closed with a reset before the answer is read
    time.sleep(0.5)
    assert call(server, "GET", f"/v1/models/{NAME}")[0] == 200
    err = capfd.readouterr().err
    assert "Traceback" not in err and "BrokenPipe" not in err and "ConnectionReset" not in err
