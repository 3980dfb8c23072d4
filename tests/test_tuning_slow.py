"""KerasTuner searches end to end: failing trials, kill -9 and resume, distributed, CLI, promote.

Tiny on purpose: iris, 2-3 epochs, 3-5 trials.
"""

from __future__ import annotations

import json
import os
import signal

import pytest

from core.errors import BadInput
from core.runs import launcher
from core.runs.reporter import NullReporter
from core.runs.status import RunStatus
from core.specs import TrainSpec, TuneSpec
from core.tuning.trials import read_search, read_trials
from tests.conftest import pid_alive, tfstudio, wait_until

pytestmark = pytest.mark.slow

BASE = TrainSpec(data="sample:iris", target="species", epochs=2, batch_size=16).to_dict()


def _dropouts(*choices):
    return ({"name": "dropout", "kind": "choice", "choices": list(choices)},)


def test_failing_trials_are_recorded_and_the_search_stops_after_the_limit(tmp_path):
    from core.tuning.job import run_tune_job

    # Dropout(rate > 1) raises when the model is built: those trials fail, the search goes on.
    spec = TuneSpec(
        base=BASE,
        tuner="grid",
        space=_dropouts(0.0, 1.5, 0.1),
        objective="val_accuracy",
        max_trials=3,
        max_failed_trials=1,
    )
    result = run_tune_job(spec, NullReporter(), tmp_path / "a")
    by_id = {t["trial_id"]: t for t in result["trials"]}
    assert [by_id[i]["status"] for i in "012"] == ["COMPLETED", "FAILED", "COMPLETED"]
    assert by_id["1"]["hyperparameters"] == {"dropout": 1.5}
    assert "rate" in by_id["1"]["error"] and by_id["1"]["score"] is None
    assert result["failed"] == 1 and result["completed"] == 2
    assert result["best"]["trial_id"] in ("0", "2")
    assert result["best"]["score"] == max(by_id["0"]["score"], by_id["2"]["score"])
    curve = read_trials(tmp_path / "a")[0]["history"]
    assert len(curve["val_accuracy"]) == len(curve["loss"]) == 2

    # More failures than allowed: the search stops, says why, and keeps what it found.
    spec = TuneSpec(
        base=BASE,
        tuner="grid",
        space=_dropouts(0.0, 1.5, 2.0, 0.1),
        objective="val_accuracy",
        max_trials=4,
        max_failed_trials=1,
    )
    with pytest.raises(BadInput) as err:
        run_tune_job(spec, NullReporter(), tmp_path / "b")
    message = str(err.value)
    assert "2 of 3 trials failed, more than the limit of 1 failed trials" in message
    assert "the 1 completed trial(s) are kept (best: trial 0" in message
    assert "rate" in message
    records = read_trials(tmp_path / "b")
    assert [r["status"] for r in records] == ["COMPLETED", "FAILED", "FAILED"]
    assert records[0]["score"] is not None and records[0]["checkpoint_kept"]
    assert read_search(tmp_path / "b")["trials_failed"] == 2

    # An objective the model never logs: refused before any trial, naming what it does log.
    with pytest.raises(BadInput, match="it logs: loss, accuracy, val_loss, val_accuracy"):
        run_tune_job(TuneSpec(base=BASE, objective="val_auc"), NullReporter(), tmp_path / "e")
    assert read_trials(tmp_path / "e") == []


class CancelInSecondTrial(NullReporter):
    """Asks to stop once the second trial has trained one epoch."""

    def __init__(self, run_dir):
        super().__init__()
        self.run_dir = run_dir

    def should_stop(self) -> bool:
        return any(
            r["number"] == 1 and r["status"] == "RUNNING" and r["epochs"] >= 1
            for r in read_trials(self.run_dir)
        )


def test_cancel_between_epochs_then_rerun_continues_and_time_budget_stops(tmp_path):
    from core.errors import JobCanceled
    from core.tuning.job import run_tune_job

    spec = TuneSpec(
        base={**BASE, "epochs": 3},
        tuner="random",
        objective="val_loss",
        max_trials=3,
        trial_early_stopping=0,
    )
    run_dir = tmp_path / "c"
    with pytest.raises(JobCanceled, match="resume continues"):
        run_tune_job(spec, CancelInSecondTrial(run_dir), run_dir)
    records = read_trials(run_dir)
    assert [r["status"] for r in records] == ["COMPLETED", "STOPPED"]
    assert records[1]["epochs"] == 1 and "runs again on resume" in records[1]["error"]
    first = records[0]
    result = run_tune_job(spec, NullReporter(), run_dir)  # what `launcher.resume` runs
    records = read_trials(run_dir)
    assert [r["status"] for r in records] == ["COMPLETED"] * 3
    assert records[0]["score"] == first["score"] and records[0]["started_at"] == first["started_at"]
    assert [r.get("restarts", 0) for r in records] == [0, 1, 0]
    assert records[1]["epochs"] == 3 and len(records[1]["history"]["loss"]) == 3
    assert result["best"]["score"] == min(r["score"] for r in records)

    # A time budget: no trial starts once it is spent (the first one always runs here).
    budget = TuneSpec(**{**spec.to_dict(), "time_budget_s": 0.5, "max_trials": 3})
    result = run_tune_job(budget, NullReporter(), tmp_path / "d")
    assert result["completed"] == 1 and result["stopped_by"] == "time budget"


