"""The job system end to end with real worker processes and fake handlers (no TensorFlow)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from core.runs import launcher
from core.runs.recovery import reconcile
from core.runs.reporter import NullReporter
from core.runs.status import RunStatus
from tests.conftest import REPO, pid_alive, wait_until


def test_job_succeeds_with_progress_metrics_and_artifacts(ws, store):
    run = launcher.submit(ws, store, {"steps": 3}, kind="succeed")
    assert run.pid is not None
    done = launcher.wait(store, run.id, poll_s=0.05, timeout_s=30)
    assert done.status is RunStatus.SUCCEEDED
    resources = done.result.pop("resources")
    assert done.result == {"metrics": {"val_loss": 0.5}}
    # The worker records what the job cost it (kernel accounting), shown by `runs show`.
    assert resources["cpu_s"] > 0 and resources["peak_rss_mib"] > 10
    assert (done.phase, done.done, done.total) == ("training", 3, 3)
    points = store.get_metrics(run.id).points
    assert [(p.step, p.name) for p in points if p.name == "loss"] == [
        (1, "loss"),
        (2, "loss"),
        (3, "loss"),
    ]
    artifacts = store.get_artifacts(run.id)
    assert set(artifacts) == {"log", "result.txt"}
    assert "running succeed run" in open(artifacts["log"].path).read()


def test_failing_job_is_failed_with_its_error_and_log(ws, store):
    run = launcher.submit(ws, store, {}, kind="fail")
    done = launcher.wait(store, run.id, poll_s=0.05, timeout_s=30)
    assert done.status is RunStatus.FAILED
    assert done.error == "ValueError: the fake job failed on purpose"
    log = open(store.get_artifacts(run.id)["log"].path).read()
    assert "Traceback" in log and "failed on purpose" in log


def test_bad_input_in_a_job_fails_with_the_plain_message(ws, store):
    done = launcher.wait(store, launcher.submit(ws, store, {}, kind="bad_input").id, timeout_s=30)
    assert done.status is RunStatus.FAILED
    assert done.error == "column 'x' does not exist"


def test_unknown_kind_fails_cleanly(ws, store):
    done = launcher.wait(
        store, launcher.submit(ws, store, {}, kind="no_such_kind").id, timeout_s=30
    )
    assert done.status is RunStatus.FAILED
    assert "no handler for run kind 'no_such_kind'" in done.error


def test_cooperative_cancel_stops_at_the_next_boundary(ws, store):
    run = launcher.submit(ws, store, {}, kind="slow")
    wait_until(lambda: store.get_run(run.id).done >= 2)
    store.request_cancel(run.id)
    done = launcher.wait(store, run.id, poll_s=0.05, timeout_s=30)
    assert done.status is RunStatus.CANCELED
    assert done.error == "canceled by the user"
    wait_until(lambda: not pid_alive(run.pid), timeout=10)


def test_stubborn_job_is_forced_to_stop_after_the_grace_period(ws, store, monkeypatch):
    monkeypatch.setenv("TFSTUDIO_CANCEL_GRACE_S", "1")
    run = launcher.submit(ws, store, {}, kind="stubborn")
    wait_until(lambda: store.get_run(run.id).status is RunStatus.RUNNING)
    store.request_cancel(run.id)
    done = launcher.wait(store, run.id, poll_s=0.05, timeout_s=30)
    assert done.status is RunStatus.CANCELED
    assert "forced stop" in done.error
    wait_until(lambda: not pid_alive(run.pid), timeout=10)


def test_heartbeat_advances_while_running(ws, store):
    run = launcher.submit(ws, store, {}, kind="stubborn")
    first = wait_until(lambda: store.get_run(run.id).heartbeat_at)
    wait_until(lambda: store.get_run(run.id).heartbeat_at > first + 0.3, timeout=10)
    os.killpg(run.pid, signal.SIGKILL)


def test_killed_worker_becomes_lost_with_its_log_kept(ws, store):
    run = launcher.submit(ws, store, {}, kind="stubborn")
    wait_until(lambda: store.get_run(run.id).status is RunStatus.RUNNING)
    os.kill(run.pid, signal.SIGKILL)
    wait_until(lambda: not pid_alive(run.pid), timeout=10)
    changed = reconcile(store)
    assert [r.id for r in changed] == [run.id]
    lost = store.get_run(run.id)
    assert lost.status is RunStatus.LOST
    assert f"pid {run.pid}" in lost.error
    assert "running stubborn run" in open(store.get_artifacts(run.id)["log"].path).read()


def test_reconcile_leaves_live_runs_alone(ws, store):
    run = launcher.submit(ws, store, {}, kind="slow")
    wait_until(lambda: store.get_run(run.id).status is RunStatus.RUNNING)
    assert reconcile(store) == []
    store.request_cancel(run.id)
    launcher.wait(store, run.id, timeout_s=30)


def test_reconcile_marks_a_pending_run_without_worker_lost_after_grace(store):
    store.create_run("succeed", {})
    assert reconcile(store) == []
    changed = reconcile(store, now=time.time() + 3600)
    assert [r.status for r in changed] == [RunStatus.LOST]


def test_job_outlives_the_process_that_launched_it(ws, store):
    """Like stopping the Streamlit server mid-run: the detached worker finishes on its own."""
    code = (
        "from core.runs import launcher; from core.runs.store import RunStore;"
        "from core.workspace import Workspace; ws = Workspace.resolve();"
        "spec = {'steps': 5, 'sleep': 0.3};"
        "run = launcher.submit(ws, RunStore(ws.db_path), spec, kind='succeed');"
        "print(run.id)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=True,
        timeout=60,
    )
    run_id = out.stdout.strip()
    assert store.get_run(run_id).status.is_active  # the launcher is gone, the job is not
    done = launcher.wait(store, run_id, poll_s=0.1, timeout_s=30)
    assert done.status is RunStatus.SUCCEEDED


def test_worker_does_not_inherit_kerastuner_variables(ws, monkeypatch):
    monkeypatch.setenv("KERASTUNER_ORACLE_IP", "127.0.0.1")
    env = launcher.worker_env(ws)
    assert "KERASTUNER_ORACLE_IP" not in env
    assert env["TFSTUDIO_HOME"] == str(ws.root)


def test_engine_functions_run_without_a_store():
    """A notebook calls handlers directly with a NullReporter."""
    from tests.fake_jobs import succeed

    reporter = NullReporter()
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        result = succeed({"steps": 2, "sleep": 0}, reporter, Path(tmp))
    assert result == {"metrics": {"val_loss": 0.75}}
    assert [step for step, _ in reporter.history] == [1, 2]
    assert "result.txt" in reporter.artifacts


def test_out_of_memory_failures_say_what_to_change():
    from core.runs.worker import describe_failure

    class ResourceExhaustedError(Exception):
        pass

    assert describe_failure(ResourceExhaustedError("OOM when allocating tensor")).startswith(
        "out of memory: try a smaller batch size"
    )
    assert describe_failure(MemoryError()).startswith("out of memory")
    assert describe_failure(ValueError("bad\nsecond line")) == "ValueError: bad"


def test_a_killed_resumable_run_resumes_under_the_same_id_from_its_saved_state(ws, store):
    run = launcher.submit(ws, store, {"steps": 40, "sleep": 0.05}, kind="counter")
    state = ws.run_dir(run.id) / "count.txt"
    wait_until(lambda: state.exists() and int(state.read_text()) >= 5)
    os.kill(run.pid, signal.SIGKILL)
    wait_until(lambda: not pid_alive(run.pid), timeout=10)
    reached = int(state.read_text())

    resumed = launcher.resume(ws, store, run.id)  # reconciles to LOST first, then reopens
    assert resumed.id == run.id and resumed.pid != run.pid
    done = launcher.wait(store, run.id, timeout_s=60)
    assert done.status is RunStatus.SUCCEEDED, done.error
    assert done.result["started_from"] == reached
    assert done.error is None and done.finished_at is not None
    messages = [e.message for e in store.get_events(run.id)]
    assert any(m.startswith("resumed") for m in messages)


def test_resume_refuses_running_finished_and_non_resumable_runs(ws, store):
    from core.errors import BadInput

    ok = launcher.submit(ws, store, {"steps": 1, "sleep": 0}, kind="counter")
    launcher.wait(store, ok.id, timeout_s=30)
    with pytest.raises(BadInput, match="already succeeded"):
        launcher.resume(ws, store, ok.id)
    failed = launcher.submit(ws, store, {}, kind="fail")
    launcher.wait(store, failed.id, timeout_s=30)
    with pytest.raises(BadInput, match="starts over rather than resumes"):
        launcher.resume(ws, store, failed.id)
    live = launcher.submit(ws, store, {"steps": 1000, "sleep": 0.1}, kind="counter")
    wait_until(lambda: store.get_run(live.id).status is RunStatus.RUNNING)
    with pytest.raises(BadInput, match="still RUNNING"):
        launcher.resume(ws, store, live.id)
    store.request_cancel(live.id)
    launcher.wait(store, live.id, timeout_s=30)
    assert store.get_run(live.id).status is RunStatus.CANCELED
    launcher.resume(ws, store, live.id)  # a canceled run can be resumed
    store.request_cancel(live.id)
    assert launcher.wait(store, live.id, timeout_s=30).status is RunStatus.CANCELED


def test_a_handler_is_given_its_workspace_and_run_not_left_to_the_environment(ws, store):
    """The worker passes context= to handlers that take it; three-argument handlers (plug-ins,
    the fakes above) keep working unchanged."""
    from core.runs.context import JobContext, call_handler

    run = launcher.submit(ws, store, {}, kind="where")
    done = launcher.wait(store, run.id, poll_s=0.05, timeout_s=30)
    assert done.status is RunStatus.SUCCEEDED, done.error
    assert done.result["workspace"] == str(ws.root) and done.result["run_id"] == run.id
    assert done.result["same_dir"] is True
    seen = []
    context = JobContext(ws, "r1", ws.run_dir("r1"))
    assert call_handler(lambda s, r, d: seen.append(d) or "old", {}, None, context) == "old"
    assert seen == [ws.run_dir("r1")]
