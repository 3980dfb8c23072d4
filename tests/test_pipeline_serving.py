"""Version switching in the REST server (core/serving/versions.py), with stand-in models.

The HTTP server, batcher and watcher are the real ones; only the SavedModel is replaced by a
model object that answers with its own version number after a delay, so a test can tell which
version answered a request and keep requests in flight while the version changes.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.request

import numpy as np
import pytest

import core.serving.model
from core.serving.model import Predict
from core.serving.server import make_server
from core.serving.versions import ModelSlot, chosen_version, open_slot, point_to


class FakeModel:
    def __init__(self, path="", name="m", version=1, delay=0.05):
        if str(path).endswith("/3"):
            raise OSError("SavedModel file does not exist")
        self.name, self.version, self.delay = name, int(version), delay

    def status(self):
        return {"model_version_status": [{"version": str(self.version), "state": "AVAILABLE"}]}

    def metadata(self):
        return {"model_spec": {"name": self.name, "version": str(self.version)}}

    def parse(self, body):
        return Predict("serving_default", {"x": np.asarray(body["instances"], "float32")}, "row")

    def run(self, arrays, signature="serving_default"):
        time.sleep(self.delay)
        return {"version": np.full(len(arrays["x"]), self.version)}


def predict(port, name="m"):
    body = json.dumps({"instances": [1.0]}).encode()
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}/v1/models/{name}:predict",
        data=body,
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())["predictions"][0]


@pytest.fixture
def served():
    slot = ModelSlot(FakeModel(version=1, delay=0.05))
    server = make_server(slot, port=0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield slot, server.server_address[1]
    server.shutdown()
    server.server_close()


def test_switch_under_load_fails_no_request(served):
    slot, port = served
    answers, errors = [], []
    stop = threading.Event()

    def client():
        while not stop.is_set():
            try:
                answers.append((time.time(), predict(port)))
            except Exception as exc:  # noqa: BLE001
                errors.append(exc)

    clients = [threading.Thread(target=client) for _ in range(6)]
    [c.start() for c in clients]
    time.sleep(0.5)
    switched_at = time.time()
    slot.switch(FakeModel(version=2, delay=0.05))
    time.sleep(0.5)
    stop.set()
    [c.join() for c in clients]
    assert not errors
    versions = [v for _, v in answers]
    assert versions.count(1) > 5 and versions.count(2) > 5
    # once the switch is a request's length in the past, only version 2 answers
    assert all(v == 2 for t, v in answers if t > switched_at + 0.3)
    assert slot.switches[0]["from"] == 1 and slot.switches[0]["to"] == 2


def test_a_request_in_flight_finishes_on_its_version(served):
    slot, port = served
    slot.switch(FakeModel(version=1, delay=1.0))
    result = {}
    t = threading.Thread(target=lambda: result.update(v=predict(port)))
    t.start()
    time.sleep(0.3)  # the request is inside version 1's run
    slot.switch(FakeModel(version=2, delay=0.01))
    assert predict(port) == 2  # a new request gets the new version at once
    t.join()
    assert result["v"] == 1
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/models/m") as r:
        assert json.loads(r.read())["model_version_status"][0]["version"] == "2"


def test_watcher_follows_the_base_path(tmp_path, monkeypatch):
    monkeypatch.setattr(core.serving.model, "ServedModel", FakeModel)
    base = tmp_path / "iris"
    for v in (1,):
        (base / str(v)).mkdir(parents=True)
        (base / str(v) / "saved_model.pb").write_bytes(b"")
    slot, watcher = open_slot(base, "iris")
    watcher.stop()  # poll by hand
    assert slot.model.version == 1
    assert not watcher.check()
    (base / "2").mkdir()
    (base / "2" / "saved_model.pb").write_bytes(b"")
    assert watcher.check() and slot.model.version == 2  # the highest version by default
    point_to(base, 1)  # a rollback names version 1
    assert chosen_version(base) == 1
    assert watcher.check() and slot.model.version == 1
    (base / "3").mkdir()
    (base / "3" / "saved_model.pb").write_bytes(b"")
    point_to(base, 3)  # fails to load: keep serving version 1, and do not retry every poll
    assert not watcher.check() and slot.model.version == 1
    assert 3 in watcher.failed
    point_to(base, 7)  # a version that does not exist: the highest that does
    assert chosen_version(base) == 3
