"""Pipeline runs on the real job system (fake training): validation stops, SIGKILL and resume."""

from __future__ import annotations

import json
import os
import shutil
import signal

import pandas as pd
import pytest

from core.data.datasets import DatasetStore
from core.pipelines.state import read_state
from core.pipelines.submit import submit_pipeline
from core.registry.store import Registry
from core.runs import launcher
from core.runs.recovery import reconcile
from core.runs.status import RunStatus
from tests.conftest import FAKE_HANDLERS, REPO, tfstudio, wait_until
from tests.test_pipeline_fakes import finished_train_run

EXAMPLE = REPO / "examples" / "iris-retrain"

NO_EVAL = """\
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
    epochs: 2
"""


@pytest.fixture
def fake_train(ws, monkeypatch):
    monkeypatch.setenv(
        "TFSTUDIO_HANDLERS", FAKE_HANDLERS + ",train=tests.test_pipeline_fakes:fake_train"
    )
    return ws


@pytest.fixture
def dataset(ws):
    return DatasetStore(ws).import_file(
        EXAMPLE / "initial.csv", "initial.csv", name="iris-demo", target="species"
    )


@pytest.fixture
def example(tmp_path):
    folder = tmp_path / "example"
    shutil.copytree(EXAMPLE, folder)
    return folder


def test_drifted_data_stops_before_training_and_production_is_untouched(
    ws, store, dataset, example, fake_train
):
    registry = Registry(ws)
    production = registry.register(
        finished_train_run(ws, store, dataset.id).id, "iris", "production"
    )
    out = tfstudio(
        "pipeline", "run", str(example / "drifted.yaml"), "--home", str(ws.root), "--json"
    )
    assert out.returncode == 1, out.stderr
    payload = json.loads(out.stdout)
    assert payload["status"] == "FAILED"
    assert payload["error"].startswith("validation stopped the pipeline before training")
    state = payload["state"]
    statuses = {n: e["status"] for n, e in state["stages"].items()}
    assert statuses == {
        "ingest": "succeeded",
        "statistics": "succeeded",
        "validate": "stopped",
        "train": "skipped",
        "evaluate": "skipped",
        "push": "skipped",
    }
    report = json.loads(
        (ws.run_dir(payload["run_id"]) / "stages" / "validate" / "report.json").read_text()
    )
    assert report["reference"] == "iris-demo@v1"  # the production model's data
    kinds = {(a["column"], a["kind"], a["severity"]) for a in report["anomalies"]}
    assert ("sepal_width_cm", "type_change", "high") in kinds
    assert any(c == "petal_length_cm" and k == "drift" for c, k, _ in kinds)
    # nothing trained, nothing registered, production and the dataset unchanged
    assert store.list_runs(kind="train")[0].id == production.run_id
    assert [(v.id, v.stage) for v in registry.list("iris")] == [("iris@v1", "production")]
    assert [v.id for v in DatasetStore(ws).list_versions("iris-demo")] == ["iris-demo@v1"]
    again = tfstudio("pipeline", "resume", payload["run_id"], "--home", str(ws.root))
    assert again.returncode == 2 and "stopped by validation" in again.stderr
    assert len(again.stderr.strip().splitlines()) == 1


def test_new_data_trains_on_production_data_plus_new_rows(ws, store, dataset, example, fake_train):
    production = Registry(ws).register(
        finished_train_run(ws, store, dataset.id).id, "iris", "production"
    )
    (example / "p.yaml").write_text(NO_EVAL)
    run = submit_pipeline(ws, store, example / "p.yaml")
    run = launcher.wait(store, run.id, timeout_s=120)
    assert run.status is RunStatus.SUCCEEDED, run.error
    state = read_state(ws.run_dir(run.id))
    child = store.get_run(state["stages"]["train"]["children"]["train"])
    assert child.name == f"retrain · train (train of pipeline run {run.id})"
    assert child.spec["data"] == "iris-demo@v2" and child.spec["warm_start"] == production.run_id
    v2 = DatasetStore(ws).get("iris-demo@v2")
    assert v2.rows == 90 + 60
    validation = state["stages"]["validate"]["outputs"]["counts"]
    assert validation["high"] == 0


