"""Trial and stage statuses are enums that read and write as the strings on disk (no TF)."""

from __future__ import annotations

import json

from core.pipelines.state import STAGE_STATUSES, StageStatus, read_state, write_json
from core.tuning import trials as tr
from core.tuning.trials import TrialStatus


def test_trial_status_is_the_string_on_disk(tmp_path):
    assert tr.STATUSES == ("RUNNING", "COMPLETED", "FAILED", "INVALID", "STOPPED")
    tr.write_trial(tmp_path, {"trial_id": "1", "status": TrialStatus.COMPLETED, "score": 0.5})
    (record,) = tr.read_trials(tmp_path)
    assert record["status"] == "COMPLETED" == TrialStatus.COMPLETED
    assert type(json.loads((tmp_path / "trials" / "1.json").read_text())["status"]) is str
    assert f"{TrialStatus.FAILED}" == "FAILED"


def test_best_trial_counts_completed_trials_only(tmp_path):
    records = [
        {"trial_id": "a", "status": "COMPLETED", "score": 0.9},
        {"trial_id": "b", "status": "FAILED", "score": 0.99},
        {"trial_id": "c", "status": TrialStatus.COMPLETED, "score": 0.7},
    ]
    assert tr.best_trial(records, "max")["trial_id"] == "a"
    assert tr.best_trial(records, "min")["trial_id"] == "c"


def test_stage_status_round_trips_through_state_json(tmp_path):
    assert STAGE_STATUSES == ("pending", "running", "succeeded", "stopped", "failed", "skipped")
    write_json(tmp_path / "state.json", {"stages": {"train": {"status": StageStatus.SKIPPED}}})
    status = read_state(tmp_path)["stages"]["train"]["status"]
    assert status == "skipped" and StageStatus(status).is_done
    assert StageStatus.SUCCEEDED.is_done
    assert not any(StageStatus(s).is_done for s in ("pending", "running", "stopped", "failed"))
    assert read_state(tmp_path / "nowhere") is None


def test_one_worker_command_for_local_and_remote_tuning_workers(tmp_path):
    import sys
    from pathlib import Path

    from core.tuning.distributed import worker_command, worker_env

    cmd = worker_command(tmp_path, "host:1234", "tuner0", "--spec", "s.json")
    assert cmd == [
        sys.executable,
        "-m",
        "core.tuning.remote",
        "--run-dir",
        str(tmp_path),
        "--chief",
        "host:1234",
        "--tuner-id",
        "tuner0",
        "--spec",
        "s.json",
    ]
    env = worker_env({"PYTHONPATH": "/elsewhere"})
    repo = str(Path(__file__).resolve().parents[1])
    assert env["PYTHONPATH"].split(":") == [repo, "/elsewhere"]
