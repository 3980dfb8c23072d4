"""ParameterServerStrategy on this machine: the run's process is the chief (ClusterCoordinator),
1 ps and 1 worker run as local servers with TF_CONFIG, and the run reports like any other."""

from __future__ import annotations

import json

import psutil
import pytest

from tests.conftest import tfstudio
from tests.test_families_slow import train

pytestmark = pytest.mark.slow


def test_parameter_server_run_with_one_ps_and_one_worker(tmp_path):
    payload = train(
        tmp_path, "--data", "sample:iris", "--target", "species", "--epochs", "15",
        "--learning-rate", "0.05", "--strategy", "parameter_server", "--workers", "1",
    )  # fmt: skip
    result = payload["result"]
    assert result["strategy"]["name"] == "parameter_server"
    assert payload["test_metrics"]["accuracy"] >= 0.8
    assert result["tflite_parity"]["agreement"] == 1.0
    history = json.loads(open(payload["artifacts"]["history.json"]).read())
    assert len(history["loss"]) == 15 and history["loss"][-1] < history["loss"][0]
    shown = json.loads(
        tfstudio("runs", "show", payload["run_id"], "--json", "--home", str(tmp_path)).stdout
    )
    assert any("started 1 ps and 1 worker" in e for e in shown["events"])
    run_dir = tmp_path / "runs" / payload["run_id"]
    assert (run_dir / "ps-0" / "server.log").is_file()
    assert (run_dir / "worker-0" / "server.log").is_file()
    # the servers were stopped with the run: none is left serving
    leftover = [
        p
        for p in psutil.process_iter(["cmdline", "environ"])
        if "core.training.ps_server" in " ".join(p.info["cmdline"] or [])
        and str(run_dir) in json.dumps(p.info.get("environ") or {})
    ]
    assert leftover == []
