"""The Tune page in a real browser (Debian's Chromium through Playwright), with the real engine.

Launch a tiny Hyperband search on iris from the page, watch trials arrive, kill the worker with
SIGKILL, click Resume, wait for the search to finish with the finished trials kept, then promote
the best trial and watch the training run finish on the Train page.
"""

from __future__ import annotations

import os
import re
import signal

import pytest

from core.runs.status import RunStatus
from core.runs.store import RunStore
from core.tuning.trials import read_trials
from tests.conftest import pid_alive, wait_until
from tests.test_browser import browser, free_port, start_app, stop_app  # noqa: F401 (fixture)

pytestmark = [pytest.mark.slow, pytest.mark.browser]


def set_number(page, label: str, value: int) -> None:
    box = page.get_by_label(label, exact=True)
    box.fill(str(value))
    box.press("Enter")
    page.wait_for_timeout(400)  # the rerun that takes the value


def completed_ids(run_dir) -> set[str]:
    return {t["trial_id"] for t in read_trials(run_dir) if t["status"] == "COMPLETED"}


def test_search_kill_resume_and_promote_from_the_browser(tmp_path, browser):  # noqa: F811
    home, port = tmp_path / "home", free_port()
    app = start_app(home, port)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        page.goto(f"http://127.0.0.1:{port}/tune")
        page.get_by_text("Search space", exact=True).wait_for(timeout=60_000)
        set_number(page, "Max trials", 4)
        set_number(page, "Epochs per trial (max)", 4)
        set_number(page, "Keep best k checkpoints", 2)
        page.get_by_role("button", name="Start search").click()
        page.wait_for_url("**/tune?run=*", timeout=60_000)
        run_id = page.url.split("run=")[1]
        store = RunStore(home / "runs.sqlite")
        run_dir = home / "runs" / run_id
        assert store.get_run(run_id).spec["max_trials"] == 4

        # Once a trial has completed (watched on disk: a quiet machine finishes a tiny search
        # faster than a page poll), kill the worker outright; the live page showed the trial.
        wait_until(lambda: completed_ids(run_dir), timeout=180, interval=0.05)
        run = store.get_run(run_id)
        assert run.status is RunStatus.RUNNING, run.error
        os.kill(run.pid, signal.SIGKILL)
        wait_until(lambda: not pid_alive(run.pid), timeout=10)
        before = completed_ids(run_dir)
        page.get_by_text(re.compile(r"^\d+ of 4 trials finished")).first.wait_for(timeout=60_000)

        # The page notices (LOST) and offers Resume, which continues the same run.
        page.get_by_role("button", name="Resume").click(timeout=60_000)
        page.get_by_role("button", name="Promote the best trial").wait_for(timeout=180_000)
        done = store.get_run(run_id)
        assert done.status is RunStatus.SUCCEEDED, done.error
        assert before <= completed_ids(run_dir)  # finished trials were kept
        assert done.result["completed"] >= 2
        page.get_by_text("Which hyperparameters mattered").first.wait_for()
        assert page.locator(".js-plotly-plot").count() >= 3
        page.screenshot(path=str(tmp_path / "tune.png"), full_page=True)

        # Promote: a normal training run on train + validation, opened on the Train page.
        page.get_by_role("button", name="Promote the best trial").click()
        link = page.get_by_role("link", name="Promoted: training run")
        link.wait_for(timeout=30_000)
        (train,) = store.list_runs(kind="train")
        assert train.spec["fit_on_validation"] is True
        best = done.result["best"]["hyperparameters"]
        assert train.spec["learning_rate"] == pytest.approx(best["learning_rate"])
        link.click()
        page.wait_for_url(f"**/train?run={train.id}", timeout=30_000)
        page.get_by_text("Evaluation on the held-out test split").wait_for(timeout=180_000)
        assert store.get_run(train.id).status is RunStatus.SUCCEEDED
    finally:
        page.close()
        stop_app(app)
