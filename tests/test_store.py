from __future__ import annotations

import pytest

from core.errors import NotFound
from core.runs.status import InvalidTransition, RunStatus
from core.runs.store import RunStore


def test_new_run_is_pending_with_its_spec(store: RunStore):
    run = store.create_run("train", {"target": "species", "epochs": 3}, name="iris")
    assert run.status is RunStatus.PENDING
    assert store.get_run(run.id).spec == {"target": "species", "epochs": 3}
    assert run.started_at is None and run.finished_at is None


def test_status_transitions_follow_the_state_machine(store: RunStore):
    run = store.create_run("train", {})
    running = store.set_status(run.id, RunStatus.RUNNING)
    assert running.started_at is not None and running.heartbeat_at is not None
    done = store.finish_run(run.id, {"metrics": {"acc": 0.9}})
    assert done.status is RunStatus.SUCCEEDED and done.finished_at is not None
    assert done.result == {"metrics": {"acc": 0.9}}
    for status in RunStatus:
        with pytest.raises(InvalidTransition):
            store.set_status(run.id, status)


def test_pending_cannot_jump_to_succeeded(store: RunStore):
    run = store.create_run("train", {})
    with pytest.raises(InvalidTransition):
        store.set_status(run.id, RunStatus.SUCCEEDED)


def test_failed_run_keeps_its_error(store: RunStore):
    run = store.create_run("train", {})
    store.set_status(run.id, RunStatus.RUNNING)
    failed = store.fail_run(run.id, "boom")
    assert failed.status is RunStatus.FAILED and failed.error == "boom"


def test_metrics_paging_returns_only_new_points(store: RunStore):
    run = store.create_run("train", {})
    store.log_metrics(run.id, 1, {"loss": 1.0, "val_loss": 2.0})
    first = store.get_metrics(run.id)
    assert [(p.step, p.name, p.value) for p in first.points] == [
        (1, "loss", 1.0),
        (1, "val_loss", 2.0),
    ]
    store.log_metrics(run.id, 2, {"loss": 0.5})
    second = store.get_metrics(run.id, after=first.next_after)
    assert [(p.step, p.name) for p in second.points] == [(2, "loss")]
    empty = store.get_metrics(run.id, after=second.next_after)
    assert empty.points == [] and empty.next_after == second.next_after


def test_metrics_page_limit(store: RunStore):
    run = store.create_run("train", {})
    for step in range(10):
        store.log_metrics(run.id, step, {"loss": float(step)})
    page = store.get_metrics(run.id, limit=4)
    rest = store.get_metrics(run.id, after=page.next_after)
    assert [p.step for p in page.points] == [0, 1, 2, 3]
    assert [p.step for p in rest.points] == list(range(4, 10))


def test_metrics_of_runs_do_not_mix(store: RunStore):
    a, b = store.create_run("train", {}), store.create_run("train", {})
    store.log_metrics(a.id, 1, {"loss": 1.0})
    store.log_metrics(b.id, 1, {"loss": 9.0})
    assert [p.value for p in store.get_metrics(a.id).points] == [1.0]


def test_progress_events_and_artifacts(store: RunStore, tmp_path):
    run = store.create_run("train", {})
    store.set_progress(run.id, "training", 3, 10, "epoch 3/10")
    got = store.get_run(run.id)
    assert (got.phase, got.done, got.total, got.message) == ("training", 3, 10, "epoch 3/10")
    assert got.fraction == pytest.approx(0.3)
    store.add_event(run.id, "split 150 rows")
    assert [e.message for e in store.get_events(run.id)] == ["split 150 rows"]
    f = tmp_path / "model.keras"
    f.write_bytes(b"x" * 123)
    store.add_artifact(run.id, "model.keras", f)
    assert store.get_artifacts(run.id)["model.keras"].size_bytes == 123


def test_cancel_request_is_recorded_once_and_only_for_active_runs(store: RunStore):
    run = store.create_run("train", {})
    first = store.request_cancel(run.id).cancel_requested_at
    assert first is not None
    assert store.request_cancel(run.id).cancel_requested_at == first
    done = store.create_run("train", {})
    store.set_status(done.id, RunStatus.RUNNING)
    store.finish_run(done.id, {})
    assert store.request_cancel(done.id).cancel_requested_at is None


def test_unknown_run_is_not_found(store: RunStore):
    with pytest.raises(NotFound):
        store.get_run("nope")


def test_list_runs_filters_by_kind_and_status(store: RunStore):
    a = store.create_run("train", {})
    store.create_run("export", {})
    store.set_status(a.id, RunStatus.RUNNING)
    assert [r.id for r in store.list_runs(kind="train")] == [a.id]
    assert [r.id for r in store.list_runs(statuses={RunStatus.RUNNING})] == [a.id]


def test_store_uses_wal_mode(store: RunStore):
    import sqlite3

    conn = sqlite3.connect(store.db_path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_non_finite_metric_values_are_left_out(store: RunStore):
    run = store.create_run("train", {})
    store.log_metrics(run.id, 1, {"loss": float("nan"), "val_loss": float("inf"), "mae": 2.0})
    assert [(p.name, p.value) for p in store.get_metrics(run.id).points] == [("mae", 2.0)]