@pytest.mark.parametrize("tuner", ["grid", "hyperband"])
def test_a_search_killed_mid_trial_resumes_with_its_finished_trials(ws, store, tuner):
    base = {**BASE, "epochs": 3, "batch_size": 4}
    space = (
        {"name": "hidden_units", "kind": "choice", "choices": ["8", "16", "32-16"]},
        {"name": "dropout", "kind": "choice", "choices": [0.0, 0.2]},
    )
    spec = TuneSpec(
        base=base, tuner=tuner, space=space, objective="val_loss", max_trials=4, keep_best=1
    )
    run = launcher.submit(ws, store, spec)
    run_dir = ws.run_dir(run.id)

    def mid_search():
        records = read_trials(run_dir)
        done = [r for r in records if r["status"] == "COMPLETED"]
        running = [r for r in records if r["status"] == "RUNNING" and r["number"] >= 1]
        return done and running and (done, running)

    done, running = wait_until(mid_search, timeout=240, interval=0.05)
    pid = store.get_run(run.id).pid
    os.kill(pid, signal.SIGKILL)
    wait_until(lambda: not pid_alive(pid), timeout=20)
    before = {r["trial_id"]: r for r in read_trials(run_dir) if r["status"] == "COMPLETED"}
    assert before

    resumed = launcher.resume(ws, store, run.id)
    assert resumed.id == run.id
    final = launcher.wait(store, run.id, timeout_s=300)
    assert final.status is RunStatus.SUCCEEDED, final.error
    records = read_trials(run_dir)
    after = {r["trial_id"]: r for r in records}
    # Finished trials are kept as they were: same ids, scores and hyperparameters.
    for trial_id, record in before.items():
        assert after[trial_id]["status"] == "COMPLETED"
        assert after[trial_id]["score"] == record["score"]
        assert after[trial_id]["hyperparameters"] == record["hyperparameters"]
        assert after[trial_id].get("restarts", 0) == 0
    assert len(records) == spec.max_trials == len(final.result["trials"])
    assert all(r["status"] == "COMPLETED" for r in records)
    assert sorted(r["number"] for r in records) == list(range(spec.max_trials))
    # At most the trial in flight was run again.
    assert sum(r.get("restarts", 0) for r in records) <= 1
    assert [r["trial_id"] for r in records if r.get("restarts")] in ([], [running[0]["trial_id"]])
    # The oracle state survived: the grid did not start over, Hyperband kept its brackets.
    values = [json.dumps(r["hyperparameters"], sort_keys=True) for r in records]
    if tuner == "grid":
        assert len(set(values)) == len(values)
    else:
        continued = [r for r in records if (r.get("hyperband") or {}).get("continues")]
        assert all(r["hyperband"]["continues"] in after for r in continued)
    # Retention: only the best trial keeps its checkpoint, and the disk use is reported.
    kept = [r["trial_id"] for r in records if r["checkpoint_kept"]]
    assert kept == [final.result["best"]["trial_id"]]
    assert final.result["disk_bytes"] == read_search(run_dir)["disk_bytes"] > 0
    assert final.result["best"]["score"] == min(r["score"] for r in records)
    # The run's metrics carry a best-so-far curve (step = trial number).
    points = [p for p in store.get_metrics(run.id).points if p.name == "best_val_loss"]
    assert len(points) == spec.max_trials
    assert points[-1].value == pytest.approx(final.result["best"]["score"])


def test_distributed_search_with_two_workers_then_promote_from_the_cli(ws, store):
    r = tfstudio(
        "tune",
        "--data", "sample:iris",
        "--target", "species",
        "--model", "mlp",
        "--tuner", "random",
        "--max-trials", "4",
        "--epochs", "2",
        "--workers", "2",
        "--objective", "val_accuracy",
        "--home", str(ws.root),
        "--json",
        timeout=400,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr[-3000:]
    out = json.loads(r.stdout)
    assert out["status"] == "SUCCEEDED" and out["run_id"]
    assert len(out["trials"]) == 4 and all(t["status"] == "COMPLETED" for t in out["trials"])
    workers = {t["worker"] for t in out["trials"]}
    assert workers <= {"tuner0", "tuner1"} and len(workers) == 2, workers
    best = out["best"]
    assert best["score"] == max(t["score"] for t in out["trials"])
    assert set(best["hyperparameters"]) == {"hidden_units", "dropout", "learning_rate"}
    # No worker process is left behind, and no KERASTUNER_* variable leaked into the store.
    run_dir = ws.run_dir(out["run_id"])
    assert (run_dir / "search" / "tuner0.log").exists()

    r = tfstudio("promote", out["run_id"], "--home", str(ws.root), "--json", timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    promoted = json.loads(r.stdout)
    assert promoted["status"] == "SUCCEEDED" and promoted["kind"] == "train"
    assert promoted["spec"]["fit_on_validation"] is True
    assert promoted["promoted_from"]["trial_id"] == best["trial_id"]
    hps = promoted["spec"]["hyperparameters"]
    assert hps["learning_rate"] == pytest.approx(best["hyperparameters"]["learning_rate"])
    assert "-".join(map(str, hps["hidden_units"])) == best["hyperparameters"]["hidden_units"]
    assert "accuracy" in promoted["test_metrics"]
