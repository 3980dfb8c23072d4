"""The Export page in a real browser (Debian's Chromium driven by Playwright).

A finished iris run's bundles are exported from the page, every parity check passes, the TF.js
zip is downloaded with the page's button, unzipped into a local folder, and its `index.html`
opened from `file://` (no server, no internet) computes the Keras model's predictions.
"""

from __future__ import annotations

import json
import re
import zipfile

import numpy as np
import pytest

from core.runs.status import RunStatus
from core.runs.store import RunStore
from tests.conftest import tfstudio
from tests.test_browser import browser, free_port, start_app, stop_app  # noqa: F401

pytestmark = [pytest.mark.slow, pytest.mark.browser]


def test_export_page_checks_bundles_and_the_tfjs_download_runs_offline(tmp_path, browser):  # noqa: F811
    home, port = tmp_path / "home", free_port()
    out = tfstudio(
        "train", "--data", "sample:iris", "--target", "species", "--epochs", "15", "--json",
        "--home", str(home),
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    train_id = json.loads(out.stdout)["run_id"]

    app = start_app(home, port)
    page = browser.new_page(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    try:
        page.goto(f"http://127.0.0.1:{port}/export")
        page.get_by_role("button", name="Export and check").wait_for(timeout=60_000)
        page.get_by_role("button", name="Export and check").click()
        page.wait_for_url("**/export?export=*", timeout=60_000)
        export_id = page.url.split("export=")[1]
        page.get_by_text("Parity with the Keras model").wait_for(timeout=240_000)
        store = RunStore(home / "runs.sqlite")
        run = store.get_run(export_id)
        assert run.status is RunStatus.SUCCEEDED
        assert run.spec["source_run"] == train_id
        bundles = run.result["bundles"]
        assert set(bundles) == {"keras", "savedmodel", "tflite", "tfjs", "micro"}
        assert all(b["ok"] for b in bundles.values()), bundles
        # The table is a canvas: read the run instead, and wait for the downloads below it.
        page.get_by_text("Downloads", exact=True).wait_for()
        with page.expect_download(timeout=60_000) as info:
            page.get_by_role("button", name=re.compile(r"^TF\.js \(")).click()
        zipped = tmp_path / "tfjs.zip"
        info.value.save_as(zipped)
    finally:
        page.close()
        stop_app(app)

    folder = tmp_path / "unzipped"
    zipfile.ZipFile(zipped).extractall(folder)
    assert {"index.html", "tf.min.js", "model.js", "examples.js"} <= {
        p.name for p in folder.iterdir()
    }
    local = browser.new_page()
    try:
        local.goto((folder / "index.html").as_uri())
        local.wait_for_function("() => window.TFSTUDIO_RESULT !== undefined", timeout=60_000)
        result = local.evaluate("() => window.TFSTUDIO_RESULT")
        status = local.inner_text("#status")
        first_class = local.inner_text("#out tr:nth-child(2) td:nth-child(2)")
    finally:
        local.close()
    assert "error" not in result, result
    assert "predictions with @tensorflow/tfjs" in status

    from core.models.io import load_run_model
    from core.training.build import to_tensors as _to_tensors
    from core.training.families.common import load_test_inputs

    run_dir = home / "runs" / train_id
    got = np.asarray(result["predictions"], "float64")
    inputs = {k: v[: len(got)] for k, v in load_test_inputs(run_dir / "test_inputs.npz").items()}
    expected = np.asarray(load_run_model(run_dir).predict(_to_tensors(inputs), verbose=0))
    assert np.max(np.abs(expected - got)) < 1e-4
    classes = json.loads((run_dir / "features.json").read_text())["classes"]
    assert first_class == str(classes[int(expected[0].argmax())])