def resume_to_success(ws, store, run_id: str, monkeypatch) -> dict:
    """Resume a lost pipeline run with no pause and a quick fake train; it must succeed with
    every stage succeeded. Returns its state.json."""
    monkeypatch.delenv("TFSTUDIO_PIPELINE_PAUSE", raising=False)
    monkeypatch.setenv("FAKE_TRAIN_S", "0.2")
    launcher.resume(ws, store, run_id)
    done = launcher.wait(store, run_id, timeout_s=120)
    assert done.status is RunStatus.SUCCEEDED, done.error
    after = read_state(ws.run_dir(run_id))
    assert all(e["status"] == "succeeded" for e in after["stages"].values())
    return after


def _kill_when(ws, store, run_id, stage, predicate):
    def ready():
        state = read_state(ws.run_dir(run_id))
        return state and predicate(state["stages"][stage])

    wait_until(ready, timeout=120, interval=0.1)
    pid = store.get_run(run_id).pid
    os.kill(pid, signal.SIGKILL)
    wait_until(lambda: reconcile(store) or store.get_run(run_id).status is RunStatus.LOST, 30)


@pytest.mark.parametrize("where", ["statistics", "train"])
def test_sigkill_in_a_stage_then_resume(
    ws, store, dataset, example, fake_train, monkeypatch, where
):
    """Killed mid-stage (an in-process stage with its folder half written, or while its child
    training run runs): resume finishes from there, finished stages are not redone."""
    if where == "statistics":
        monkeypatch.setenv("TFSTUDIO_PIPELINE_PAUSE", "statistics=30")
    else:
        monkeypatch.setenv("FAKE_TRAIN_S", "6")
    (example / "p.yaml").write_text(NO_EVAL)
    run = submit_pipeline(ws, store, example / "p.yaml")
    run_dir = ws.run_dir(run.id)
    if where == "statistics":
        _kill_when(ws, store, run.id, "statistics", lambda e: e["status"] == "running")
        wait_until(lambda: (run_dir / "stages" / ".statistics.partial").is_dir(), 10)
    else:
        _kill_when(ws, store, run.id, "train", lambda e: bool(e["children"].get("train")))
    before = read_state(run_dir)
    assert store.get_run(run.id).status is RunStatus.LOST
    assert before["stages"][where]["status"] == "running"
    assert before["stages"]["ingest"]["status"] == "succeeded"
    ingest_started = before["stages"]["ingest"]["started_at"]
    new_rows = pd.read_parquet(run_dir / "stages" / "ingest" / "new.parquet")
    assert len(new_rows) == 60

    after = resume_to_success(ws, store, run.id, monkeypatch)
    assert after["stages"]["ingest"]["started_at"] == ingest_started  # not redone
    assert not list((run_dir / "stages").glob(".*partial"))
    assert sorted(p.name for p in (run_dir / "stages").iterdir()) == sorted(after["order"])
    assert json.loads((run_dir / "stages" / "statistics" / "statistics.json").read_text())
    trains = store.list_runs(kind="train")
    assert len(trains) == 1  # the child was found again, not started twice
    assert trains[0].id == after["stages"]["train"]["children"]["train"]
    if where == "train":
        assert trains[0].id == before["stages"]["train"]["children"]["train"]
    # one dataset version for the validated data, however often the stage ran
    assert [v.id for v in DatasetStore(ws).list_versions("iris-demo")] == [
        "iris-demo@v1",
        "iris-demo@v2",
    ]
    events = [e.message for e in store.get_events(run.id)]
    assert any(m.startswith("resuming: stages ingest") for m in events)
