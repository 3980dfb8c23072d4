"""Run reports: explanations from synthetic numbers, the HTML built from finished runs, the CLI,
and the file read back by headless Chromium (text and PDF)."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest

from core.report import write_report
from core.report.collect import build_report
from core.report.explain import (
    explain_compression,
    explain_evaluation,
    explain_history,
    explain_search,
)
from core.report.html import render_html
from core.report.model import relative_paths
from tests.conftest import tfstudio
from tests.report_fixtures import (
    OVERFIT_HISTORY,
    make_compress_run,
    make_export_run,
    make_train_run,
    make_tune_run,
)


def test_overfitting_is_named_with_its_epoch():
    lines = explain_history(OVERFIT_HISTORY, planned_epochs=20)
    text = " ".join(lines)
    assert "validation loss rose after epoch 12" in text
    assert "training loss kept falling" in text and "overfit" in text
    assert "(from 0.45 to 0.73)" in text  # the run's own minimum and last value


def test_still_improving_and_levelled_off_are_told_apart():
    falling = {"loss": [1, 0.8, 0.6, 0.5, 0.4], "val_loss": [1.1, 0.9, 0.7, 0.6, 0.5]}
    assert "still falling at the last epoch" in explain_history(falling)[0]
    flat = {
        "loss": [1, 0.5, 0.3, 0.2, 0.15, 0.12, 0.1, 0.09],
        "val_loss": [1, 0.6, 0.41, 0.4, 0.4, 0.4, 0.401, 0.4],
    }
    line = explain_history(flat)[0]
    assert "levelled off at about 0.4" in line and "from epoch 4" in line


def test_divergence_and_early_stop_and_no_learning():
    nan = {"loss": [1.0, 3.0, math.nan], "val_loss": [1.0, 2.0, math.nan]}
    assert "epoch 3" in explain_history(nan)[0] and "diverged" in explain_history(nan)[0]
    stopped = explain_history(
        {"loss": [1, 0.5, 0.4, 0.39], "val_loss": [1, 0.6, 0.61, 0.62]}, 50, patience=2
    )
    assert stopped[0] == (
        "training stopped after epoch 4 of 50 because validation loss had not improved for "
        "2 epochs."
    )
    stuck = explain_history({"loss": [0.7, 0.71, 0.7], "val_loss": [0.7, 0.7, 0.7]})
    assert "did not fall" in stuck[0]


def test_accuracy_gap_is_reported_in_points():
    h = {**OVERFIT_HISTORY}
    lines = explain_history(h)
    gap = next(line for line in lines if "points better on rows it trained on" in line)
    # training 97.5% vs validation 72.0% at the last epoch: 25.5 points
    assert "97.5%" in gap and "72.0%" in gap and "25.5 points" in gap


def test_confusion_matrix_is_explained_against_the_majority_baseline():
    ev = {
        "task": "classification",
        "classes": ["no", "yes"],
        "confusion_matrix": [[80, 5], [10, 5]],
        "metrics": {"accuracy": 0.85},
    }
    lines = explain_evaluation(ev)
    assert "85 of 100 test rows right (85.0%)" in lines[0]
    assert "('no') would get 85.0%, so it is no better than that baseline" in lines[0]
    assert lines[1] == "the most common mistake: 10 'yes' rows were predicted as 'no'."
    assert "class 'yes' is the weakest: only 33.3% of its 15 rows" in lines[2]


def test_regression_and_forecast_explanations_use_the_numbers():
    reg = {
        "task": "regression",
        "metrics": {"mae": 2.0, "rmse": 2.5, "r2": 0.81},
        "actual": [10.0, 20.0, 30.0],
        "predicted": [11.0, 19.0, 36.0],
    }
    text = " ".join(explain_evaluation(reg))
    assert "off by 2 on average" in text and "explains 81%" in text
    assert "the largest miss: 36 predicted for an actual 30" in text
    fc = {"task": "forecasting", "metrics": {"mae": 1.5, "naive_mae": 2.0, "skill_vs_naive": 0.25}}
    assert "(25% better)" in explain_evaluation(fc)[0]


def test_compression_lines_say_how_much_smaller_and_what_it_cost():
    base = {
        "method": "float",
        "size_bytes": 380_000,
        "gzip_bytes": 300_000,
        "metric_name": "accuracy",
        "metric": 0.950,
        "latency_ms": 0.2,
        "batch_latency_ms": 1.0,
        "batch_rows": 32,
        "keras_batch_ms": 4.0,
    }
    int8 = {
        **base,
        "method": "int8",
        "size_bytes": 100_000,
        "gzip_bytes": 80_000,
        "metric": 0.946,
        "latency_ms": 0.1,
        "agreement": 0.99,
    }
    lines = explain_compression({"baseline": base, "variants": [int8]})
    assert lines[0].startswith(
        "int8 made the file 3.8x smaller and lost 0.4 points of accuracy; it predicts the same "
        "class as the float model on 99% of rows"
    )
    assert "2.0x faster than the float TFLite model" in lines[1]
    assert "batch of 32 rows" in lines[2] and "TFLite was 4.0x faster" in lines[2]


def test_search_explanation_names_the_spread_and_the_winner():
    trials = [
        {"number": i, "status": "COMPLETED", "score": s, "hyperparameters": {"units": u}}
        for i, (s, u) in enumerate([(0.6, 8), (0.93, 64), (0.8, 32)])
    ] + [{"number": 3, "status": "FAILED"}]
    result = {"objective": {"name": "val_accuracy", "direction": "max"}}
    lines = explain_search(result, trials)
    assert lines[0] == (
        "3 of 4 trials completed (1 failed); the best, trial 2, reached val_accuracy 0.93."
    )
    assert "changed val_accuracy by 33.0 points" in lines[1]
    assert lines[2] == "the best trial used units = 64."


def test_train_report_has_every_part_and_no_network(ws, store):
    run = make_train_run(store, ws)
    report = build_report(ws, store, run.id)
    titles = [s.title for s in report.sections]
    assert titles == ["Data", "Model and settings", "Training curves", "Test results"]
    html = render_html(report)
    assert "<script" not in html and not re.search(r"(src|href)=['\"]?https?:", html)
    assert html.count("<svg") == 3  # loss, accuracy, confusion matrix
    assert "Validation loss rose after epoch 12" in html


def test_every_report_ends_with_what_the_run_cost(ws, store, monkeypatch):
    """A worker's own accounting (core.runs.worker.job_resources) becomes the last section."""
    from tests import report_fixtures

    real = report_fixtures._finish

    def with_resources(store, ws, kind, spec, result, files, name=""):
        result = {**result, "resources": {"cpu_s": 12.345, "peak_rss_mib": 1089.4}}
        return real(store, ws, kind, spec, result, files, name)

    monkeypatch.setattr(report_fixtures, "_finish", with_resources)
    run = report_fixtures.make_train_run(store, ws)
    report = build_report(ws, store, run.id)
    cost = report.sections[-1]
    assert cost.title == "Cost on this machine"
    facts = dict(cost.facts)
    assert facts["CPU time"] == "12.3 s (all threads)" and facts["peak memory"] == "1,089 MiB"
    assert float(facts["wall time"].removesuffix(" s")) >= 0
    assert "Cost on this machine" in render_html(report)


