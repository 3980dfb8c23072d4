"""What starts a pipeline: a watched folder (each new file once), a schedule; and the tune stage
wired to a search and its promoted training run (fake search and training, real job system)."""

from __future__ import annotations

import json
import shutil

import pytest

from core.data.datasets import DatasetStore
from core.errors import BadInput
from core.pipelines.state import read_ledger, read_state
from core.pipelines.submit import submit_pipeline
from core.pipelines.watch import watch
from core.runs import launcher
from core.runs.status import RunStatus
from tests.conftest import FAKE_HANDLERS, REPO, tfstudio

EXAMPLE = REPO / "examples" / "iris-retrain"

WATCHED = """\
name: watched
dataset: iris-demo
target: species
model: iris
stages:
  - stage: ingest
    folder: incoming
  - stage: statistics
  - stage: validate
  - stage: train
    epochs: 2
"""


def fake_tune(spec, reporter, run_dir):
    """A finished search: its best trial has these hyperparameters."""
    reporter.progress("searching", 1, 1, "trial 1/1")
    return {
        "model": "mlp",
        "task": "classification",
        "best": {"trial_id": "t0", "score": 0.95, "hyperparameters": {"dropout": 0.25}},
    }


@pytest.fixture
def fakes(ws, monkeypatch):
    handlers = (
        "train=tests.test_pipeline_fakes:fake_train,tune=tests.test_pipeline_triggers:fake_tune"
    )
    monkeypatch.setenv("TFSTUDIO_HANDLERS", f"{FAKE_HANDLERS},{handlers}")
    DatasetStore(ws).import_file(
        EXAMPLE / "initial.csv", "initial.csv", name="iris-demo", target="species"
    )
    return ws


def test_watched_folder_runs_each_new_file_once(ws, store, fakes, tmp_path):
    folder = tmp_path / "incoming"
    folder.mkdir()
    (tmp_path / "watched.yaml").write_text(WATCHED)
    shutil.copy(EXAMPLE / "new_data.csv", folder / "batch1.csv")
    shutil.copy(EXAMPLE / "drifted.csv", folder / "batch2.csv")
    (folder / ".partial").write_text("ignored")
    runs = watch(ws, store, tmp_path / "watched.yaml", interval_s=0.2, max_runs=2)
    assert len(runs) == 2
    first, second = (store.get_run(r) for r in runs)
    assert first.spec["ingest_file"].endswith("batch1.csv") and first.status is RunStatus.SUCCEEDED
    assert second.spec["ingest_file"].endswith("batch2.csv") and second.status is RunStatus.FAILED
    assert "validation stopped" in second.error
    assert sorted(json.loads(json.dumps(read_ledger(ws, "watched"))).values()) == sorted(
        [str(folder / "batch1.csv"), str(folder / "batch2.csv")]
    )
    # nothing new: a look finds nothing to do
    assert watch(ws, store, tmp_path / "watched.yaml", interval_s=0.2, once=True) == []
    # a pipeline run without a trigger file takes the folder's new files itself: none left
    run = launcher.wait(store, submit_pipeline(ws, store, tmp_path / "watched.yaml").id)
    assert run.status is RunStatus.SUCCEEDED and run.result["outcome"] == "no new data"
    assert read_state(ws.run_dir(run.id))["stages"]["train"]["status"] == "skipped"


def test_schedule_and_cli(ws, store, fakes, tmp_path):
    text = WATCHED.replace("folder: incoming", f"file: {EXAMPLE / 'new_data.csv'}")
    (tmp_path / "p.yaml").write_text(text)
    runs = watch(ws, store, tmp_path / "p.yaml", interval_s=0.1, every_s=0.1, max_runs=1)
    assert len(runs) == 1 and store.get_run(runs[0]).status is RunStatus.SUCCEEDED
    with pytest.raises(BadInput, match="nothing to watch"):
        watch(ws, store, tmp_path / "p.yaml", interval_s=1)
    out = tfstudio("pipeline", "watch", str(tmp_path / "p.yaml"), "--folder", str(tmp_path / "no"),
                   "--home", str(ws.root))  # fmt: skip
    assert out.returncode == 2 and out.stderr.startswith("error: no folder")


def test_tune_stage_promotes_the_best_trial(ws, store, fakes, tmp_path):
    text = WATCHED.replace("folder: incoming", f"file: {EXAMPLE / 'new_data.csv'}")
    text = text.replace("- stage: train\n    epochs: 2", "- stage: tune\n    max_trials: 2")
    (tmp_path / "tuned.yaml").write_text(text)
    run = launcher.wait(store, submit_pipeline(ws, store, tmp_path / "tuned.yaml").id)
    assert run.status is RunStatus.SUCCEEDED, run.error
    children = read_state(ws.run_dir(run.id))["stages"]["tune"]["children"]
    search, train = store.get_run(children["tune"]), store.get_run(children["train"])
    assert search.spec["max_trials"] == 2 and search.spec["base"]["data"] == "iris-demo@v2"
    assert train.spec["hyperparameters"] == {"dropout": 0.25}
    assert train.spec["dropout"] == 0.25 and train.spec["fit_on_validation"] is True
    assert train.spec["data"] == "iris-demo@v2"
