"""One real tiny training through a warm worker (TensorFlow imported before the submit): the
job skips the import, reports its phases, and its first epoch point reaches the store while the
run is still training."""

from __future__ import annotations

import contextlib
import time

import psutil
import pytest

from core.runs import launcher, warm
from core.runs.status import RunStatus
from core.specs import TrainSpec
from tests.conftest import pid_alive, wait_until

pytestmark = pytest.mark.slow


@pytest.fixture
def real_pool(ws, monkeypatch):
    monkeypatch.setenv("TFSTUDIO_WARM_WORKERS", "1")
    monkeypatch.setenv("TFSTUDIO_WARM_IDLE_S", "120")
    yield
    warm.set_pool_size(ws.root, 0)
    warm.shutdown(ws.root)
    for proc in psutil.process_iter(["pid", "cmdline"]):
        if str(ws.root) in " ".join(proc.info["cmdline"] or []):
            with contextlib.suppress(psutil.Error):
                proc.kill()


def test_real_training_in_a_warm_worker_streams_its_epochs(ws, store, real_pool, monkeypatch):
    assert warm.ensure(ws.root, launcher.worker_env(ws)) == 1
    ready = warm.pool_dir(ws.root)
    wait_until(lambda: list(ready.glob("*.ready")), timeout=300, interval=0.5)
    (info,) = [warm._read_json(p) for p in ready.glob("*.ready")]
    monkeypatch.setenv("TFSTUDIO_WARM_WORKERS", "0")  # no replacement after this job
    # every one of the 40 epochs: this test is about streaming them, not about stopping early
    spec = TrainSpec(data="sample:iris", target="species", epochs=40, early_stopping=0)
    run = launcher.submit(ws, store, spec)
    assert run.pid == info["pid"]

    phases, first_point = [], None
    deadline = time.time() + 300
    while time.time() < deadline:
        current = store.get_run(run.id)
        if not phases or phases[-1] != current.phase:
            phases.append(current.phase)
        if first_point is None and store.get_metrics(run.id).points:
            first_point = current  # the run as it was when its first point was readable
        if current.status.is_finalized:
            break
        time.sleep(0.05)
    done = store.get_run(run.id)
    assert done.status is RunStatus.SUCCEEDED, done.error
    # Its first epoch was on the page while the other 39 were still to come.
    assert first_point is not None and first_point.phase == "training"
    assert first_point.done < 40 and first_point.status is RunStatus.RUNNING
    assert "starting TensorFlow" not in phases  # imported before the click
    # the page, polling, sees the long phases; the log stamps every phase, in order (a warm
    # worker builds an iris MLP in a few milliseconds, faster than any poll)
    assert {"training", "evaluating"} <= set(phases)
    stamped = open(store.get_artifacts(run.id)["log"].path).read()
    at = [stamped.find(f"] {p}: ") for p in ("reading data", "building model", "training")]
    assert -1 not in at and at == sorted(at), stamped[-2000:]
    steps = [p.step for p in store.get_metrics(run.id).points if p.name == "loss"]
    assert steps == list(range(1, 41))
    assert done.result["test_metrics"]["accuracy"] >= 0.8
    assert done.result["resources"]["preload_cpu_s"] > 1  # the TensorFlow import, not billed
    log = open(store.get_artifacts(run.id)["log"].path).read()
    assert "TensorFlow already imported (warm worker)" in log
    wait_until(lambda: not pid_alive(info["pid"]), timeout=60)  # one job per process life
