"""Every page renders through the real entry point (AppTest), without TensorFlow in the process."""

from __future__ import annotations

import subprocess
import sys

import pytest
from streamlit.testing.v1 import AppTest

from core.runs import launcher
from core.runs.status import RunStatus
from dashboard.navigation import PAGES
from tests.conftest import REPO, wait_until
from tests.test_import_graph import TF_MODULES  # noqa: F401 (the subprocess below imports it)

APP = str(REPO / "dashboard" / "app.py")


def assert_loads_nothing(code: str) -> None:
    """Run `code` in a fresh Python (tests in this process may have loaded TF); it prints the
    modules it should not have loaded that it found, so its last line must be empty."""
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=180
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1:] in ([], [""]), f"UI imported {out.stdout}"


def open_page(name: str, query: dict[str, str] | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=30)
    for k, v in (query or {}).items():
        at.query_params[k] = v
    at.run()
    if name != "home":
        at.switch_page(f"../pages/{name}.py")
        at.run()
    return at


@pytest.mark.parametrize("name", list(PAGES))
def test_page_renders_without_errors(ws, name):
    at = open_page(name)
    assert not at.exception, at.exception
    assert at.title[0].value == ("TF Studio" if name == "home" else PAGES[name][0])


def test_pages_never_import_tensorflow(ws):
    """In a fresh process (other tests here may load TF), render every page, then look."""
    code = (
        "import sys; from tests.test_pages import open_page, TF_MODULES; from dashboard.navigation "
        "import PAGES\n[open_page(n) for n in PAGES]\n"
        "print(','.join(m for m in TF_MODULES if m in sys.modules))"
    )
    assert_loads_nothing(code)


def test_sidebar_lists_active_runs(ws, store):
    run = launcher.submit(ws, store, {}, kind="slow", name="slow fake run")
    wait_until(lambda: store.get_run(run.id).status is RunStatus.RUNNING)
    at = open_page("home")
    assert any("slow fake run" in m.value for m in at.sidebar.markdown)
    store.request_cancel(run.id)
    launcher.wait(store, run.id, timeout_s=30)


def test_train_page_submits_a_run_and_shows_it(ws, store, monkeypatch):
    monkeypatch.setenv("TFSTUDIO_HANDLERS", "train=tests.fake_jobs:succeed")
    at = open_page("train")
    assert at.selectbox(key="train-target").value == "species"
    at.button(key="train-start").click().run()
    assert not at.exception
    runs = store.list_runs(kind="train")
    assert len(runs) == 1
    assert runs[0].spec["target"] == "species" and runs[0].spec["data"] == "sample:iris"
    assert at.query_params["run"] == [runs[0].id] or at.query_params["run"] == runs[0].id
    launcher.wait(store, runs[0].id, timeout_s=30)


def test_train_page_shows_bad_target_as_a_message(ws, store):
    at = open_page("train")
    at.selectbox(key="train-task").set_value("regression").run()
    assert not at.exception
    assert any("cannot be regressed" in w.value for w in at.warning)
    assert at.button(key="train-start").disabled
    assert store.list_runs() == []


def test_train_page_shows_split_sizes(ws):
    at = open_page("train")
    assert any("train **90**" in c.value and "test **30**" in c.value for c in at.caption)


def test_train_page_reattaches_to_a_run_from_the_url(ws, store):
    run = launcher.submit(ws, store, {"steps": 2}, kind="succeed", name="fake finished")
    launcher.wait(store, run.id, timeout_s=30)
    at = open_page("train", {"run": run.id})
    assert not at.exception
    assert any("fake finished" in m.value for m in at.markdown)
    assert any("SUCCEEDED" in m.value for m in at.markdown)


def test_runs_page_shows_a_lost_run_with_what_to_do(ws, store):
    run = store.create_run("train", {"target": "x"}, name="lost one")
    store.set_status(run.id, RunStatus.RUNNING)
    store.fail_run(run.id, "the worker process (pid 1) ended", status=RunStatus.LOST)
    at = open_page("runs", {"run": run.id})
    assert not at.exception
    assert any("start a new run" in e.value for e in at.error)


def test_export_page_without_models_says_what_to_do(ws):
    at = open_page("export")
    assert any("train a model first" in i.value for i in at.info)
