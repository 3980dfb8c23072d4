"""The vertical slice in a real browser: Debian's Chromium driven by Playwright.

Train iris on the Train page, stop the Streamlit server mid-run and start it again (the detached
worker keeps going and the page finds the run from its URL), then download the `.tflite` file and
check with the LiteRT interpreter that it agrees with the Keras model.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.browser import CHROMIUM_ARGS
from core.runs.status import RunStatus
from core.runs.store import RunStore
from tests.conftest import REPO, pid_alive, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.browser]

CHROMIUM = os.environ.get("TFSTUDIO_CHROMIUM", "/usr/bin/chromium")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_app(home: Path, port: int) -> subprocess.Popen:
    env = {**os.environ, "TFSTUDIO_HOME": str(home)}
    env.pop("TFSTUDIO_HANDLERS", None)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            str(REPO / "dashboard" / "app.py"),
            "--server.port",
            str(port),
            "--server.headless",
            "true",
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )

    def healthy() -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=1) as r:
                return r.status == 200
        except OSError:
            return False

    wait_until(healthy, timeout=60, interval=0.3)
    return proc


def stop_app(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, signal.SIGTERM)
    proc.wait(timeout=30)


@pytest.fixture
def browser():
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        pytest.fail(f"Chromium not found at {CHROMIUM}: install Debian's chromium package")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


def test_train_survive_server_restart_and_download_tflite(tmp_path, browser):
    home, port = tmp_path / "home", free_port()
    app = start_app(home, port)
    page = browser.new_page(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    try:
        page.goto(f"http://127.0.0.1:{port}/train")
        page.get_by_text("Column to predict (target)").wait_for(timeout=60_000)
        page.get_by_role("button", name="Train", exact=True).click()
        page.wait_for_url("**/train?run=*", timeout=60_000)
        run_id = page.url.split("run=")[1]

        # Stop the server while the job runs; the worker is detached and must keep going.
        store = RunStore(home / "runs.sqlite")
        worker_pid = wait_until(lambda: store.get_run(run_id).pid)
        stop_app(app)
        assert pid_alive(worker_pid) or store.get_run(run_id).status is RunStatus.SUCCEEDED
        app = start_app(home, port)

        page.goto(f"http://127.0.0.1:{port}/train?run={run_id}")
        page.get_by_text("Evaluation on the held-out test split").wait_for(timeout=180_000)
        assert store.get_run(run_id).status is RunStatus.SUCCEEDED
        page.get_by_text("SUCCEEDED").first.wait_for()
        assert page.locator(".js-plotly-plot").count() >= 3  # loss, accuracy, confusion matrix
        page.screenshot(path=str(tmp_path / "train.png"), full_page=True)

        with page.expect_download(timeout=60_000) as info:
            page.get_by_role("button", name="model.tflite").click()
        downloaded = tmp_path / "downloaded.tflite"
        info.value.save_as(downloaded)
    finally:
        page.close()
        stop_app(app)

    from core.export.convert import tflite_predict
    from core.training.features import raw_arrays
    from tests.test_training_slow import keras_predict

    run_dir = home / "runs" / run_id
    assert downloaded.read_bytes() == (run_dir / "model.tflite").read_bytes()
    rows = pd.read_csv(run_dir / "test_sample.csv")
    expected, contract = keras_predict(run_dir / "model.keras", rows, run_dir / "features.json")
    got = tflite_predict(downloaded, raw_arrays(rows, contract.features))
    assert np.max(np.abs(expected - got)) < 1e-4
    assert (expected.argmax(1) == got.argmax(1)).all()
