"""kill -9 of searches in the phases the other tests do not reach: a Bayesian search in its
Gaussian-process phase (after the random warm-up), and a distributed search whose chief, then
whose worker, is killed. Each kill lands at a seeded-random point inside a trial of that phase.
Counted: finished trials lost (must be 0) and trials run again (at most the one in flight).
Tiny on purpose: iris, 2 epochs, 4-5 trials."""

from __future__ import annotations

import json
import os
import random
import signal
import time

import pytest

from core.runs import launcher
from core.runs.liveness import live_workers
from core.runs.recovery import reconcile
from core.runs.status import RunStatus
from core.specs import TrainSpec, TuneSpec
from core.tuning.trials import read_trials
from tests.conftest import pid_alive, wait_until
from tests.test_kill9_slow import RESULTS

pytestmark = pytest.mark.slow

BASE = TrainSpec(data="sample:iris", target="species", epochs=2, batch_size=4).to_dict()
RNG = random.Random(19)


def _completed(run_dir) -> dict[str, dict]:
    return {r["trial_id"]: r for r in read_trials(run_dir) if r["status"] == "COMPLETED"}


def _kill_inside_a_trial(store, run_dir, pid_of, min_done: int, started_after: float = 0.0):
    """Wait for a trial that starts once `min_done` trials have finished (and after
    `started_after`), sleep a random part of an epoch, kill -9 the process `pid_of()` names.
    Returns (finished trials before the kill, the trial in flight)."""

    def in_trial():
        records = read_trials(run_dir)
        done = [r for r in records if r["status"] == "COMPLETED"]
        running = [
            r
            for r in records
            if r["status"] == "RUNNING"
            and r["number"] >= min_done
            and r["started_at"] > started_after
        ]
        return len(done) >= min_done and running and running[0]

    wait_until(in_trial, timeout=300, interval=0.05)
    time.sleep(RNG.uniform(0.0, 0.8))
    before = _completed(run_dir)
    flight = [r for r in read_trials(run_dir) if r["status"] == "RUNNING"]
    assert flight, "the trial finished before the kill; nothing was in flight"
    pid = pid_of()
    os.kill(pid, signal.SIGKILL)
    wait_until(lambda: not pid_alive(pid), timeout=20)
    return before, flight[0]


def _count(before: dict, run_dir) -> tuple[int, int]:
    """(finished trials lost or changed, trials run again) after the search finished."""
    after = {r["trial_id"]: r for r in read_trials(run_dir)}
    lost = sum(
        1
        for tid, rec in before.items()
        if after.get(tid, {}).get("status") != "COMPLETED"
        or after[tid]["score"] != rec["score"]
        or after[tid]["hyperparameters"] != rec["hyperparameters"]
        or after[tid].get("restarts", 0) != rec.get("restarts", 0)
    )
    return lost, sum(r.get("restarts", 0) for r in after.values())


def _record(kind: str, **counts) -> None:
    with RESULTS.open("a") as f:
        f.write(json.dumps({"kind": kind, **counts}) + "\n")


def test_bayesian_search_killed_in_its_gaussian_process_phase_resumes(ws, store):
    # One hyperparameter: KerasTuner's warm-up is max(3 x dimensions, 3) = 3 random trials;
    # trials 4 and 5 come from the Gaussian process fitted on the finished ones.
    space = ({"name": "learning_rate", "kind": "float", "low": 1e-3, "high": 1e-1, "log": True},)
    spec = TuneSpec(
        base=BASE, tuner="bayesian", space=space, objective="val_loss", max_trials=5, keep_best=1
    )
    run = launcher.submit(ws, store, spec)
    run_dir = ws.run_dir(run.id)
    before, flight = _kill_inside_a_trial(
        store, run_dir, lambda: store.get_run(run.id).pid, min_done=3
    )
    assert len(before) >= 3 and flight["number"] >= 3  # killed after the random warm-up
    wait_until(lambda: store.get_run(run.id).status is RunStatus.LOST or reconcile(store), 30)
    assert store.get_run(run.id).status is RunStatus.LOST

    launcher.resume(ws, store, run.id)
    final = launcher.wait(store, run.id, timeout_s=300)
    assert final.status is RunStatus.SUCCEEDED, final.error
    records = read_trials(run_dir)
    assert [r["status"] for r in records] == ["COMPLETED"] * 5
    lost, repeated = _count(before, run_dir)
    assert lost == 0 and repeated <= 1
    assert [r["trial_id"] for r in records if r.get("restarts")] in ([], [flight["trial_id"]])
    # the resumed search is still Bayesian: it did not sample the warm-up again
    assert len({r["hyperparameters"]["learning_rate"] for r in records}) == 5
    assert final.result["best"]["score"] == min(r["score"] for r in records)
    _record("tune bayesian (GP phase)", killed_in=f"trial {flight['number']}", lost=lost,
            repeated=repeated)  # fmt: skip


