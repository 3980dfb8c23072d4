"""kill -9 of a pipeline at each stage, at a seeded-random point inside it: reconcile marks the
run LOST, resume finishes it; the stages finished before the kill are not run again, only the
stage in flight is, and nothing is made twice (one dataset version for the validated data, one
training child). ingest, statistics and validate run in the pipeline's worker; train waits on
a child run (fake training here: no TensorFlow). Evaluate and push, which need a real model:
tests/test_kill9_pipeline_slow.py."""

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
from core.runs.recovery import reconcile
from core.runs.status import RunStatus
from tests import test_pipeline_resume as _resume
from tests.conftest import wait_until
from tests.test_kill9_slow import RESULTS

NO_EVAL = _resume.NO_EVAL
dataset, example, fake_train = _resume.dataset, _resume.example, _resume.fake_train  # fixtures

pytestmark = pytest.mark.slow  # no TensorFlow, but 4 pipelines of worker processes (~26 s)

RNG = random.Random(19)
WINDOW_S = 3.0  # each in-process stage is held this long before it commits (the kill lands inside)


def kill_in_stage(ws, store, run_id: str, stage: str) -> dict:
    """Wait until `stage` is under way, kill -9 the pipeline's worker at a random point inside
    it, wait for LOST. Returns the state as the kill left it."""
    run_dir = ws.run_dir(run_id)

    def under_way():
        state = read_state(run_dir)
        entry = state and state["stages"][stage]
        if not entry or entry["status"] != "running":
            return False
        return bool(entry["children"].get("train")) if stage == "train" else True

    wait_until(under_way, timeout=120, interval=0.05)
    time.sleep(RNG.uniform(0.0, WINDOW_S * 0.8))
    pid = store.get_run(run_id).pid
    os.kill(pid, signal.SIGKILL)
    wait_until(lambda: reconcile(store) or store.get_run(run_id).status is RunStatus.LOST, 30)
    state = read_state(run_dir)
    assert state["stages"][stage]["status"] == "running", "the kill landed inside the stage"
    return state


@pytest.mark.parametrize("stage", ["ingest", "statistics", "validate", "train"])
def test_a_pipeline_killed_in_each_stage_resumes_from_that_stage(
    ws, store, dataset, example, fake_train, monkeypatch, stage
):
    if stage == "train":
        monkeypatch.setenv("FAKE_TRAIN_S", str(WINDOW_S))
    else:
        monkeypatch.setenv("TFSTUDIO_PIPELINE_PAUSE", f"{stage}={WINDOW_S}")
    (example / "p.yaml").write_text(NO_EVAL)
    run = submit_pipeline(ws, store, example / "p.yaml")
    run_dir = ws.run_dir(run.id)
    before = kill_in_stage(ws, store, run.id, stage)
    assert store.get_run(run.id).status is RunStatus.LOST
    finished = {
        n: e["started_at"] for n, e in before["stages"].items() if e["status"] == "succeeded"
    }
    assert list(finished) == before["order"][: before["order"].index(stage)]

    after = _resume.resume_to_success(ws, store, run.id, monkeypatch)
    lost = sum(after["stages"][n]["started_at"] != t for n, t in finished.items())
    assert lost == 0  # finished stages kept as they were
    assert not list((run_dir / "stages").glob(".*partial"))
    assert sorted(p.name for p in (run_dir / "stages").iterdir()) == sorted(after["order"])
    assert json.loads((run_dir / "stages" / "statistics" / "statistics.json").read_text())
    trains = store.list_runs(kind="train")
    assert [t.id for t in trains] == [after["stages"]["train"]["children"]["train"]]
    if stage == "train":  # the child that was running is found again, not started twice
        assert trains[0].id == before["stages"]["train"]["children"]["train"]
    versions = [v.id for v in DatasetStore(ws).list_versions("iris-demo")]
    assert versions == ["iris-demo@v1", "iris-demo@v2"]
    assert len(pd_rows(run_dir)) == 60
    if stage == "train":  # its child ran on in its own process and was waited on again
        repeated = int(store.get_run(trains[0].id).error is not None)
    else:  # the stage in flight ran again from its start (its half-written folder dropped)
        assert after["stages"][stage]["started_at"] != before["stages"][stage]["started_at"]
        repeated = 1
    with RESULTS.open("a") as f:
        record = {"kind": f"pipeline ({stage})", "lost_stages": lost, "repeated_stages": repeated}
        f.write(json.dumps(record) + "\n")


def pd_rows(run_dir):
    import pandas as pd

    return pd.read_parquet(run_dir / "stages" / "ingest" / "new.parquet")
