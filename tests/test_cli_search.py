"""`tfstudio tune` and `tfstudio automl` share one submit-watch-print path (core.cli.common):
what they print and return, checked with fake search handlers (no TensorFlow)."""

from __future__ import annotations

import json

from core.cli.common import search_payload
from core.tuning.trials import read_trials, write_trial
from tests.conftest import FAKE_HANDLERS, tfstudio

BEST = {"trial_id": "3", "score": 0.875, "hyperparameters": {"dropout": 0.1}}


def fake_search(spec, reporter, run_dir):
    return {
        "best": BEST,
        "trials": [{"trial_id": "3", "status": "COMPLETED", "score": 0.875}],
        "objective": {"name": "val_accuracy", "direction": "max"},
        "test_metrics": {"accuracy": 0.9, "macro_f1": None},
    }


def _handlers(monkeypatch):
    fake = "tests.test_cli_search:fake_search"
    monkeypatch.setenv("TFSTUDIO_HANDLERS", f"{FAKE_HANDLERS},tune={fake},automl={fake}")


def test_tune_prints_the_best_trial_and_exits_0(ws, monkeypatch):
    _handlers(monkeypatch)
    base = ("--data", "sample:iris", "--target", "species", "--model", "mlp")
    out = tfstudio("tune", *base, "--objective", "val_accuracy", "--max-trials", "2", timeout=120)
    assert out.returncode == 0, out.stderr
    line = out.stdout.strip()
    assert line.endswith("SUCCEEDED best trial 3: val_accuracy 0.875 {'dropout': 0.1}")
    out = tfstudio("tune", *base, "--objective", "val_accuracy", "--json", timeout=120)
    payload = json.loads(out.stdout)
    assert payload["best"] == BEST and payload["trials"][0]["trial_id"] == "3"


def test_automl_prints_best_and_test_metrics_and_detach_returns_the_id(ws, store, monkeypatch):
    _handlers(monkeypatch)
    out = tfstudio("automl", "--data", "sample:iris", "--target", "species", timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().endswith(
        "SUCCEEDED best trial 3: val_accuracy 0.875 · test accuracy 0.9"
    )
    out = tfstudio("automl", "--data", "sample:iris", "--target", "species", "--detach")
    assert out.returncode == 0, out.stderr
    (run_id,) = out.stdout.split()  # only the run id, at once
    assert store.get_run(run_id).kind == "automl"


def test_a_failed_search_lists_its_trials_from_disk(ws, store):
    """No result (failed or canceled): the payload reads the trial records in the run folder."""
    run = store.create_run("automl", {}, name="search")
    run_dir = ws.run_dir(run.id)
    run_dir.mkdir(parents=True, exist_ok=True)
    write_trial(run_dir, {"trial_id": "0", "number": 0, "status": "FAILED", "score": None})
    full = search_payload(ws, store, store.get_run(run.id), summaries=False)
    short = search_payload(ws, store, store.get_run(run.id), summaries=True)
    assert full["best"] is None
    assert full["trials"] == read_trials(run_dir)
    assert [t["trial_id"] for t in short["trials"]] == ["0"]
    assert short["trials"][0]["status"] == "FAILED"