def _tuner0_pid(store, run_id) -> int:
    """The local worker's pid (0 while there is not exactly one)."""
    run = store.get_run(run_id)
    found = [
        w["pid"] for w in live_workers(run.pid, run.pid_started_at, run.host)
        if "--tuner-id tuner0" in w["command"]
    ]  # fmt: skip
    return found[0] if len(found) == 1 else 0


def test_distributed_search_survives_its_chief_then_its_worker_killed(ws, store):
    spec = TuneSpec(
        base=BASE, tuner="random", objective="val_loss", max_trials=4, workers=1, keep_best=1
    )
    run = launcher.submit(ws, store, spec)
    run_dir = ws.run_dir(run.id)

    # 1. the chief (the run's worker, which holds the oracle) is killed mid-trial: its local
    # worker notices and exits, reconcile marks the run LOST, resume continues the search
    tuner0 = wait_until(lambda: _tuner0_pid(store, run.id), timeout=300)
    chief_pid = store.get_run(run.id).pid
    before1, flight1 = _kill_inside_a_trial(store, run_dir, lambda: chief_pid, min_done=1)
    wait_until(lambda: not pid_alive(tuner0), timeout=30)  # no orphan worker left training
    wait_until(lambda: store.get_run(run.id).status is RunStatus.LOST or reconcile(store), 30)
    assert "ended without reporting" in store.get_run(run.id).error
    resumed_at = time.time()
    launcher.resume(ws, store, run.id)

    # 2. the (new) worker is killed mid-trial: the chief lives on, requeues that trial and
    # starts the worker again; the run never stops
    wait_until(lambda: _tuner0_pid(store, run.id), timeout=300)
    before2, flight2 = _kill_inside_a_trial(
        store, run_dir, lambda: _tuner0_pid(store, run.id), min_done=len(before1) + 1,
        started_after=resumed_at,
    )  # fmt: skip
    assert reconcile(store) == [] and store.get_run(run.id).status is RunStatus.RUNNING
    final = launcher.wait(store, run.id, timeout_s=300)
    assert final.status is RunStatus.SUCCEEDED, final.error
    records = read_trials(run_dir)
    assert len(records) == 4 and all(r["status"] == "COMPLETED" for r in records)
    assert sorted(r["number"] for r in records) == [0, 1, 2, 3]
    lost1, _ = _count(before1, run_dir)
    lost2, repeated = _count(before2, run_dir)
    assert lost1 == lost2 == 0
    restarted = {r["trial_id"]: r["restarts"] for r in records if r.get("restarts")}
    assert set(restarted) <= {flight1["trial_id"], flight2["trial_id"]} and repeated <= 2
    assert all(n == 1 for n in restarted.values()) or flight1["trial_id"] == flight2["trial_id"]
    events = [e.message for e in store.get_events(run.id)]
    assert any("worker tuner0 exited with -9" in m for m in events), events[-5:]
    assert {r["worker"] for r in records} == {"tuner0"}
    _record("tune distributed (chief killed)", killed_in=f"trial {flight1['number']}",
            lost=lost1, repeated=int(flight1["trial_id"] in restarted))  # fmt: skip
    _record("tune distributed (worker killed)", killed_in=f"trial {flight2['number']}",
            lost=lost2, repeated=int(flight2["trial_id"] in restarted))  # fmt: skip
