"""Warm workers (core.runs.warm) with fake handlers: a pre-started process takes the next job,
one job per process life, and the job system behaves exactly as with a cold worker."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time

import psutil
import pytest

from core.runs import launcher, warm
from core.runs.recovery import reconcile
from core.runs.status import RunStatus
from tests.conftest import pid_alive, wait_until


@pytest.fixture
def pool(ws, monkeypatch):
    """Warm workers that preload only numpy (the fake jobs need no TensorFlow)."""
    monkeypatch.setenv("TFSTUDIO_WARM_PRELOAD", "numpy")
    monkeypatch.setenv("TFSTUDIO_WARM_KINDS", "succeed,slow,stubborn,fail")
    monkeypatch.setenv("TFSTUDIO_WARM_WORKERS", "1")
    monkeypatch.setenv("TFSTUDIO_WARM_IDLE_S", "60")  # a leftover retires by itself soon
    yield
    # A finishing job's worker may start a replacement just after the test: stop every
    # process of this test's workspace (its unique folder is on their command line).
    time.sleep(0.5)
    warm.shutdown(ws.root)
    for proc in psutil.process_iter(["pid", "cmdline"]):
        if str(ws.root) in " ".join(proc.info["cmdline"] or []):
            with contextlib.suppress(psutil.Error):
                proc.kill()


def ready_pids(ws) -> list[int]:
    folder = warm.pool_dir(ws.root)
    return [warm._read_json(p)["pid"] for p in folder.glob("*.ready")]


def start_ready(ws, count: int = 1) -> list[int]:
    os.environ["TFSTUDIO_WARM_WORKERS"] = str(count)
    assert warm.ensure(ws.root, launcher.worker_env(ws)) == count
    return wait_until(lambda: len(ready_pids(ws)) == count and ready_pids(ws), timeout=60)


def test_job_runs_in_the_warm_worker_which_then_exits_and_is_replaced(ws, store, pool):
    (pid,) = start_ready(ws)
    run = launcher.submit(ws, store, {"steps": 3}, kind="succeed")
    assert run.pid == pid  # no new process: the warm one took it
    done = launcher.wait(store, run.id, poll_s=0.05, timeout_s=30)
    assert done.status is RunStatus.SUCCEEDED
    assert [p.step for p in store.get_metrics(run.id).points if p.name == "loss"] == [1, 2, 3]
    log = open(store.get_artifacts(run.id)["log"].path).read()
    assert f"warm worker {pid}" in log and "running succeed run" in log
    assert "s since submit" in log  # phase time stamps in the log
    assert done.result["resources"]["preload_cpu_s"] > 0  # the import is not billed to the job
    wait_until(lambda: not pid_alive(pid), timeout=30)  # one job per process life
    # The finished job's worker started the next warm worker (nothing else was running).
    replacement = wait_until(lambda: ready_pids(ws), timeout=60)
    assert replacement and pid not in replacement
    again = launcher.submit(ws, store, {"steps": 1}, kind="succeed")
    assert again.pid == replacement[0]
    assert launcher.wait(store, again.id, timeout_s=30).status is RunStatus.SUCCEEDED


def test_two_claims_get_one_worker(ws, store, pool):
    start_ready(ws)
    env = launcher.worker_env(ws)
    first = store.create_run("succeed", {})
    second = store.create_run("succeed", {})
    assert warm.claim(ws.root, first.id, env) is not None
    assert warm.claim(ws.root, second.id, env) is None
    store.fail_run(second.id, "not used")
    wait_until(lambda: store.get_run(first.id).status is RunStatus.SUCCEEDED, timeout=30)


def test_dead_warm_worker_is_skipped_and_replaced(ws, store, pool):
    (pid,) = start_ready(ws)
    os.kill(pid, signal.SIGKILL)
    wait_until(lambda: not pid_alive(pid))
    run = launcher.submit(ws, store, {"steps": 1}, kind="succeed")
    assert run.pid != pid  # a cold worker instead
    assert launcher.wait(store, run.id, timeout_s=30).status is RunStatus.SUCCEEDED
    assert warm.status(ws.root)["ready"] + warm.status(ws.root)["starting"] >= 1
    assert pid not in ready_pids(ws)


def test_warm_worker_killed_holding_a_run_leaves_it_lost(ws, store, pool):
    (pid,) = start_ready(ws)
    run = launcher.submit(ws, store, {}, kind="slow")
    wait_until(lambda: store.get_run(run.id).status is RunStatus.RUNNING)
    os.kill(pid, signal.SIGKILL)
    wait_until(lambda: not pid_alive(pid))
    reconcile(store)
    lost = store.get_run(run.id)
    assert lost.status is RunStatus.LOST and str(pid) in lost.error


def test_forced_cancel_in_a_warm_worker_does_not_touch_the_next_job(ws, store, pool, monkeypatch):
    monkeypatch.setenv("TFSTUDIO_CANCEL_GRACE_S", "1")
    first_pid, second_pid = start_ready(ws, 2)
    stubborn = launcher.submit(ws, store, {}, kind="stubborn")
    nxt = launcher.submit(ws, store, {"steps": 20, "sleep": 0.2}, kind="succeed")
    assert {stubborn.pid, nxt.pid} == {first_pid, second_pid}
    wait_until(lambda: store.get_run(stubborn.id).status is RunStatus.RUNNING)
    store.request_cancel(stubborn.id)
    canceled = launcher.wait(store, stubborn.id, poll_s=0.1, timeout_s=30)
    assert canceled.status is RunStatus.CANCELED and "forced stop" in canceled.error
    wait_until(lambda: not pid_alive(stubborn.pid), timeout=15)
    assert store.get_run(nxt.id).status is RunStatus.RUNNING
    assert launcher.wait(store, nxt.id, timeout_s=60).status is RunStatus.SUCCEEDED


def test_cooperative_cancel_in_a_warm_worker(ws, store, pool):
    (pid,) = start_ready(ws)
    run = launcher.submit(ws, store, {}, kind="slow")
    assert run.pid == pid
    wait_until(lambda: store.get_run(run.id).status is RunStatus.RUNNING)
    store.request_cancel(run.id)
    done = launcher.wait(store, run.id, poll_s=0.1, timeout_s=30)
    assert done.status is RunStatus.CANCELED and done.error == "canceled by the user"


def test_the_job_sees_the_submitters_environment(ws, store, pool, monkeypatch):
    # The warm worker starts without the fake handler table; the submitter's arrives with the
    # run, so the fake kind resolves exactly as in a cold worker.
    env = launcher.worker_env(ws)
    env.pop("TFSTUDIO_HANDLERS")
    warm.spawn(ws.root, env)
    (pid,) = wait_until(lambda: ready_pids(ws), timeout=60)
    run = launcher.submit(ws, store, {"steps": 1}, kind="succeed")
    assert run.pid == pid
    assert launcher.wait(store, run.id, timeout_s=30).status is RunStatus.SUCCEEDED


def test_a_worker_started_under_other_import_time_settings_is_not_used(ws, store, pool):
    env = {**launcher.worker_env(ws), "TF_CPP_MIN_LOG_LEVEL": "0"}
    warm.spawn(ws.root, env)
    (pid,) = wait_until(lambda: ready_pids(ws), timeout=60)
    run = launcher.submit(ws, store, {"steps": 1}, kind="succeed")
    assert run.pid != pid
    assert launcher.wait(store, run.id, timeout_s=30).status is RunStatus.SUCCEEDED
    # The finished job's worker tops the pool up for its own settings and retires the odd one.
    wait_until(lambda: not pid_alive(pid), timeout=30)
    fresh = wait_until(lambda: list(warm.pool_dir(ws.root).glob("*.ready")), timeout=60)
    mine = warm.fingerprint(launcher.worker_env(ws))
    assert [warm._read_json(p)["fingerprint"] for p in fresh] == [mine]


def test_no_warm_worker_starts_while_a_run_is_active(ws, store, pool):
    run = launcher.submit(ws, store, {}, kind="slow")
    assert warm.ensure(ws.root, launcher.worker_env(ws), store) == 0
    store.request_cancel(run.id)
    launcher.wait(store, run.id, timeout_s=30)


def test_idle_warm_worker_retires(ws, store, pool, monkeypatch):
    monkeypatch.setenv("TFSTUDIO_WARM_IDLE_S", "0.5")
    (pid,) = start_ready(ws)
    wait_until(lambda: not pid_alive(pid), timeout=30)
    assert warm.status(ws.root) == {"starting": 0, "ready": 0}
    assert not list(warm.pool_dir(ws.root).glob(f"*{'.log'}"))


def test_off_by_default(ws, store):
    assert warm.wanted() == 0
    assert warm.ensure(ws.root, launcher.worker_env(ws)) == 0
    run = launcher.submit(ws, store, {"steps": 1}, kind="succeed")
    assert launcher.wait(store, run.id, timeout_s=30).status is RunStatus.SUCCEEDED
    assert not warm.pool_dir(ws.root).exists() or not list(warm.pool_dir(ws.root).glob("*.ready"))


def test_worker_env_keeps_a_bytecode_cache_only_where_python_would_recompile(ws, monkeypatch):
    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")
    monkeypatch.delenv("PYTHONPYCACHEPREFIX", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", "/somewhere/cache")
    monkeypatch.setattr(launcher, "_tensorflow_has_bytecode", lambda: False)
    env = launcher.worker_env(ws)
    assert env["PYTHONPYCACHEPREFIX"] == "/somewhere/cache/tfstudio/pycache"
    assert env["PYTHONDONTWRITEBYTECODE"] == ""  # empty: Python writes the cache again
    monkeypatch.setattr(launcher, "_tensorflow_has_bytecode", lambda: True)  # installed compiled
    assert "PYTHONPYCACHEPREFIX" not in launcher.worker_env(ws)
    monkeypatch.delenv("PYTHONDONTWRITEBYTECODE")  # Python caches beside the sources itself
    monkeypatch.setattr(launcher, "_tensorflow_has_bytecode", lambda: False)
    assert "PYTHONPYCACHEPREFIX" not in launcher.worker_env(ws)


def test_worker_env_is_the_same_however_often_applied(ws, monkeypatch):
    once = launcher.worker_env(ws)
    monkeypatch.setattr(os, "environ", dict(once))
    assert launcher.worker_env(ws) == once
    assert warm.fingerprint(launcher.worker_env(ws)) == warm.fingerprint(once)


def test_cli_warm_keeps_the_workspace_pool(ws, store, pool, monkeypatch):
    from tests.conftest import tfstudio

    monkeypatch.delenv("TFSTUDIO_WARM_WORKERS")  # the workspace setting decides
    out = tfstudio("warm", "--count", "1", "--json", "--home", str(ws.root))
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["count"] == 1
    (pid,) = wait_until(lambda: ready_pids(ws), timeout=60)
    run = launcher.submit(ws, store, {"steps": 1}, kind="succeed")
    assert run.pid == pid
    assert launcher.wait(store, run.id, timeout_s=30).status is RunStatus.SUCCEEDED
    # The job's worker tops the pool up from the workspace setting, with no variable set.
    assert wait_until(lambda: ready_pids(ws), timeout=60) != [pid]
    out = tfstudio("warm", "--stop", "--home", str(ws.root))
    assert out.returncode == 0 and "warm workers off" in out.stdout
    wait_until(lambda: warm.status(ws.root)["ready"] == 0)
    bad = tfstudio("warm", "--count", "9", "--home", str(ws.root))
    assert bad.returncode == 2 and bad.stderr.startswith("error: --count must be 0..4")
