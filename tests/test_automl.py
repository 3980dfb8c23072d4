"""AutoML (AutoKeras) without TensorFlow: bad input refused with a message, the distributed-mode
variables scrubbed, and the class-order mapping of the saved model."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from core.errors import BadInput
from core.runs import launcher
from core.specs import AutoMLSpec
from core.tuning.automl import DISTRIBUTED_ENV, class_mapping, scrub_distributed_env
from core.tuning.automl_plan import check_automl_spec
from tests.conftest import tfstudio

IRIS = ("--data", "sample:iris", "--target", "species")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((*IRIS, "--task", "clustering"), "unknown task 'clustering'"),
        (
            ("--data", "sample:iris", "--target", "colour"),
            "there is no column 'colour'; columns are: sepal_length_cm",
        ),
        ((*IRIS, "--max-trials", "0"), "max trials must be at least 1, got 0"),
    ],
)
def test_cli_refuses_bad_input_before_any_run(tmp_path, args, message):
    out = tfstudio("automl", *args, "--json", "--home", str(tmp_path))
    assert out.returncode == 2, out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], lines
    assert out.stdout == ""
    runs = tmp_path / "runs"
    assert not runs.exists() or not any(runs.iterdir())


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"max_trials": -3}, "max trials must be at least 1, got -3"),
        ({"epochs": 0}, "epochs must be at least 1, got 0"),
        ({"batch_size": 0}, "batch size must be at least 1"),
        ({"tuner": "grid"}, "unknown tuner 'grid'; choose greedy, bayesian, hyperband, random"),
        ({"task": "text-classification"}, "unknown task 'text-classification'"),
        ({"task": "regression"}, "the target 'species' is not numeric"),
        ({"target": ""}, "choose a target column; columns are: sepal_length_cm"),
        ({"data": "nowhere/missing.csv"}, "no such file or folder: nowhere/missing.csv"),
        ({"text_column": "nope"}, "there is no text column 'nope'"),
        ({"text_column": "species"}, "the text column and the target are both 'species'"),
        ({"validation_fraction": 0.9}, "the validation fraction must be in (0, 0.5]"),
    ],
)
def test_bad_specs_are_refused_with_a_message(ws, fields, message):
    spec = AutoMLSpec(**{"data": "sample:iris", "target": "species", **fields})
    with pytest.raises(BadInput) as caught:
        check_automl_spec(spec, ws)
    assert message in str(caught.value)


def test_check_reports_what_will_run(ws):
    plan = check_automl_spec(AutoMLSpec(data="sample:diabetes", target="progression"), ws)
    assert (plan.input_kind, plan.task, plan.automodel) == (
        "table",
        "regression",
        "StructuredDataRegressor",
    )
    assert plan.split_sizes == {"train": 264, "validation": 89, "test": 89}
    plan = check_automl_spec(AutoMLSpec(data="sample:iris", target="species"), ws)
    assert plan.automodel == "StructuredDataClassifier"
    plan = check_automl_spec(
        AutoMLSpec(data="sample:iris", target="species", text_column="sepal_length_cm"), ws
    )
    assert (plan.input_kind, plan.automodel) == ("text", "TextClassifier")
    with pytest.raises(BadInput, match="no time-series task"):
        from core.data.datasets import DatasetStore
        from core.data.samples import sample_path

        store = DatasetStore(ws)
        version = store.import_file(
            sample_path("stocks", ws.samples_dir), "stocks.csv", kind="timeseries"
        )
        check_automl_spec(AutoMLSpec(data=version.id, target="GOOG"), ws)


def test_a_bad_spec_submitted_directly_fails_with_the_same_message(ws, store):
    """The worker checks again (a spec can come from a page or a notebook): FAILED, no TF."""
    run = launcher.submit(ws, store, AutoMLSpec(data="sample:iris", target="colour"))
    done = launcher.wait(store, run.id, timeout_s=60)
    assert done.status.value == "FAILED"
    assert "there is no column 'colour'" in done.error


def test_distributed_variables_are_removed(monkeypatch):
    for name in DISTRIBUTED_ENV:
        monkeypatch.setenv(name, "x")
    monkeypatch.setenv("KERASTUNER_OTHER", "kept")
    assert scrub_distributed_env() == list(DISTRIBUTED_ENV)
    assert not any(name in os.environ for name in DISTRIBUTED_ENV)
    assert os.environ["KERASTUNER_OTHER"] == "kept"
    assert scrub_distributed_env() == []


def test_class_mapping_puts_autokeras_outputs_in_contract_order():
    # Softmax over AutoKeras' labels (sorted as strings: "0", "1", "10", "2", ...).
    labels = [str(i) for i in sorted(range(12), key=str)]
    w, b = class_mapping(labels, 12, 12)
    probs = np.random.default_rng(0).dirichlet(np.ones(12), size=5).astype("float32")
    mapped = probs @ w + b
    for j, label in enumerate(labels):
        np.testing.assert_array_equal(mapped[:, int(label)], probs[:, j])
    # Already in order: no mapping layer at all.
    assert class_mapping(["0", "1", "2"], 3, 3) is None
    # One sigmoid unit for two classes: [1 - p, p].
    w, b = class_mapping(["0", "1"], 2, 1)
    np.testing.assert_allclose(np.array([[0.2]]) @ w + b, [[0.8, 0.2]])
    # A class the training split lacked gets probability 0.
    w, b = class_mapping(["0", "2"], 3, 2)
    np.testing.assert_allclose(np.array([[0.3, 0.7]]) @ w + b, [[0.3, 0.0, 0.7]])


def test_handler_registered_and_resumable():
    from core.runs.handlers import BUILTIN, RESUMABLE

    assert BUILTIN["automl"] == "core.tuning.automl:run_automl_job"
    assert "automl" in RESUMABLE


def test_failed_search_lists_its_trials_from_disk(ws, store):
    """A search that fails after some trials still reports them (from the records on disk)."""
    from core.cli.cmd_automl import automl_payload
    from core.tuning.trials import write_trial

    run = store.create_run("automl", AutoMLSpec().to_dict())
    write_trial(
        ws.run_dir(run.id),
        {"trial_id": "0", "number": 0, "status": "FAILED", "error": "ValueError: x", "history": {}},
    )
    payload = automl_payload(ws, store, store.get_run(run.id))
    assert [(t["trial_id"], t["status"], t["error"]) for t in payload["trials"]] == [
        ("0", "FAILED", "ValueError: x")
    ]
    assert "history" not in payload["trials"][0]
    json.dumps(payload)  # one JSON object on stdout


class _Metric:
    def __init__(self, values):
        self.values = values

    def get_history(self):
        return [type("Obs", (), {"mean": lambda self, v=v: v})() for v in self.values]


class _Trial:
    def __init__(self, trial_id, status, score=None, history=None):
        self.trial_id, self.status, self.score, self.message = trial_id, status, score, None
        self.hyperparameters = type("HP", (), {"values": {"units": np.int64(32)}})()
        metrics = {k: _Metric(v) for k, v in (history or {}).items()}
        self.metrics = type("Metrics", (), {"metrics": metrics})()


class _Tuner:
    def __init__(self, run_dir, trials):
        self.run_dir = run_dir
        self.oracle = type("Oracle", (), {"trials": trials, "start_order": list(trials)})()

    def get_trial_dir(self, trial_id):
        return str(self.run_dir / "search" / f"trial_{trial_id}")

    def _get_checkpoint_fname(self, trial_id):
        return str(self.run_dir / "search" / f"trial_{trial_id}" / "checkpoint.weights.h5")


def test_resume_reconciles_records_with_the_oracle(tmp_path):
    """Killed after KerasTuner ended a trial but before its record said so: the record is
    rebuilt from the oracle; trials the oracle will retry are listed as repeated."""
    from core.runs.reporter import NullReporter
    from core.tuning.automl import TrialRecorder
    from core.tuning.trials import read_trials, write_trial

    objective = {"name": "val_accuracy", "direction": "max"}
    for trial_id, status in (("0", "RUNNING"), ("1", "RUNNING"), ("2", "STOPPED")):
        write_trial(
            tmp_path,
            {"trial_id": trial_id, "number": int(trial_id), "status": status, "started_at": 5.0},
        )
    oracle = {
        "0": _Trial("0", "COMPLETED", 0.9, {"val_accuracy": [0.5, 0.9, 0.8], "loss": [3, 2, 1]}),
        "1": _Trial("1", "RUNNING"),
    }
    search = {"objective": objective}
    recorder = TrialRecorder(tmp_path, NullReporter(), AutoMLSpec(), search)
    assert recorder.reconcile(_Tuner(tmp_path, oracle)) == ["1", "2"]
    recs = {r["trial_id"]: r for r in read_trials(tmp_path)}
    assert recs["0"]["status"] == "COMPLETED" and recs["0"]["score"] == 0.9
    assert recs["0"]["history"]["val_accuracy"] == [0.5, 0.9, 0.8] and recs["0"]["epochs"] == 3
    assert recs["0"]["hyperparameters"] == {"units": 32} and recs["0"]["started_at"] == 5.0
    assert recs["1"]["status"] == "STOPPED" and recs["1"]["ended_at"] is not None
    assert recs["2"]["status"] == "STOPPED"
    assert recorder.finished == 1
