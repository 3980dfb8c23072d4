"""The Tune page (AppTest): the search-space editor's refusals, launching a search, a finished
search drawn from trial records, resume and promotion, with fake tune/automl jobs (no TF)."""

from __future__ import annotations

import math
import time

import pytest

from core.runs import launcher
from core.runs.status import RunStatus
from core.tuning.trials import write_search, write_trial
from tests.conftest import FAKE_HANDLERS, wait_until
from tests.test_pages import open_page

SPACE = [
    {"name": "hidden_units", "kind": "choice", "choices": ["16", "32-16", "64-32"]},
    {"name": "dropout", "kind": "float", "low": 0.0, "high": 0.5, "step": 0.1},
    {"name": "learning_rate", "kind": "float", "low": 1e-4, "high": 1e-1, "log": True},
]
LRS = [0.1, 0.0003, 0.01, 0.003, 0.03, 0.0001, 0.001]


def trial_record(i: int, status: str = "COMPLETED", worker: str = "main") -> dict:
    """Trial `i` of a fake search whose val_loss depends only on the learning rate."""
    lr = LRS[i % len(LRS)]
    score = round(abs(math.log10(lr) + 2.5) / 3 + 0.05, 4)
    return {
        "trial_id": f"{i:04d}",
        "number": i,
        "status": status,
        "hyperparameters": {
            "hidden_units": ["16", "32-16", "64-32"][i % 3],
            "dropout": [0.0, 0.2, 0.4][(i * 2) % 3],
            "learning_rate": lr,
        },
        "score": score if status == "COMPLETED" else None,
        "objective": {"name": "val_loss", "direction": "min"},
        "started_at": 1_000.0 + 10 * i,
        "ended_at": None if status == "RUNNING" else 1_008.0 + 10 * i,
        "duration_s": None if status == "RUNNING" else 8.0,
        "epochs": 3,
        "history": {
            "loss": [1.0, 0.7, score * 0.9],
            "val_loss": [1.1, 0.8, score],
            "accuracy": [0.4, 0.7, 0.9],
            "val_accuracy": [0.3, 0.6, 0.85],
        },
        "error": "ValueError: the trial blew up on purpose" if status == "FAILED" else None,
        "checkpoint_kept": status == "COMPLETED" and i < 3,
        "worker": worker,
    }


def write_fake_search(run_dir, completed: int, failed: int = 0, running: int = 0, **extra):
    write_search(
        run_dir,
        {
            "engine": "keras-tuner",
            "tuner": "hyperband",
            "objective": {"name": "val_loss", "direction": "min"},
            "max_trials": completed + failed + running + 2,
            "executions_per_trial": 1,
            "space": SPACE,
            "model": "mlp",
            "task": "classification",
            "keep_best": 3,
            "workers": 0,
            "disk_bytes": 123_456,
            **extra,
        },
    )
    statuses = ["COMPLETED"] * completed + ["FAILED"] * failed + ["RUNNING"] * running
    for i, status in enumerate(statuses):
        write_trial(run_dir, trial_record(i, status))


def fake_tune(spec, reporter, run_dir):
    """A resumable fake search: writes one trial per 'step', skipping the ones already on disk."""
    from core.tuning.trials import read_trials

    done = {t["trial_id"] for t in read_trials(run_dir) if t["status"] == "COMPLETED"}
    total = int(spec.max_trials)
    write_fake_search(run_dir, 0, max_trials=total)
    for i in range(total):
        if f"{i:04d}" not in done:
            write_trial(run_dir, trial_record(i))
            time.sleep(0.05)
        reporter.progress("searching", i + 1, total, f"trial {i + 1}/{total}")
    return {"best": {"trial_id": "0003"}, "resumed_with": sorted(done)}


def fake_automl(spec, reporter, run_dir):
    write_fake_search(run_dir, 2, engine="autokeras", tuner=spec.tuner)
    return {"test_metrics": {"accuracy": 0.93, "macro_f1": 0.92}}


