"""A report one click from every finished run, on the page that started it: Train, Tune,
Compress and Pipelines show the same report widget as the Runs page, and the HTML it hands over
is that run's report, with its numbers (AppTest, no TensorFlow)."""

from __future__ import annotations

import pytest
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
from streamlit.testing.v1 import app_test

from core.runs.status import RunStatus
from tests.report_fixtures import (
    make_compress_run,
    make_export_run,
    make_train_run,
    make_tune_run,
)
from tests.test_pages import open_page


@pytest.fixture
def downloads(monkeypatch):
    """The files the pages' download buttons hand over, by media URL (AppTest keeps them in
    a memory store of its own per script run; this records those stores)."""
    stores: list[MemoryMediaFileStorage] = []

    class Recording(MemoryMediaFileStorage):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            stores.append(self)

    monkeypatch.setattr(app_test, "MemoryMediaFileStorage", Recording)

    def content(url: str) -> str:
        file_id = url.rsplit("/", 1)[-1].split(".")[0]
        for s in reversed(stores):
            try:
                return s.get_file(file_id).content.decode()
            except Exception:
                continue
        raise AssertionError(f"no file behind {url}")

    return content


def report_html(at, run_id: str, downloads) -> str:
    assert not at.exception, at.exception
    buttons = [b for b in at.get("download_button") if b.proto.label == "Download report (HTML)"]
    assert len(buttons) == 1, [b.proto.label for b in at.get("download_button")]
    assert any(b.label == "Make a PDF" for b in at.button)
    html = downloads(buttons[0].proto.url)
    assert html.startswith("<!DOCTYPE html>") and run_id in html
    return html


def pipeline_run(store, ws):
    train = make_train_run(store, ws)
    result = {
        "pipeline": "iris-retrain",
        "model": "iris",
        "outcome": "pushed",
        "stages": {
            "train": {"type": "train", "status": "succeeded", "children": {"train": train.id}}
        },
        "pushed": True,
        "registered": "iris@v2",
        "evaluation": {"metric": "accuracy", "challenger": 0.95, "production": 0.9, "better": True},
        "validation": {"high": 0, "medium": 2, "low": 3},
    }
    run = store.create_run("pipeline", {"file": "p.yaml", "text": ""}, name="iris-retrain")
    store.set_status(run.id, RunStatus.RUNNING)
    return store.finish_run(run.id, result)


def test_train_page_reports_its_finished_run(ws, store, downloads):
    run = make_train_run(store, ws)
    at = open_page("train", {"run": run.id})
    html = report_html(at, run.id, downloads)
    assert "validation loss rose after epoch 12" in html.lower()
    assert "0.933" in html  # test accuracy 28/30
    said = "\n".join(m.value for m in at.markdown if m.value.startswith("**In short**"))
    assert "- Validation loss rose after epoch 12" in said  # the page says it too


def test_tune_page_reports_its_finished_search(ws, store, downloads):
    run = make_tune_run(store, ws)
    html = report_html(open_page("tune", {"run": run.id}), run.id, downloads)
    assert "3 of 3 trials completed; the best, trial 2, reached val_accuracy 0.93" in html


def test_compress_page_reports_its_result(ws, store, downloads):
    run = make_compress_run(store, ws, make_train_run(store, ws))
    html = report_html(open_page("compress", {"compress": run.id}), run.id, downloads)
    assert "made the file 3.8x smaller and lost 0.4 points of accuracy" in html


def test_pipelines_page_reports_its_finished_run(ws, store, downloads):
    run = pipeline_run(store, ws)
    html = report_html(open_page("pipelines", {"run": run.id}), run.id, downloads)
    assert "registered as iris@v2" in html
    assert "accuracy 0.95 against 0.9 for the model in production" in html


def test_no_report_buttons_while_a_run_is_active(ws, store):
    run = store.create_run("train", {"data": "sample:iris", "target": "species"})
    store.set_status(run.id, RunStatus.RUNNING)
    at = open_page("train", {"run": run.id})
    assert not at.exception, at.exception
    assert not [b for b in at.get("download_button") if "report" in b.proto.label]


def test_export_page_reports_its_run_and_links_an_earlier_export(ws, store, downloads):
    train = make_train_run(store, ws)
    export = make_export_run(store, ws, train)
    at = open_page("export")
    assert not at.exception, at.exception
    (link,) = [p for p in at.get("page_link") if "exported before" in p.proto.label]
    assert link.proto.label.startswith("This model was exported before (TFLite")
    assert export.id in link.proto.page or export.id in str(link.proto)
    html = report_html(open_page("export", {"export": export.id}), export.id, downloads)
    assert "TF.js (in the browser) was run on 8 test rows by its own runtime" in html
