"""The example pipeline end to end with real training and a push that switches a live REST
server."""

from __future__ import annotations

import json
import shutil
import threading
import time

import pytest

from core.data.datasets import DatasetStore
from core.registry.store import Registry, serving_base
from core.serving import process
from tests.conftest import REPO, tfstudio, wait_until

EXAMPLE = REPO / "examples" / "iris-retrain"


# Compiling for Kubeflow (volume, staging, the steps' commands run in order): test_kubeflow.py


@pytest.mark.slow
def test_example_runs_end_to_end_then_pushes_to_a_live_server(ws, store, tmp_path):
    home = str(ws.root)
    DatasetStore(ws).import_file(
        EXAMPLE / "initial.csv", "initial.csv", name="iris-demo", target="species"
    )
    example = tmp_path / "example"
    shutil.copytree(EXAMPLE, example)
    # 1. the example file as shipped: no production model yet, so the challenger becomes v1
    out = tfstudio("pipeline", "run", str(example / "pipeline.yaml"), "--home", home, "--json")
    assert out.returncode == 0, out.stderr[-3000:]
    first = json.loads(out.stdout)
    assert first["result"]["outcome"] == "pushed" and first["result"]["registered"] == "iris@v1"
    registry = Registry(ws)
    v1 = registry.get("iris@v1")
    assert v1.stage == "production" and v1.dataset["dataset"] == "iris-demo@v2"
    assert DatasetStore(ws).get("iris-demo@v2").rows == 150
    assert {b["format"] for b in v1.bundles} == {"savedmodel", "tflite"}
    base = serving_base(ws, "iris")
    assert (base / "1" / "saved_model.pb").is_file()

    # 2. a live server on the registry's base path, under load while the next push lands
    state = process.start(ws, str(base), 0 or _free_port(), "iris")
    try:
        wait_until(lambda: process.ready(state), timeout=120, interval=0.5)
        text = (example / "pipeline.yaml").read_text()
        text = text.replace("margin: 0.0 ", "margin: -1.0 ").replace("epochs: 3", "epochs: 2")
        text = text.replace("formats: [savedmodel, tflite]", "formats: [savedmodel]")
        (example / "again.yaml").write_text(text)
        results, stop = [], threading.Event()
        url = f"http://127.0.0.1:{state['port']}/v1/models/iris"
        # each column input has shape (-1, 1): a row gives it as [value], as TF Serving wants
        body = {"instances": [{"sepal_length_cm": [6.1], "sepal_width_cm": [2.8],
                               "petal_length_cm": [4.7], "petal_width_cm": [1.2]}]}  # fmt: skip

        def client():
            while not stop.is_set():
                status, answer = process.post(url + ":predict", body)
                with __import__("urllib.request").request.urlopen(url, timeout=30) as r:
                    served = json.loads(r.read())["model_version_status"][0]["version"]
                results.append((status, served, len(answer.get("predictions", [[]])[0])))
                time.sleep(0.05)

        clients = [threading.Thread(target=client) for _ in range(3)]
        [c.start() for c in clients]
        out = tfstudio("pipeline", "run", str(example / "again.yaml"), "--home", home, "--json")
        time.sleep(1)
        stop.set()
        [c.join() for c in clients]
        assert out.returncode == 0, out.stderr[-3000:]
        second = json.loads(out.stdout)["result"]
        assert second["outcome"] == "pushed" and second["registered"] == "iris@v2"
        evaluation = second["evaluation"]
        assert evaluation["margin"] == -1.0 and 0 <= evaluation["production"] <= 1
        assert evaluation["better"] is True
        assert results and all(status == 200 and n == 3 for status, _, n in results)
        served = [v for _, v, _ in results]
        assert served[0] == "1" and served[-1] == "2"
        push = json.loads(out.stdout)["state"]["stages"]["push"]["outputs"]
        assert push["server"]["switched"] is True and push["server"]["version"] == 2
    finally:
        process.stop(ws)
    v1, v2 = registry.get("iris@v1"), registry.get("iris@v2")
    assert (v1.stage, v2.stage) == ("archived", "production")
    roles = {p["role"]: p["run_id"] for p in v2.parents}
    assert roles["warm-started from"] == v1.run_id
    assert roles["made by pipeline"] == json.loads(out.stdout)["run_id"]
    assert v2.dataset["dataset"] == "iris-demo@v3"
    assert v2.dataset["sha256"] == DatasetStore(ws).get("iris-demo@v3").sha256
    assert v2.extra["evaluation"]["production"] == evaluation["production"]


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