@pytest.fixture
def fakes(ws, monkeypatch):
    monkeypatch.setenv(
        "TFSTUDIO_HANDLERS",
        f"{FAKE_HANDLERS},tune=tests.test_tune_page:fake_tune,"
        "automl=tests.test_tune_page:fake_automl",
    )
    monkeypatch.setenv("TFSTUDIO_RESUMABLE", "counter,tune")
    return ws


def search_run(ws, store, status: RunStatus, completed=6, failed=1, running=0, error=None):
    spec = {"base": {"data": "sample:iris", "target": "species", "model": "mlp"}, "max_trials": 9}
    spec |= {"tuner": "hyperband", "objective": "val_loss", "space": SPACE}
    run = store.create_run("tune", spec, name="hyperband · mlp · species · sample iris")
    store.set_status(run.id, RunStatus.RUNNING)
    write_fake_search(ws.run_dir(run.id), completed, failed, running)
    if status is RunStatus.SUCCEEDED:
        best = trial_record(3)
        keep = ("trial_id", "score", "hyperparameters")
        return store.finish_run(run.id, {"best": {k: best[k] for k in keep}, "model": "mlp"})
    if status is RunStatus.RUNNING:
        return store.get_run(run.id)
    return store.fail_run(run.id, error or "worker vanished", status=status)


def errors(at) -> str:
    return " ".join(e.value for e in at.error)


def test_page_renders_with_no_runs_and_the_model_s_space(ws):
    at = open_page("tune")
    assert not at.exception, at.exception
    assert not at.error
    assert not any("Previous searches" in e.label for e in at.expander)
    # The MLP's declared hyperparameters, searched over their declared ranges.
    assert at.number_input(key="tune-space-mlp-learning_rate-low").value == pytest.approx(1e-4)
    assert at.checkbox(key="tune-space-mlp-learning_rate-log").value is True
    assert at.multiselect(key="tune-space-mlp-hidden_units-choices").value == [
        "16",
        "32-16",
        "64-32",
        "128-64-32",
    ]
    assert at.selectbox(key="tune-tuner").value == "hyperband"
    assert at.selectbox(key="tune-objective-True").options == [
        "val_loss",
        "val_accuracy",
        "loss",
        "accuracy",
    ]


def test_editor_refuses_min_above_max_without_submitting(ws, store):
    at = open_page("tune")
    at.number_input(key="tune-space-mlp-dropout-high").set_value(0.0).run()
    at.number_input(key="tune-space-mlp-dropout-low").set_value(0.4).run()
    assert "minimum (0.4) is greater than the maximum (0)" in errors(at)
    at.button(key="tune-go").click().run()
    assert not at.exception, at.exception
    assert "Fix the search space first" in errors(at)
    assert store.list_runs() == []


def test_editor_refuses_empty_choices_and_an_empty_space(ws, store):
    at = open_page("tune")
    at.multiselect(key="tune-space-mlp-hidden_units-choices").set_value([]).run()
    assert "**hidden_units**: no choices selected" in errors(at)
    at.button(key="tune-go").click().run()
    assert store.list_runs() == []

    at = open_page("tune")
    for name in ("hidden_units", "dropout", "learning_rate"):
        at.radio(key=f"tune-space-mlp-{name}-mode").set_value("Fix").run()
    assert "The search space is empty" in errors(at)
    at.button(key="tune-go").click().run()
    assert store.list_runs() == []


def test_editor_refuses_log_sampling_from_zero_and_a_condition_without_values(fakes, store):
    at = open_page("tune")
    at.checkbox(key="tune-space-mlp-dropout-log").check().run()
    assert "log sampling needs a minimum above 0" in errors(at)
    at.checkbox(key="tune-space-mlp-dropout-log").uncheck().run()
    at.checkbox(key="tune-space-mlp-dropout-cond").check().run()
    assert "pick the values of **hidden_units**" in errors(at)
    at.multiselect(key="tune-space-mlp-dropout-cond-values-hidden_units").set_value(["32-16"]).run()
    assert not at.error
    at.button(key="tune-go").click().run()
    (run,) = store.list_runs()
    dropout = next(s for s in run.spec["space"] if s["name"] == "dropout")
    assert dropout["parent"] == {"name": "hidden_units", "values": ["32-16"]}