def test_compress_and_export_reports_carry_the_source_model(ws, store):
    train = make_train_run(store, ws)
    comp = build_report(ws, store, make_compress_run(store, ws, train).id)
    assert [s.title for s in comp.sections][-1] == "Compression trade-offs"
    assert "Source model · Test results" in [s.title for s in comp.sections]
    assert comp.headline[0].startswith("int8 made the file 3.8x smaller and lost 0.4 points")
    exp = build_report(ws, store, make_export_run(store, ws, train).id)
    export = exp.sections[-1]
    assert [r[0] for r in export.tables[0].rows] == [
        "TFLite (mobile, edge)",
        "TF.js (in the browser)",
    ]
    assert any("TF.js (in the browser) was run on 8 test rows" in n for n in export.notes)


def test_search_report_ranks_trials(ws, store):
    report = build_report(ws, store, make_tune_run(store, ws).id)
    table = report.sections[0].tables[0]
    assert [row[1] for row in table.rows] == [2, 3, 1]  # trial numbers, best first
    assert table.columns[:3] == ["rank", "trial", "val_accuracy"]


def test_paths_are_shown_relative_to_the_workspace(ws):
    value = {"path": str(ws.root / "runs" / "r1" / "model.tflite"), "other": "/elsewhere/x"}
    assert relative_paths(value, ws.root) == {
        "path": "runs/r1/model.tflite",
        "other": "/elsewhere/x",
    }


