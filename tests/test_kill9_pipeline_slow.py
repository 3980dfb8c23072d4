"""kill -9 of a pipeline in its evaluate stage, then (resumed) in its push stage, each at a
seeded-random point: LOST both times, resume finishes; the stages done before each kill are not
run again, the model is registered once, its export child is found again (never made twice),
and production is set only by the push that finished. Real tiny training (iris, 1 epoch)."""

from __future__ import annotations

import json
import os
import random
import signal
import time

import pytest

from core.data.datasets import DatasetStore
from core.pipelines.state import read_state
from core.pipelines.submit import submit_pipeline
from core.registry.store import Registry, serving_base
from core.runs import launcher
from core.runs.recovery import reconcile
from core.runs.status import RunStatus
from tests.conftest import REPO, wait_until
from tests.test_kill9_slow import RESULTS

pytestmark = pytest.mark.slow

RNG = random.Random(19)
PIPELINE = """\
name: retrain
dataset: iris-demo
target: species
model: iris
stages:
  - stage: ingest
    file: new_data.csv
  - stage: statistics
  - stage: validate
    severity: high
  - stage: train
    epochs: 1
  - stage: evaluate
    metric: accuracy
    direction: max
  - stage: push
    formats: [savedmodel]
"""


def _kill_in(ws, store, run_id: str, stage: str, window_s: float) -> dict:
    def under_way():
        state = read_state(ws.run_dir(run_id))
        return state and state["stages"][stage]["status"] == "running"

    wait_until(under_way, timeout=300, interval=0.05)
    time.sleep(RNG.uniform(0.0, window_s * 0.8))
    os.kill(store.get_run(run_id).pid, signal.SIGKILL)
    wait_until(lambda: reconcile(store) or store.get_run(run_id).status is RunStatus.LOST, 30)
    state = read_state(ws.run_dir(run_id))
    assert state["stages"][stage]["status"] == "running", "the kill landed inside the stage"
    return state


def _started(state: dict) -> dict[str, float]:
    return {n: e["started_at"] for n, e in state["stages"].items() if e["status"] == "succeeded"}


def test_a_pipeline_killed_in_evaluate_then_in_push_resumes_and_pushes_once(
    ws, store, tmp_path, monkeypatch
):
    example = REPO / "examples" / "iris-retrain"
    DatasetStore(ws).import_file(
        example / "initial.csv", "initial.csv", name="iris-demo", target="species"
    )
    (tmp_path / "new_data.csv").write_bytes((example / "new_data.csv").read_bytes())
    (tmp_path / "p.yaml").write_text(PIPELINE)
    # each stage is held 4 s before it commits, so the random point is always inside it
    monkeypatch.setenv("TFSTUDIO_PIPELINE_PAUSE", "evaluate=4,push=4")
    run = submit_pipeline(ws, store, tmp_path / "p.yaml")

    at_evaluate = _kill_in(ws, store, run.id, "evaluate", 4.0)
    done_before = _started(at_evaluate)
    assert list(done_before) == ["ingest", "statistics", "validate", "train"]
    registry = Registry(ws)
    assert registry.production("iris") is None

    launcher.resume(ws, store, run.id)
    at_push = _kill_in(ws, store, run.id, "push", 4.0)
    child = at_push["stages"]["push"]["children"].get("export")
    export_at_kill = store.get_run(child).status.value if child else "not started"
    assert [v.id for v in registry.list("iris")] in ([], ["iris@v1"])  # registered once at most
    assert {n: _started(at_push)[n] for n in done_before} == done_before  # not redone
    evaluated = _started(at_push)["evaluate"]
    assert evaluated != at_evaluate["stages"]["evaluate"]["started_at"]  # the one in flight

    monkeypatch.delenv("TFSTUDIO_PIPELINE_PAUSE")
    launcher.resume(ws, store, run.id)
    done = launcher.wait(store, run.id, timeout_s=600)
    assert done.status is RunStatus.SUCCEEDED, done.error
    after = read_state(ws.run_dir(run.id))
    assert all(e["status"] == "succeeded" for e in after["stages"].values())
    lost = sum(after["stages"][n]["started_at"] != t for n, t in _started(at_push).items())
    assert lost == 0
    assert done.result["outcome"] == "pushed" and done.result["registered"] == "iris@v1"
    assert [(v.id, v.stage) for v in registry.list("iris")] == [("iris@v1", "production")]
    assert len(store.list_runs(kind="train")) == 1
    exports = store.list_runs(kind="export")
    assert [e.id for e in exports] == [after["stages"]["push"]["children"]["export"]]
    assert exports[0].status is RunStatus.SUCCEEDED
    assert (serving_base(ws, "iris") / "1" / "saved_model.pb").is_file()
    assert [v.id for v in DatasetStore(ws).list_versions("iris-demo")] == [
        "iris-demo@v1",
        "iris-demo@v2",
    ]
    with RESULTS.open("a") as f:
        for stage in ("evaluate", "push"):
            record = {"kind": f"pipeline ({stage})", "lost_stages": 0, "repeated_stages": 1}
            record.update(export_runs=len(exports), export_at_kill=export_at_kill)
            f.write(json.dumps(record) + "\n")