def test_launch_submits_the_spec_and_puts_the_run_in_the_url(fakes, store):
    at = open_page("tune")
    at.selectbox(key="tune-tuner").set_value("random").run()
    at.selectbox(key="tune-objective-True").set_value("val_accuracy").run()
    at.number_input(key="tune-max-trials").set_value(5).run()
    at.number_input(key="tune-keep-best").set_value(2).run()
    at.number_input(key="tune-workers").set_value(2).run()
    at.number_input(key="tune-budget").set_value(1.5).run()
    at.multiselect(key="tune-space-mlp-hidden_units-choices").set_value(["16", "32-16"]).run()
    at.radio(key="tune-space-mlp-dropout-mode").set_value("Fix").run()
    at.button(key="tune-go").click().run()
    assert not at.exception, at.exception
    (run,) = store.list_runs(kind="tune")
    assert at.query_params["run"] == run.id
    spec = run.spec
    assert (spec["tuner"], spec["objective"], spec["direction"]) == ("random", "val_accuracy", "")
    assert (spec["max_trials"], spec["keep_best"], spec["workers"]) == (5, 2, 2)
    assert spec["time_budget_s"] == 90.0
    assert spec["base"]["data"] == "sample:iris" and spec["base"]["model"] == "mlp"
    by = {s["name"]: s for s in spec["space"]}
    assert by["hidden_units"]["choices"] == ["16", "32-16"]
    assert by["dropout"] == {"name": "dropout", "kind": "fixed", "value": 0.0, "default": 0.0}
    assert by["learning_rate"]["log"] is True
    assert launcher.wait(store, run.id, timeout_s=60).status is RunStatus.SUCCEEDED


def test_a_finished_search_shows_table_best_score_importance_and_failures(ws, store):
    run = search_run(ws, store, RunStatus.SUCCEEDED, completed=6, failed=1)
    at = open_page("tune", {"run": run.id})
    assert not at.exception, at.exception
    table = next(df.value for df in at.dataframe if "trial_id" in df.value.columns)
    assert len(table) == 7
    assert set(table.columns) >= {"status", "score", "duration_s", "epochs", "worker"}
    assert set(table.columns) >= {"hidden_units", "dropout", "learning_rate"}
    best_row = table[table["best"] == "★"]
    assert best_row["trial_id"].tolist() == ["0003"]  # lr 0.003 -> the lowest val_loss
    best = next(m for m in at.metric if m.label.startswith("Best val_loss"))
    assert best.value == f"{trial_record(3)['score']:.4g}"
    assert any("0003" in s.value for s in at.success)
    charts = at.get("plotly_chart")
    assert len(charts) >= 4  # best so far, parallel coordinates, importance, learning curves
    assert "ValueError: the trial blew up on purpose" in errors(at)
    (bar,) = at.get("progress")
    assert "7 trials finished, fewer than the 9 allowed" in bar.proto.text
    assert not any("more to go" in i.value for i in at.info)
    assert at.button(key="tune-promote")  # the Promote button is there
    assert not [b for b in at.button if b.key == "tune-resume"]


def test_importance_says_how_many_more_trials_it_needs(ws, store):
    run = search_run(ws, store, RunStatus.SUCCEEDED, completed=2, failed=0)
    at = open_page("tune", {"run": run.id})
    assert not at.exception, at.exception
    assert any("2 more to go" in i.value for i in at.info)


def test_a_lost_search_offers_resume_which_continues_the_same_run(fakes, store):
    run = search_run(fakes, store, RunStatus.LOST, completed=3, failed=0, running=1)
    at = open_page("tune", {"run": run.id})
    assert not at.exception, at.exception
    assert "worker vanished" in errors(at)
    table = next(df.value for df in at.dataframe if "trial_id" in df.value.columns)
    assert table["status"].tolist() == ["completed"] * 3 + ["interrupted"]
    assert any("Resume" in i.value for i in at.info)
    at.button(key="tune-resume").click().run()
    assert not at.exception, at.exception
    done = launcher.wait(store, run.id, timeout_s=60)
    assert done.status is RunStatus.SUCCEEDED and done.id == run.id
    assert done.result["resumed_with"] == ["0000", "0001", "0002"]  # finished trials kept


