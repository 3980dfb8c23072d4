"""The Runs page's Compare tab, the prediction playground and the TensorBoard button (AppTest,
fake runs and fake jobs: no TensorFlow)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from core.runs.status import RunStatus
from core.runs.store import MetricPoint
from core.training.families.common import save_test_inputs
from core.training.features import FeatureSpec, ModelContract
from dashboard.compare import curve_figures, metrics_table, run_label, spec_tables
from tests.conftest import FAKE_HANDLERS, REPO
from tests.test_pages import open_page

IRIS = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
CLASSES = ["setosa", "versicolor", "virginica"]


def finished_train_run(store, name, spec, curves, metrics, test_metrics, extra=None):
    """A SUCCEEDED train run written straight into the store, with its metric points."""
    run = store.create_run("train", spec, name=name)
    store.set_status(run.id, RunStatus.RUNNING)
    for step, values in enumerate(curves, start=1):
        store.log_metrics(run.id, step, values)
    result = {"metrics": metrics, "test_metrics": test_metrics, **(extra or {})}
    return store.finish_run(run.id, result)


def curves(n, scale):
    return [
        {
            "loss": scale / s,
            "accuracy": 1 - 0.5 / s,
            "val_loss": 1.2 * scale / s,
            "val_accuracy": 1 - 0.6 / s,
        }
        for s in range(1, n + 1)
    ]


@pytest.fixture
def two_runs(store):
    base = {"data": "sample:iris", "target": "species", "epochs": 5, "hidden_units": [16, 8]}
    a = finished_train_run(
        store,
        "mlp small",
        {**base, "learning_rate": 0.01},
        curves(5, 1.0),
        {"val_loss": 0.24, "val_accuracy": 0.88},
        {"accuracy": 0.9, "macro_f1": 0.89},
        {"task": "classification", "model": "mlp", "parameters": 211},
    )
    b = finished_train_run(
        store,
        "mlp fast",
        {**base, "learning_rate": 0.1, "dropout": 0.2},
        curves(3, 2.0),
        {"val_loss": 0.8, "val_accuracy": 0.8},
        {"accuracy": 0.8333, "macro_f1": 0.81},
        {"task": "classification", "model": "mlp", "parameters": 211},
    )
    return a, b


def test_spec_tables_split_what_differs_from_what_is_shared(two_runs):
    a, b = two_runs
    differing, common = spec_tables([a, b])
    assert list(differing.index) == ["learning_rate", "dropout"]
    assert differing.loc["learning_rate"].tolist() == ["0.01", "0.1"]
    assert differing.loc["dropout", run_label(a)] == "—"
    assert set(common.index) == {"data", "target", "epochs", "hidden_units"}
    assert common.loc["hidden_units", run_label(b)] == "16, 8"


def test_metrics_table_has_validation_and_test_metrics_per_run(two_runs):
    a, b = two_runs
    table = metrics_table([a, b])
    assert table.loc[run_label(a), "validation accuracy"] == pytest.approx(0.88)
    assert table.loc[run_label(b), "test accuracy"] == pytest.approx(0.8333)
    assert table.loc[run_label(b), "validation loss"] == pytest.approx(0.8)
    assert table.loc[run_label(a), "parameters"] == 211


def test_curve_figures_overlay_runs_with_validation_dashed():
    points = {
        "run a": [MetricPoint(1, 1, "loss", 1.0, 0), MetricPoint(2, 1, "val_loss", 1.5, 0)],
        "run b": [MetricPoint(3, 1, "loss", 2.0, 0), MetricPoint(4, 2, "loss", 1.0, 0)],
    }
    figures = curve_figures(points)
    assert list(figures) == ["loss"]
    traces = {t.name: t for t in figures["loss"].data}
    assert set(traces) == {"run a · training", "run a · validation", "run b · training"}
    assert traces["run a · validation"].line.dash == "dash"
    assert traces["run a · training"].line.color == traces["run a · validation"].line.color
    assert traces["run a · training"].line.color != traces["run b · training"].line.color
    assert list(traces["run b · training"].y) == [2.0, 1.0]


def test_compare_tab_renders_specs_metrics_and_curves(ws, store, two_runs):
    a, b = two_runs
    at = open_page("runs")
    assert not at.exception, at.exception
    assert [t.label for t in at.tabs] == ["One run", "Compare"]
    compare = at.tabs[1]
    assert compare.multiselect(key="compare-pick").value == [b.id, a.id]
    frames = [df.value for df in compare.dataframe]
    diff = next(f for f in frames if "learning_rate" in f.index)
    assert diff.loc["learning_rate"].tolist() == ["0.1", "0.01"]
    metrics = next(f for f in frames if "test accuracy" in getattr(f, "columns", []))
    assert metrics.loc[run_label(a), "test accuracy"] == pytest.approx(0.9)
    assert metrics.loc[run_label(b), "validation accuracy"] == pytest.approx(0.8)
    charts = compare.get("plotly_chart")
    assert len(charts) == 2  # loss and accuracy, each run and split overlaid


def test_compare_tab_with_one_run_says_what_to_do(ws, store):
    finished_train_run(store, "only", {"epochs": 1}, curves(1, 1.0), {}, {})
    at = open_page("runs")
    assert not at.exception
    assert any("at least two finished training runs" in i.value for i in at.tabs[1].info)


def iris_run_with_contract(ws, store):
    """A finished fake iris run whose folder has what the playground reads."""
    run = finished_train_run(
        store,
        "iris",
        {"data": "sample:iris", "target": "species"},
        curves(2, 1.0),
        {"val_accuracy": 0.9},
        {"accuracy": 0.9},
        {"task": "classification", "classes": CLASSES},
    )
    folder = ws.run_dir(run.id)
    folder.mkdir(parents=True, exist_ok=True)
    ModelContract(
        "classification", "species", [FeatureSpec(c, c, "float32") for c in IRIS], CLASSES
    ).save(folder / "features.json")
    pd.DataFrame([[5.1, 3.5, 1.4, 0.2, "setosa"]], columns=[*IRIS, "species"]).to_csv(
        folder / "test_sample.csv", index=False
    )
    (folder / "model.keras").write_bytes(b"placeholder")
    return run


def test_playground_predicts_in_a_worker_and_shows_probabilities(ws, store, monkeypatch):
    monkeypatch.setenv("TFSTUDIO_HANDLERS", f"{FAKE_HANDLERS},predict=tests.fake_predict:predict")
    run = iris_run_with_contract(ws, store)
    at = open_page("runs", {"run": run.id})
    assert not at.exception, at.exception
    assert any(s.value == "Try the model" for s in at.subheader)
    at.button(key=f"runs-play-{run.id}-predict").click().run(timeout=60)
    assert not at.exception, at.exception
    assert any("Predicted class: **versicolor** (70.0%)" in m.value for m in at.markdown)
    predictions = store.list_runs(kind="predict")
    assert len(predictions) == 1 and predictions[0].status is RunStatus.SUCCEEDED
    assert predictions[0].spec["source_run"] == run.id
    assert predictions[0].result["row"] == {
        "sepal_length": 5.1,
        "sepal_width": 3.5,
        "petal_length": 1.4,
        "petal_width": 0.2,
    }
    assert at.get("plotly_chart")  # curves and the probability bars


def test_playground_shows_a_failed_prediction_as_a_message(ws, store, monkeypatch):
    monkeypatch.setenv("TFSTUDIO_HANDLERS", f"{FAKE_HANDLERS},predict=tests.fake_predict:refuse")
    run = iris_run_with_contract(ws, store)
    at = open_page("runs", {"run": run.id})
    at.button(key=f"runs-play-{run.id}-predict").click().run(timeout=60)
    assert not at.exception, at.exception
    assert any(
        e.value == "The prediction failed: column 'sepal_length' needs a number, not 'abc'"
        for e in at.error
    )


def test_tensorboard_button_starts_links_and_stops_a_server(ws, store, monkeypatch):
    """The real start/stop path, with a quick stand-in server instead of TensorBoard."""
    import core.runs.tools as tools

    monkeypatch.setattr(
        tools,
        "TENSORBOARD_COMMAND",
        (sys.executable, "-m", "http.server", "--bind", "{host}", "{port}"),
    )
    run = iris_run_with_contract(ws, store)
    at = open_page("runs", {"run": run.id})
    assert not [b for b in at.button if b.key == f"runs-tb-{run.id}-open"]  # no logs, no button
    (ws.run_dir(run.id) / "tensorboard").mkdir()
    at = open_page("runs", {"run": run.id})
    at.button(key=f"runs-tb-{run.id}-open").click().run(timeout=60)
    assert not at.exception, at.exception
    try:
        (server,) = tools.list_tools(ws)
        assert server.logdir == (ws.run_dir(run.id) / "tensorboard").resolve()
        assert any(server.url in c.value for c in at.caption)
        at.button(key=f"runs-tb-{run.id}-stop").click().run()
        assert not at.exception, at.exception
        assert tools.list_tools(ws) == []
        assert not [b for b in at.button if b.key == f"runs-tb-{run.id}-stop"]
    finally:
        tools.stop_tool(ws, "tensorboard")


def run_with_contract(ws, store, contract, files):
    run = finished_train_run(store, contract.task, {"task": contract.task}, [], {}, {})
    folder = ws.run_dir(run.id)
    folder.mkdir(parents=True, exist_ok=True)
    contract.save(folder / "features.json")
    (folder / "model.keras").write_bytes(b"placeholder")
    for name, write in files.items():
        write(folder / name)
    return run


def test_playground_forecasts_from_a_picked_test_window(ws, store, monkeypatch):
    monkeypatch.setenv("TFSTUDIO_HANDLERS", f"{FAKE_HANDLERS},predict=tests.fake_predict:predict")
    windows = np.arange(3 * 4 * 2, dtype="float32").reshape(3, 4, 2)
    contract = ModelContract(
        "forecasting",
        "a,b",
        [FeatureSpec("a", "window", "float32"), FeatureSpec("b", "window", "float32")],
        [],
        "sequence",
        {"test_label_times": ["t0", "t1", "t2"]},
    )
    run = run_with_contract(
        ws, store, contract, {"test_inputs.npz": lambda p: save_test_inputs(p, windows)}
    )
    at = open_page("runs", {"run": run.id})
    assert not at.exception, at.exception
    picker = at.number_input(key=f"runs-play-{run.id}-window")
    assert (picker.min, picker.max, picker.value) == (0, 2, 0)
    picker.set_value(2).run()
    at.button(key=f"runs-play-{run.id}-predict").click().run(timeout=60)
    assert not at.exception, at.exception
    (done,) = store.list_runs(kind="predict")
    assert done.spec["window_index"] == 2
    assert done.result["prediction"] == [[23.0, 24.0], [24.0, 25.0]]  # last step of window 2, +1/+2
    table = next(df.value for df in at.dataframe if "b" in getattr(df.value, "columns", []))
    assert table["a"].tolist() == [23.0, 24.0]


def test_playground_classifies_a_typed_text(ws, store, monkeypatch):
    monkeypatch.setenv("TFSTUDIO_HANDLERS", f"{FAKE_HANDLERS},predict=tests.fake_predict:predict")
    contract = ModelContract(
        "text-classification",
        "sentiment",
        [FeatureSpec("review", "text", "string")],
        ["negative", "positive"],
        "text",
    )
    texts = np.array([["a great film"], ["awful"]], dtype=object)
    run = run_with_contract(
        ws, store, contract, {"test_inputs.npz": lambda p: save_test_inputs(p, texts)}
    )
    at = open_page("runs", {"run": run.id})
    assert not at.exception, at.exception
    area = at.text_area(key=f"runs-play-{run.id}-text")
    assert area.value == "a great film"
    area.set_value("what a superb story").run()
    at.button(key=f"runs-play-{run.id}-predict").click().run(timeout=60)
    assert not at.exception, at.exception
    (done,) = store.list_runs(kind="predict")
    assert done.result["text"] == "what a superb story"
    assert any("Predicted class: **positive** (70.0%)" in m.value for m in at.markdown)


def test_playground_for_images_asks_for_an_upload(ws, store):
    contract = ModelContract(
        "image-classification",
        "label",
        [FeatureSpec("image", "image", "image")],
        ["blue", "red"],
        "image",
        {"image_size": 32},
    )
    run = run_with_contract(ws, store, contract, {})
    at = open_page("runs", {"run": run.id})
    assert not at.exception, at.exception
    assert at.button(key=f"runs-play-{run.id}-predict").disabled
    assert any("Upload an image" in c.value for c in at.caption)


def test_playground_and_compare_never_import_tensorflow(ws, store):
    """In a fresh process: the Runs page with a playground, TensorBoard button and Compare."""
    run = iris_run_with_contract(ws, store)
    iris_run_with_contract(ws, store)
    (ws.run_dir(run.id) / "tensorboard").mkdir()
    code = (
        "import sys; from tests.test_pages import open_page, TF_MODULES\n"
        f"at = open_page('runs', {{'run': {run.id!r}}})\n"
        "assert not at.exception, at.exception\n"
        "assert at.button(key='runs-play-" + run.id + "-predict')\n"
        "print(','.join(m for m in (*TF_MODULES, 'tensorboard') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=180
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1:] in ([], [""]), f"UI imported {out.stdout}"
