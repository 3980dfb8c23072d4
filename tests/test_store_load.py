"""Load: many trainings writing one store at once; a store with 1,000 runs, listed and paged."""

from __future__ import annotations

import json
import sqlite3
import time

from core.runs import launcher
from core.runs.status import RunStatus
from core.runs.store import SCHEMA, RunStore
from tests.conftest import tfstudio


def test_eight_trainings_at_once_finish_with_no_locked_database(ws, store):
    # fake trainings (no TensorFlow) that write metrics and progress as fast as they can
    runs = [
        launcher.submit(ws, store, {"steps": 40, "sleep": 0.0}, kind="succeed", name=f"t{i}")
        for i in range(8)
    ]
    done = [launcher.wait(store, r.id, poll_s=0.2, timeout_s=180) for r in runs]
    logs = "".join((ws.run_dir(r.id) / launcher.LOG_NAME).read_text() for r in runs)
    assert "database is locked" not in logs, logs[-2000:]
    assert [r.status for r in done] == [RunStatus.SUCCEEDED] * 8, [r.error for r in done]
    for r in runs:
        points = store.get_metrics(r.id).points
        assert len(points) == 80  # 40 steps x (loss, val_loss), none lost
        folder_copy = (ws.run_dir(r.id) / "metrics.jsonl").read_text().splitlines()
        assert len(folder_copy) == 80
    assert sqlite3.connect(ws.db_path).execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def _thousand_runs(store: RunStore) -> list[str]:
    """1,000 finished runs written straight into the store (creating each through a worker
    would take minutes and test nothing more here)."""
    now = time.time()
    rows = [
        (f"20260101-000000-{i:06x}", "train", f"run {i}", "SUCCEEDED", "{}", now - 1000 + i)
        for i in range(1000)
    ]
    with sqlite3.connect(store.db_path) as conn:
        conn.executemany(
            "INSERT INTO runs (id, kind, name, status, spec, created_at) VALUES (?,?,?,?,?,?)",
            rows,
        )
    return [r[0] for r in reversed(rows)]  # newest first


def test_runs_list_pages_a_thousand_runs(ws, store):
    newest_first = _thousand_runs(store)
    plan = sqlite3.connect(store.db_path).execute(
        "EXPLAIN QUERY PLAN SELECT * FROM runs ORDER BY created_at DESC LIMIT 50"
    )
    assert "runs_created" in " ".join(str(r) for r in plan.fetchall()), "the list uses the index"
    assert [r.id for r in store.list_runs(limit=50, offset=100)] == newest_first[100:150]
    assert store.count_runs() == 1000
    proc = tfstudio("runs", "list", "--json", "--limit", "20", "--offset", "980")
    payload = json.loads(proc.stdout)
    assert payload["total"] == 1000 and payload["offset"] == 980
    assert [r["run_id"] for r in payload["runs"]] == newest_first[980:]


def test_runs_page_shows_one_page_of_a_thousand_runs(ws, store):
    from tests.test_pages import open_page

    newest_first = _thousand_runs(store)
    at = open_page("runs")
    assert not at.exception, at.exception
    table = at.dataframe[0].value
    assert list(table["run"]) == newest_first[:50]
    at.number_input(key="runs-page").set_value(3).run()
    assert list(at.dataframe[0].value["run"]) == newest_first[100:150]
    # a link to a run on another page still opens that run
    at = open_page("runs", {"run": newest_first[700]})
    assert at.selectbox(key="runs-pick").value == newest_first[700]


def test_an_older_store_gains_the_lineage_columns(tmp_path):
    db = tmp_path / "runs.sqlite"
    with sqlite3.connect(db) as conn:
        conn.executescript(SCHEMA)  # the first release's tables, without host/parent_id/role
        conn.execute(
            "INSERT INTO runs (id, kind, name, status, spec, created_at) "
            "VALUES ('20250101-000000-000001', 'train', 'old', 'SUCCEEDED', '{}', 1.0)"
        )
    store = RunStore(db)
    old = store.get_run("20250101-000000-000001")
    assert (old.name, old.parent_id, old.role, old.host) == ("old", None, "", None)
    child = store.create_run("train", {}, parent_id=old.id, role="train stage")
    assert (store.get_run(child.id).parent_id, store.get_run(child.id).role) == (
        old.id,
        "train stage",
    )
    RunStore(db)  # opening again changes nothing


def test_reconcile_among_a_thousand_runs_touches_only_the_active_ones(ws, store):
    from core.runs.recovery import reconcile

    newest_first = _thousand_runs(store)
    dead = []
    for i in range(2):  # two workers that died without reporting (a pid that is not running)
        run = store.create_run("train", {}, name=f"killed {i}")
        store.set_status(run.id, RunStatus.RUNNING)
        store.set_pid(run.id, 2**22 + i, None)
        dead.append(run.id)
    plan = sqlite3.connect(store.db_path).execute(
        "EXPLAIN QUERY PLAN SELECT * FROM runs WHERE status IN ('PENDING','RUNNING')"
    )
    assert "runs_status" in " ".join(str(r) for r in plan.fetchall()), "reconcile uses the index"
    changed = reconcile(store)
    assert sorted(r.id for r in changed) == sorted(dead)
    assert store.count_runs(statuses={RunStatus.LOST}) == 2
    assert store.count_runs(statuses={RunStatus.SUCCEEDED}) == 1000
    assert reconcile(store) == []  # a second pass has nothing to do
    page = store.list_runs(limit=3)
    assert [r.id for r in page] == [*reversed(dead), newest_first[0]]
    assert all(
        r.status is RunStatus.LOST and "ended without reporting" in r.error for r in page[:2]
    )


def test_a_pipeline_finds_its_child_again_behind_thousands_of_newer_runs(ws, store):
    """The child a pipeline submitted just before a kill (its id never saved) is found again by
    its name even when more than one page of newer runs came after it."""
    from core.pipelines.job import Runner

    pipeline = store.create_run("pipeline", {}, name="retrain")
    label = f"retrain · train (train of pipeline run {pipeline.id})"
    child = store.create_run("train", {}, name=label)
    later = time.time() + 10
    with sqlite3.connect(store.db_path) as conn:
        conn.executemany(
            "INSERT INTO runs (id, kind, name, status, spec, created_at) VALUES (?,?,?,?,?,?)",
            [
                (f"2099-{i:06x}", "train", f"other {i}", "SUCCEEDED", "{}", later + i)
                for i in range(2100)
            ],
        )
    runner = Runner.__new__(Runner)  # only its store and run id are needed to look
    runner.store, runner.run_id = store, pipeline.id
    assert runner._find_child(label) == child.id
    assert runner._find_child("retrain · push (export of pipeline run x)") is None
