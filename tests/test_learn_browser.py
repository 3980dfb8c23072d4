"""Learn mode in a real browser (Debian's Chromium through Playwright): a new workspace opens
with the guided path; the data and train steps are done with their one-click defaults (a real
training run) and check themselves off; the run's report downloads and reads offline."""

from __future__ import annotations

import re

import pytest

from core.runs.status import RunStatus
from core.runs.store import RunStore
from tests.conftest import wait_until
from tests.test_browser import browser, free_port, start_app, stop_app  # noqa: F401 (fixture)

pytestmark = [pytest.mark.slow, pytest.mark.browser]


def test_walk_the_first_learn_steps_and_open_the_report(tmp_path, browser):  # noqa: F811
    home, port = tmp_path / "home", free_port()
    app = start_app(home, port)
    url = f"http://127.0.0.1:{port}"
    page = browser.new_page(viewport={"width": 1400, "height": 1200}, accept_downloads=True)
    try:
        page.goto(url)
        page.get_by_text("Next: step 1 of 8 · Data").wait_for(timeout=60_000)
        page.get_by_text("Learn path: 0 of 8 done").wait_for()

        page.goto(f"{url}/data")
        page.get_by_role("button", name="Add the iris sample").click()
        page.get_by_text(re.compile(r"Learn · step 1 of 8: Data · \S* ?done")).wait_for(
            timeout=60_000
        )
        page.get_by_text("Learn path: 1 of 8 done").wait_for()

        page.goto(f"{url}/train")
        page.get_by_text("Learn · step 2 of 8: Train").wait_for(timeout=60_000)
        page.get_by_role("button", name="Run it with the default").click()
        store = RunStore(home / "runs.sqlite")
        run = wait_until(lambda: (store.list_runs(kind="train") or [None])[0], timeout=60)
        done = wait_until(
            lambda: store.get_run(run.id).status.is_finalized and store.get_run(run.id),
            timeout=300,
            interval=1,
        )
        assert done.status is RunStatus.SUCCEEDED, done.error
        page.goto(f"{url}/train")
        page.get_by_text(re.compile(r"Learn · step 2 of 8: Train · \S* ?done")).wait_for(
            timeout=60_000
        )
        page.get_by_text("Learn path: 2 of 8 done").wait_for()
        page.get_by_role("link", name="Next: Tune →").wait_for()
        page.screenshot(path=str(tmp_path / "learn-train.png"), full_page=True)

        page.goto(f"{url}/runs?run={run.id}")
        button = page.get_by_role("button", name="Download report (HTML)")
        button.wait_for(timeout=60_000)
        with page.expect_download(timeout=60_000) as info:
            button.click()
        report = tmp_path / "report.html"
        info.value.save_as(report)
    finally:
        page.close()
        stop_app(app)

    offline = browser.new_context(offline=True)
    view = offline.new_page()
    view.goto(report.as_uri())
    text = view.inner_text("body")
    offline.close()
    assert "In short" in text and "Test results" in text and "Training curves" in text
    assert f"run {run.id}" in text
    assert "test rows right" in text  # the explanation computed from this run's confusion matrix