def test_cli_writes_html_and_refuses_bad_input(ws, store, tmp_path):
    run = make_train_run(store, ws)
    out = tmp_path / "r.html"
    done = tfstudio("report", run.id, "--out", str(out), "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["path"] == str(out)
    assert "Test results" in out.read_text()
    bad = tfstudio("report", run.id, "--out", str(tmp_path / "r.docx"))
    assert bad.returncode == 2 and bad.stderr.startswith("error: --out must end in .html or .pdf")
    missing = tfstudio("report", "nope", "--out", str(out))
    assert missing.returncode == 2 and "nope" in missing.stderr


@pytest.mark.slow  # `make test-fast` skips the browser (no Chromium needed there)
@pytest.mark.browser
def test_report_reads_in_chromium_and_prints_to_pdf(ws, store, tmp_path):
    from playwright.sync_api import sync_playwright

    from core.report.pdf import CHROMIUM_ARGS, chromium_path

    train = make_train_run(store, ws)
    html_path = write_report(ws, store, make_compress_run(store, ws, train).id, tmp_path / "r.html")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        context = browser.new_context(offline=True)  # proves nothing is fetched
        page = context.new_page()
        page.goto(Path(html_path).as_uri())
        text = page.inner_text("body")
        charts = page.locator("svg.chart").count()
        browser.close()
    assert "In short" in text
    assert "Int8 made the file 3.8x smaller and lost 0.4 points of accuracy" in text
    assert "Validation loss rose after epoch 12" in text
    assert charts == 6  # loss, accuracy, confusion; size, gzip, metric
    pdf = write_report(ws, store, train.id, tmp_path / "r.pdf")
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF") and len(data) > 10_000


def test_pipeline_report_tells_what_was_pushed_and_what_validation_saw(ws, store):
    from core.runs.status import RunStatus

    train = make_train_run(store, ws)
    stages = {
        "ingest": {"type": "ingest", "status": "succeeded", "children": {}},
        "validate": {"type": "validate", "status": "succeeded", "children": {}},
        "train": {"type": "train", "status": "succeeded", "children": {"train": train.id}},
    }
    result = {
        "pipeline": "iris-retrain",
        "model": "iris",
        "outcome": "pushed",
        "stages": stages,
        "pushed": True,
        "registered": "iris@v2",
        "evaluation": {"metric": "accuracy", "challenger": 0.95, "production": 0.9, "better": True},
        "validation": {"high": 0, "medium": 2, "low": 3},
    }
    run = store.create_run("pipeline", {"file": "p.yaml"}, name="iris-retrain")
    store.set_status(run.id, RunStatus.RUNNING)
    store.finish_run(run.id, result)
    report = build_report(ws, store, run.id)
    notes = report.sections[0].notes
    assert notes[0] == "the retrained model was pushed and registered as iris@v2."
    assert (
        "accuracy 0.95 against 0.9 for the model in production: better, so it was pushed"
        in (notes[1])
    )
    assert notes[2] == (
        "data validation flagged 2 medium and 3 low-severity anomalies in the new rows; none "
        "reached the stopping severity, so training went ahead."
    )
    assert "Retrained model · Test results" in [s.title for s in report.sections]


def test_profile_explanation_names_the_bottleneck():
    from core.report.explain import explain_profile

    input_bound = {
        "step_time_ms": 12.0,
        "input_percent": 62.0,
        "breakdown_ms": {"input": 7.4, "compute": 3.0, "other": 1.6},
        "top_ops": [{"name": "MatMul", "type": "MatMul", "percent": 40.0}],
    }
    lines = explain_profile(input_bound)
    assert lines[0] == (
        "one training step took 12 ms; 62% of it was spent waiting for the next batch of data."
    )
    assert "the input pipeline is the bottleneck" in lines[1]
    assert "MatMul (MatMul), 40% of the time" in lines[2]
    compute_bound = {
        **input_bound,
        "input_percent": 5.0,
        "breakdown_ms": {"input": 0.5, "compute": 10.0, "other": 1.5},
    }
    assert "computing the model takes most of the step (83%)" in explain_profile(compute_bound)[1]
