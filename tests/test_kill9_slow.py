"""kill -9 of export, compress and profile jobs at a random point: reconcile marks the run LOST
(its folder and log kept), these kinds refuse `resume` and say to start over, and a restart of
the same spec finishes, leaving the source training run untouched. Tiny model (iris, 1 epoch)."""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import time
from dataclasses import replace
from pathlib import Path

import pytest

from core.errors import BadInput
from core.runs import launcher
from core.runs.recovery import reconcile
from core.runs.status import RunStatus
from core.runs.store import RunStore
from core.specs import CompressSpec, ExportSpec, ProfileSpec
from core.workspace import Workspace
from tests.cli_helpers import train_iris
from tests.conftest import wait_until

SPECS = {
    "export": ExportSpec(format="tflite"),
    "compress": CompressSpec(method="dynamic"),
    "profile": ProfileSpec(mode="inference", batches=5),
}
# The job system's own phases (launcher, worker importing TensorFlow), before the job's own.
SYSTEM_PHASES = ("", "starting", "starting TensorFlow")
RESULTS = Path(os.environ.get("TFSTUDIO_KILL9_RESULTS", "/tmp/tfstudio-kill9.jsonl"))


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    home = tmp_path_factory.mktemp("kill9-home")
    return home, train_iris(home, 1)["run_id"]


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.slow
@pytest.mark.parametrize("kind", list(SPECS))
def test_a_job_killed_at_a_random_point_is_lost_and_a_restart_finishes(trained, kind, monkeypatch):
    home, source = trained
    monkeypatch.setenv("TFSTUDIO_HOME", str(home))
    ws = Workspace.resolve(home)
    store = RunStore(ws.db_path)
    model = ws.run_dir(source) / "model.keras"
    before = _sha(model)
    spec = replace(SPECS[kind], source_run=source)

    run = launcher.submit(ws, store, spec)

    # a random point inside the job: after its first progress report of its own (TensorFlow
    # loaded, the handler at work), plus a random delay
    def at_work():
        r = store.get_run(run.id)
        return r.status.is_finalized or r.phase not in SYSTEM_PHASES

    wait_until(at_work, timeout=300, interval=0.02)
    time.sleep(random.uniform(0.0, 0.3))
    at_kill = store.get_run(run.id)
    if at_kill.status.is_finalized:
        pytest.fail(f"the {kind} job finished before it could be killed: {at_kill.status}")
    os.kill(at_kill.pid, signal.SIGKILL)
    lost = wait_until(
        lambda: (
            next((r for r in reconcile(store) if r.id == run.id), None)
            or (store.get_run(run.id).status is RunStatus.LOST and store.get_run(run.id))
        ),
        timeout=30,
    )
    assert lost.status is RunStatus.LOST and "ended without reporting" in lost.error
    assert (ws.run_dir(run.id) / launcher.LOG_NAME).is_file(), "the killed run keeps its log"
    with pytest.raises(BadInput, match="starts over"):
        launcher.resume(ws, store, run.id)

    again = launcher.wait(store, launcher.submit(ws, store, spec).id, timeout_s=600)
    assert again.status is RunStatus.SUCCEEDED, again.error
    assert _sha(model) == before, "the source run's model is untouched"
    artifacts = store.get_artifacts(again.id)
    if kind == "export":
        assert Path(artifacts["model.tflite"].path).stat().st_size > 0
    elif kind == "compress":
        (variant,) = again.result["variants"]
        assert variant["method"] == "dynamic" and variant["size_bytes"] > 0
    else:
        assert again.result["mode"] == "inference"
        assert Path(again.result["trace"]).is_file() and again.result["top_ops"]
    with RESULTS.open("a") as f:
        f.write(
            json.dumps(
                {
                    "kind": kind,
                    "killed_in": f"{at_kill.phase} {at_kill.message}".strip(),
                    "lost": lost.status.value,
                    "restart": again.status.value,
                }
            )
            + "\n"
        )
