"""The stakeholder demo: one call seeds a trained model, a search, a compressed variant and an
export. Submissions are recorded in-process here (no TensorFlow); the real story is timed in
the README."""

from __future__ import annotations

import sys

from core import demo
from core.runs import launcher
from core.runs.status import RunStatus
from tests.report_fixtures import instant_submit


def test_seed_starts_training_and_a_search_and_the_story_process(ws, store, monkeypatch):
    monkeypatch.setattr(launcher, "submit", instant_submit(store))
    started = []
    monkeypatch.setattr(demo.subprocess, "Popen", lambda cmd, **kw: started.append((cmd, kw)))
    train = demo.seed_demo(ws)
    assert train is not None and train.spec["data"] == "sample:iris"
    assert sorted(r.kind for r in store.list_runs()) == ["train", "tune"]
    ((cmd, kw),) = started
    assert cmd == [sys.executable, "-m", "core.demo", str(ws.root), train.id]
    assert kw["start_new_session"] is True
    assert demo.seed_demo(ws) is None  # a workspace with the story is opened as is


def test_story_compresses_and_exports_the_trained_model(ws, store, monkeypatch):
    monkeypatch.setattr(launcher, "submit", instant_submit(store))
    train = launcher.submit(ws, store, demo.DEMO_SPEC)
    compress, export = demo.finish_story(ws, train.id, timeout_s=10)
    assert (compress.kind, compress.spec["method"]) == ("compress", "int8")
    assert compress.spec["source_run"] == export.spec["source_run"] == train.id
    assert export.spec["formats"] == ["tflite", "savedmodel", "tfjs"]


def test_story_stops_when_training_fails(ws, store, monkeypatch):
    run = store.create_run("train", demo.DEMO_SPEC.to_dict())
    store.set_status(run.id, RunStatus.RUNNING)
    store.fail_run(run.id, "broke")
    assert demo.finish_story(ws, run.id, timeout_s=10) == []
    assert [r.kind for r in store.list_runs()] == ["train"]
