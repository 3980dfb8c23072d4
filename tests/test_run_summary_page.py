"""The Runs page reads like a page: each kind's summary, a one-click report, raw JSON behind an
expander with workspace-relative paths (AppTest, no TensorFlow)."""

from __future__ import annotations

from tests.report_fixtures import make_compress_run, make_export_run, make_train_run, make_tune_run
from tests.test_pages import open_page


def _text(at) -> str:
    return "\n".join(m.value for m in at.markdown)


def test_export_run_shows_formats_and_parity_in_words(ws, store):
    export = make_export_run(store, ws, make_train_run(store, ws))
    at = open_page("runs", {"run": export.id})
    assert not at.exception, at.exception
    assert "Summary" in [h.value for h in at.subheader]
    text = _text(at)
    assert "TF.js (in the browser) was run on 8 test rows by its own runtime" in text
    assert any(b.label == "Download report (HTML)" for b in at.get("download_button"))
    raw = next(e for e in at.expander if e.label == "Raw result (JSON)")
    shown = raw.json[0].value
    assert str(ws.root) not in shown and "runs/" in shown  # paths relative to the workspace


def test_compress_and_search_runs_explain_themselves(ws, store):
    train = make_train_run(store, ws)
    at = open_page("runs", {"run": make_compress_run(store, ws, train).id})
    assert "Int8 made the file 3.8x smaller and lost 0.4 points of accuracy" in _text(at)
    at = open_page("runs", {"run": make_tune_run(store, ws).id})
    assert not at.exception, at.exception
    assert "- 3 of 3 trials completed; the best, trial 2, reached val_accuracy 0.93." in _text(at)


def test_training_run_summary_names_overfitting(ws, store):
    run = make_train_run(store, ws)
    at = open_page("runs", {"run": run.id})
    assert not at.exception, at.exception
    assert "Validation loss rose after epoch 12" in _text(at)