def test_a_running_search_is_shown_live(ws, store):
    run = search_run(ws, store, RunStatus.RUNNING, completed=2, failed=0, running=1)
    at = open_page("tune", {"run": run.id})
    assert not at.exception, at.exception
    assert at.button(key=f"tune-cancel-{run.id}")
    table = next(df.value for df in at.dataframe if "trial_id" in df.value.columns)
    assert table["status"].tolist()[-1].endswith("running")


def test_previous_searches_can_be_reopened(ws, store):
    run = search_run(ws, store, RunStatus.SUCCEEDED, completed=4, failed=0)
    at = open_page("tune")
    listing = next(df.value for df in at.dataframe if "best score" in df.value.columns)
    assert listing["run"].tolist() == [run.id]
    assert listing["trials"].tolist() == [4]
    at.button(key="tune-reopen").click().run()
    assert at.query_params["run"] == run.id


def test_autokeras_mode_submits_an_automl_spec_and_shows_test_metrics(fakes, store):
    at = open_page("tune")
    at.radio(key="tune-mode").set_value("AutoKeras").run()
    at.number_input(key="tune-ak-trials").set_value(2).run()
    at.selectbox(key="tune-ak-tuner").set_value("random").run()
    at.button(key="tune-go").click().run()
    assert not at.exception, at.exception
    (run,) = store.list_runs(kind="automl")
    assert (run.spec["max_trials"], run.spec["tuner"], run.spec["target"]) == (
        2,
        "random",
        "species",
    )
    wait_until(lambda: store.get_run(run.id).status.is_finalized, timeout=60)
    at = open_page("tune", {"run": run.id})
    assert not at.exception, at.exception
    assert any(m.label == "accuracy" and m.value == "0.93" for m in at.metric)
    assert not [b for b in at.button if b.key == "tune-promote"]


def test_autokeras_refuses_regression_on_class_names_without_submitting(fakes, store):
    at = open_page("tune")
    at.radio(key="tune-mode").set_value("AutoKeras").run()
    at.selectbox(key="tune-ak-task").set_value("regression").run()
    at.button(key="tune-go").click().run()
    assert not at.exception, at.exception
    assert "'species' is not numeric, so it cannot be regressed" in errors(at)
    assert store.list_runs() == []


def test_an_objective_the_task_never_logs_is_not_offered_and_regression_uses_mae(ws):
    at = open_page("tune")
    at.selectbox(key="tune-sample").set_value("diabetes").run()
    assert not at.exception, at.exception
    objective = next(s for s in at.selectbox if s.key and s.key.startswith("tune-objective"))
    assert objective.options == ["val_loss", "val_mae", "loss", "mae"]


def test_the_engine_s_own_space_check_is_shown_and_blocks_the_launch(fakes, store):
    at = open_page("tune")
    at.number_input(key="tune-space-mlp-dropout-step").set_value(0.9).run()
    assert "step 0.9 is larger than the range" in errors(at)
    at.button(key="tune-go").click().run()
    assert store.list_runs() == []


def test_promote_submits_a_training_run_on_train_plus_validation_and_links_to_it(
    fakes, store, monkeypatch
):
    monkeypatch.setenv(
        "TFSTUDIO_HANDLERS",
        f"{FAKE_HANDLERS},tune=tests.test_tune_page:fake_tune,train=tests.fake_jobs:succeed",
    )
    run = search_run(fakes, store, RunStatus.SUCCEEDED, completed=5)
    at = open_page("tune", {"run": run.id})
    at.button(key="tune-promote").click().run()
    assert not at.exception, at.exception
    (train,) = store.list_runs(kind="train")
    assert train.spec["fit_on_validation"] is True
    assert train.spec["learning_rate"] == pytest.approx(0.003)
    assert train.spec["hidden_units"] == [16]
    assert train.spec["data"] == "sample:iris" and train.spec["target"] == "species"
    link = next(e for e in at.get("page_link"))
    assert train.id in link.proto.label and link.proto.page == "train"
    assert link.proto.query_string == f"run={train.id}"
    assert launcher.wait(store, train.id, timeout_s=60).status is RunStatus.SUCCEEDED
