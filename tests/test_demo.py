"""The stakeholder demo: the story's four runs are written at once and run in order by one
process (TensorFlow imported once), each with its own log and result; the Home page counts
them. Fast tests use fake handlers; one slow test runs the real story."""

from __future__ import annotations

import json
import os
import sys
import time

import pytest

from core import demo
from core.runs.status import RunStatus
from tests.test_pages import open_page

STORY_KINDS = ["train", "compress", "export", "tune"]
# Every story kind replaced, so the story process imports no TensorFlow.
FAKES = ",".join(f"{k}=tests.fake_jobs:succeed" for k in STORY_KINDS)


class _FakeProc:
    pid = os.getpid()  # a live process, so reconcile leaves the queued runs alone


def _seed(ws, monkeypatch):
    started = []
    monkeypatch.setattr(
        demo.subprocess, "Popen", lambda cmd, **kw: started.append((cmd, kw)) or _FakeProc()
    )
    return demo.seed_demo(ws, {"TFSTUDIO_WARM_WORKERS": "0"}), started


def test_seed_queues_the_whole_story_for_one_process(ws, store, monkeypatch):
    runs, started = _seed(ws, monkeypatch)
    assert [r.kind for r in runs] == STORY_KINDS
    train = runs[0]
    assert train.spec["data"] == "sample:iris"
    assert runs[1].spec["method"] == "int8" and runs[1].spec["source_run"] == train.id
    assert runs[2].spec["formats"] == ["tflite", "savedmodel", "tfjs"]
    assert all(r.status is RunStatus.PENDING and r.pid == os.getpid() for r in runs)
    assert all(r.message == demo.QUEUED for r in runs)
    ((cmd, kw),) = started  # one process for the story, not one per run
    assert cmd == [sys.executable, "-m", "core.demo", str(ws.root)]
    assert kw["start_new_session"] is True and kw["env"]["TFSTUDIO_WARM_WORKERS"] == "0"
    progress = demo.story_progress(ws, store)
    assert (progress.ready, progress.total, progress.ended) == (0, 4, False)
    assert demo.seed_demo(ws) is None  # a workspace with the story is opened as is


def test_story_runs_every_job_in_this_process_with_its_own_log(ws, store, monkeypatch, capsys):
    runs, _ = _seed(ws, monkeypatch)
    monkeypatch.setenv(
        "TFSTUDIO_HANDLERS", ",".join(f"{k}=tests.fake_jobs:succeed" for k in STORY_KINDS)
    )
    cwd, env = os.getcwd(), dict(os.environ)
    with capsys.disabled():  # the story writes each job's output to that run's log, by fd
        ended = demo.tell_story(ws)
    assert [r.status for r in ended] == [RunStatus.SUCCEEDED] * 4
    assert {r.pid for r in ended} == {os.getpid()}
    assert all(r.result["metrics"]["val_loss"] == 0.5 for r in ended)  # the fake's 1.5 / 3
    for r in ended:
        log = (ws.run_dir(r.id) / "worker.log").read_text()
        assert f"claims run {r.id} ({r.kind})" in log and "finished" in log
        assert (ws.run_dir(r.id) / "result.txt").read_text() == "done"
    assert os.getcwd() == cwd and dict(os.environ) == env  # restored after each job
    progress = demo.story_progress(ws, store)
    assert (progress.ready, progress.ended, progress.failed) == (4, True, [])


def test_failed_training_ends_its_dependents_with_the_reason(ws, store, monkeypatch):
    runs, _ = _seed(ws, monkeypatch)
    monkeypatch.setenv(
        "TFSTUDIO_HANDLERS",
        "train=tests.fake_jobs:fail,compress=tests.fake_jobs:succeed,"
        "export=tests.fake_jobs:succeed,tune=tests.fake_jobs:succeed",
    )
    store.request_cancel(runs[3].id)  # the search was canceled while it waited
    train, compress, export, tune = demo.tell_story(ws)
    assert train.status is RunStatus.FAILED and "failed on purpose" in train.error
    for r in (compress, export):
        assert r.status is RunStatus.FAILED
        assert f"training run {train.id}) is FAILED, so there is nothing to {r.kind}" in r.error
    assert tune.status is RunStatus.CANCELED
    assert demo.story_progress(ws, store).ready == 0


def test_home_page_banner_counts_the_story(ws, store, monkeypatch):
    runs, _ = _seed(ws, monkeypatch)
    for r in runs[:3]:
        store.set_status(r.id, RunStatus.RUNNING)
        store.finish_run(r.id, {})
    store.set_status(runs[3].id, RunStatus.RUNNING)
    store.set_progress(runs[3].id, "searching", 1, 3, "searching: 1/3 trials")
    at = open_page("home")
    assert not at.exception, at.exception
    text = " ".join(b.value for b in [*at.info, *at.success, *at.markdown])
    assert "demo story: 3 of 4 ready" in text
    assert "searching: 1/3 trials" in text


def test_banner_says_each_finished_result_in_its_reports_words(ws, store, monkeypatch):
    from tests.report_fixtures import make_compress_run, make_train_run

    train = make_train_run(store, ws)
    compress = make_compress_run(store, ws, train)
    (ws.root / demo.STORY_FILE).write_text(json.dumps({"runs": [train.id, compress.id]}))
    at = open_page("home")
    assert not at.exception, at.exception
    text = " ".join(m.value for m in at.markdown)
    assert "demo story: 2 of 2 ready" in " ".join(b.value for b in at.success)
    assert "The model got 28 of 30 test rows right (93.3%)" in text
    assert "Int8 made the file 3.8x smaller and lost 0.4 points of accuracy" in text


def test_no_banner_outside_a_demo_workspace(ws):
    at = open_page("home")
    assert not any("demo story" in b.value for b in [*at.info, *at.success, *at.warning])


@pytest.mark.slow
def test_real_story_finishes_in_one_process(ws, store, monkeypatch):
    """The real jobs (tiny: iris, 3 search trials of 4 epochs): all four succeed in one
    process, and the export's TF.js bundle ran in Chromium."""
    monkeypatch.delenv("TFSTUDIO_HANDLERS")
    began = time.time()
    runs = demo.prepare(ws, timeout_s=400)
    took = time.time() - began
    assert [r.status for r in runs] == [RunStatus.SUCCEEDED] * 4, [r.error for r in runs]
    assert len({r.pid for r in runs}) == 1
    train, compress, export, tune = runs
    assert train.result["test_metrics"]["accuracy"] > 0.8
    int8 = compress.result["variants"][0]
    assert int8["method"] == "int8" and int8["size_ratio"] < 0.5  # the wide demo model shrinks
    tfjs = export.result["bundles"]["tfjs"]
    assert tfjs["ok"] and tfjs["parity"]["agreement"] == 1.0 and "backend" in tfjs["parity"]
    assert tune.result["completed"] == 3 and tune.result["best"]["score"] > 0.5
    print(f"demo story: {took:.1f} s, load {os.getloadavg()[0]:.2f}")
