"""The Registry and Pipelines pages (AppTest): versions, compare, promote; the form that writes
a pipeline file, running one, and a stopped run's validation report."""

from __future__ import annotations

import pytest
import yaml

from core.data.datasets import DatasetStore
from core.pipelines.definition import parse_text
from core.registry.store import Registry
from core.runs import launcher
from core.runs.status import RunStatus
from dashboard.pipeline_view import pipeline_yaml, stage_graph
from tests.conftest import REPO
from tests.test_pages import open_page
from tests.test_pipeline_fakes import finished_train_run

EXAMPLE = REPO / "examples" / "iris-retrain"


@pytest.fixture
def dataset(ws):
    return DatasetStore(ws).import_file(
        EXAMPLE / "initial.csv", "initial.csv", name="iris-demo", target="species"
    )


def test_registry_page_lists_compares_and_promotes(ws, store, dataset):
    reg = Registry(ws)
    reg.register(finished_train_run(ws, store, dataset.id, accuracy=0.8).id, "iris", "production")
    reg.register(finished_train_run(ws, store, dataset.id, accuracy=0.9).id, "iris")
    at = open_page("registry")
    assert not at.exception, at.exception
    table = at.dataframe[0].value
    assert list(table["version"]) == ["iris@v2", "iris@v1"]
    assert list(table["stage"]) == ["candidate", "production"]
    assert list(table["accuracy"]) == [0.9, 0.8]
    assert at.multiselect(key="reg-compare").value == ["iris@v1", "iris@v2"]
    assert at.metric[1].value == "iris@v1"
    at.selectbox(key="reg-promote-version").set_value("iris@v2")
    at.selectbox(key="reg-promote-stage").set_value("production")
    at.button(key="reg-promote").click()
    at.run()
    assert not at.exception, at.exception
    assert any("iris@v2 is now production. iris@v1 was archived." in s.value for s in at.success)
    assert {v.id: v.stage for v in reg.list("iris")} == {
        "iris@v1": "archived",
        "iris@v2": "production",
    }


def test_registry_page_when_empty_offers_registration(ws, store, dataset):
    run = finished_train_run(ws, store, dataset.id)
    at = open_page("registry")
    assert not at.exception, at.exception
    assert "Nothing registered yet" in at.info[0].value
    at.text_input[0].set_value("flowers")
    at.button[0].click()
    at.run()
    assert not at.exception, at.exception
    assert Registry(ws).get("flowers").run_id == run.id


def test_form_writes_a_pipeline_file_that_parses(ws, dataset):
    at = open_page("pipelines")
    assert not at.exception, at.exception

    def by_label(widgets, label):
        return next(w for w in widgets if w.label == label)

    by_label(at.text_input, "Pipeline name").set_value("nightly")
    by_label(at.text_input, "New data: a file or folder path").set_value(
        str(EXAMPLE / "new_data.csv")
    )
    by_label(at.number_input, "Epochs").set_value(4)
    at.button[-1].click()  # "Write pipeline file"
    at.run()
    assert not at.exception, at.exception
    path = ws.root / "pipelines" / "nightly.yaml"
    assert path.is_file(), [e.value for e in at.error]
    p = parse_text(path.read_text(), str(path))
    assert [s.type for s in p.order()] == [
        "ingest", "statistics", "validate", "train", "evaluate", "push",
    ]  # fmt: skip
    assert p.stage("train").params["epochs"] == 4 and p.dataset == "iris-demo"
    assert p.stage("ingest").params["file"] == str(EXAMPLE / "new_data.csv")


def test_yaml_and_graph_helpers():
    text = pipeline_yaml(
        {
            "name": "n",
            "dataset": "d",
            "source": "in/",
            "watch_folder": True,
            "epochs": 2,
            "metric": "mae",
            "direction": "min",
            "margin": 0.5,
            "learner": "tune",
        }  # fmt: skip
    )
    doc = yaml.safe_load(text)
    assert doc["stages"][0] == {"stage": "ingest", "folder": "in/", "mode": "append"}
    assert doc["stages"][3]["stage"] == "tune" and doc["stages"][4]["margin"] == 0.5
    p = parse_text(text, "n.yaml")
    state = {"stages": {"ingest": {"status": "succeeded", "outputs": {"new_rows": 60}}}}
    dot = stage_graph(p, state)
    assert '"ingest" -> "statistics"' in dot and "60 new rows" in dot
    assert dot.count("->") == 5


def test_run_a_stopped_pipeline_shows_the_report(ws, store, dataset):
    Registry(ws).register(finished_train_run(ws, store, dataset.id).id, "iris", "production")
    at = open_page("pipelines")
    drifted = str(EXAMPLE / "drifted.yaml")
    at.selectbox(key="pipe-file").set_value(drifted)
    at.run()
    assert not at.exception, at.exception
    assert "production model iris@v1" in at.caption[1].value
    run_button = [b for b in at.button if b.label == "Run pipeline"][0]
    run_button.click()
    at.run()
    run_id = at.query_params["run"]
    run_id = run_id[0] if isinstance(run_id, list) else run_id
    done = launcher.wait(store, run_id, timeout_s=120)
    assert done.status is RunStatus.FAILED
    at = open_page("pipelines", {"run": run_id})
    assert not at.exception, at.exception
    assert "validation stopped the pipeline" in at.error[0].value
    tables = [d.value for d in at.dataframe]
    stages = tables[0]
    assert dict(zip(stages["stage"], stages["status"], strict=True))["train"] == "skipped"
    report = tables[1]
    assert "type_change" in set(report["kind"]) and "high" in set(report["severity"])
    assert not [b for b in at.button if b.label == "Resume"]  # rerunning would stop again
