"""'Predict a file' in Chromium: a file missing a column is refused under the button before any
job; a file with a bad row is refused by default, then predicted with the row skipped and named;
the downloaded predictions are the job's."""

from __future__ import annotations

import pandas as pd
import pytest

from tests.cli_helpers import cli_json
from tests.test_browser import browser, free_port, start_app, stop_app  # noqa: F401

pytestmark = [pytest.mark.slow, pytest.mark.browser]


def test_predict_a_file_refuses_names_skips_and_downloads(tmp_path, browser):  # noqa: F811
    home = tmp_path / "home"
    run = cli_json(home, "train", "--data", "sample:iris", "--target", "species", "--epochs", "5")
    sample = pd.read_csv(home / "runs" / run["run_id"] / "test_sample.csv")
    rows = sample.drop(columns=["species"]).astype(object)
    rows.loc[1, "petal_width_cm"] = "wide"
    good = tmp_path / "new_flowers.csv"
    rows.to_csv(good, index=False)
    short = tmp_path / "short.csv"
    rows.drop(columns=["sepal_length_cm"]).to_csv(short, index=False)

    port = free_port()
    app = start_app(home, port)
    page = browser.new_page(viewport={"width": 1400, "height": 3000}, accept_downloads=True)
    try:
        page.goto(f"http://127.0.0.1:{port}/runs?run={run['run_id']}")
        page.get_by_text("Predict a file", exact=True).wait_for(timeout=120_000)
        upload = page.locator("input[type=file]").last
        button = page.get_by_role("button", name="Predict the file")

        upload.set_input_files(str(short))
        button.click()
        page.get_by_text("lacks the column 'sepal_length_cm'").wait_for(timeout=30_000)

        upload.set_input_files(str(good))
        page.wait_for_timeout(1000)
        button.click()
        refusal = page.locator("[data-testid^='stAlert']").filter(
            has_text="row 2: 'petal_width_cm' needs a number, not 'wide'"
        )
        refusal.first.wait_for(timeout=180_000)  # said where it was clicked, with what to do
        assert "choose to skip rows that cannot be read" in refusal.first.inner_text()

        page.get_by_text("Skip them and list them").click()
        page.wait_for_timeout(1000)
        button.click()
        page.get_by_text(f"{len(rows) - 1} predictions").wait_for(timeout=180_000)
        page.get_by_text("1 row(s) could not be read and were skipped").wait_for()
        with page.expect_download(timeout=60_000) as info:
            page.get_by_role("button", name="Download predictions.csv").click()
        got = tmp_path / "predictions.csv"
        info.value.save_as(got)
        page.screenshot(path=str(tmp_path / "predict_file.png"), full_page=True)
    finally:
        page.close()
        stop_app(app)
    frame = pd.read_csv(got)
    assert len(frame) == len(rows) - 1 and 2 not in frame["row"].tolist()
    assert set(frame["predicted"]) <= set(run["result"]["classes"])
