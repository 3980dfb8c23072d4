"""The Compress page (AppTest with fake finished runs and a fake compress job: no TensorFlow)."""

from __future__ import annotations

import pytest

from core.runs import launcher
from core.runs.status import RunStatus
from dashboard.compression_view import pareto_mask, report_frame
from tests.conftest import FAKE_HANDLERS
from tests.fake_compress import compress
from tests.test_compare_pages import finished_train_run, iris_run_with_contract
from tests.test_compression_preflight import MLP, layer, write_keras
from tests.test_pages import open_page


@pytest.fixture
def iris(ws, store, monkeypatch):
    monkeypatch.setenv(
        "TFSTUDIO_HANDLERS", f"{FAKE_HANDLERS},compress=tests.fake_compress:compress"
    )
    run = iris_run_with_contract(ws, store)
    folder = ws.run_dir(run.id)
    write_keras(folder / "network.keras", MLP)
    write_keras(folder / "preprocessing.keras", [layer("InputLayer", "a")])
    return run


def test_page_without_training_runs_says_what_to_do(ws):
    at = open_page("compress")
    assert not at.exception, at.exception
    assert any("train a model first" in i.value for i in at.info)


def test_page_shows_the_preflight_and_refuses_a_run_without_a_model(ws, store, iris):
    at = open_page("compress")
    assert not at.exception, at.exception
    methods = next(df.value for df in at.dataframe if "available" in df.value.columns)
    assert methods.loc["prune", "available"] == "yes"
    assert methods.loc["qat", "applies to"] == "network"
    assert at.multiselect(key="compress-methods").value == ["dynamic", "float16", "int8"]
    assert at.slider(key="compress-sparsity").disabled  # no pruning chosen

    empty = finished_train_run(store, "no model", {}, [], {}, {})
    at = open_page("compress")
    at.selectbox(key="compress-source").set_value(empty.id).run()
    assert not at.exception, at.exception
    assert any("no model.keras" in e.value for e in at.error)


def test_page_explains_a_model_the_fine_tuning_methods_cannot_take(ws, store, iris):
    attn = [
        layer("InputLayer", "x"),
        layer("Attention", "attn", ["x"]),
        layer("Dense", "d", ["attn"]),
    ]
    write_keras(ws.run_dir(iris.id) / "network.keras", attn)
    at = open_page("compress")
    methods = next(df.value for df in at.dataframe if "available" in df.value.columns)
    assert methods.loc["cluster", "available"] == "no"
    assert "'attn' (Attention)" in methods.loc["cluster", "why / note"]
    assert "cluster" not in at.multiselect(key="compress-methods").options


def test_page_runs_a_compression_job_and_shows_the_report(ws, store, iris):
    at = open_page("compress")
    at.multiselect(key="compress-methods").set_value(["int8", "prune", "cluster"]).run()
    assert not at.slider(key="compress-sparsity").disabled
    at.slider(key="compress-sparsity").set_value(0.5).run()
    at.radio(key="compress-schedule").set_value("constant").run()
    at.selectbox(key="compress-centroids").set_value("density").run()
    at.button(key="compress-start").click().run()
    assert not at.exception, at.exception
    (run,) = store.list_runs(kind="compress")
    assert run.spec["method"] == "int8,prune,cluster" and run.spec["sparsity"] == 0.5
    assert run.spec["schedule"] == "constant" and run.spec["centroids"] == "density"
    assert run.spec["source_run"] == iris.id
    launcher.wait(store, run.id, timeout_s=60)
    assert store.get_run(run.id).status is RunStatus.SUCCEEDED
    at = open_page("compress", {"compress": run.id})
    assert not at.exception, at.exception
    report = next(df.value for df in at.dataframe if "gzip (bytes)" in df.value.columns)
    assert list(report.index) == ["float", "int8", "prune", "cluster"]
    assert report.loc["int8", "size (bytes)"] == 400
    assert any("clustering broke on purpose" in e.value for e in at.error)
    assert len(at.get("plotly_chart")) == 2  # size and latency Pareto charts
    labels = [b.label for b in at.get("download_button")]
    assert any(lbl.startswith("model_int8.tflite") for lbl in labels)
    assert any(lbl.startswith("compression_report.json") for lbl in labels)
    # each working variant leads to the Export page with it preselected
    links = {lnk.label: lnk for lnk in at.get("page_link")}
    assert "Use int8 → Export" in links and "Use prune → Export" in links
    assert not any("cluster" in label for label in links)  # the failed one is not offered
    assert links["Use int8 → Export"].proto.query_string == f"compress={run.id}&variant=int8"


def test_report_frame_and_pareto_front(tmp_path):
    class Spec:
        method = "int8,prune"
        source_run = "r"

    class Reporter:
        def progress(self, *a, **k): ...
        def artifact(self, *a, **k): ...

    result = compress(Spec(), Reporter(), tmp_path)
    frame = report_frame(result)
    assert frame.loc["int8", "× float size"] == pytest.approx(400 / 1200)
    assert pareto_mask([1, 2, 3], [0.9, 0.95, 0.9], True) == [True, True, False]
    assert pareto_mask([1, 2], [0.4, 0.5], False) == [True, False]  # mae: lower wins
