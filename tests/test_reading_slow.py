"""Issue 13, with real TensorFlow: the classic yearly sunspots file (numeric YEAR index) trains a
forecaster from the CLI, both with `--time-column YEAR` and with the task left on auto."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import tfstudio

pytestmark = pytest.mark.slow
SUNSPOTS = Path(__file__).parent / "corpus" / "sm_sunspots.csv"


def test_sunspots_yearly_series_trains_a_forecaster_from_the_cli(ws, store):
    out = tfstudio(
        "train",
        "--data",
        str(SUNSPOTS),
        "--target",
        "SUNACTIVITY",
        "--model",
        "lstm",
        "--window",
        "8",
        "--epochs",
        "2",
        "--json",
    )
    assert out.returncode == 0, out.stderr[-3000:]
    run = json.loads(out.stdout)
    assert run["status"] == "SUCCEEDED", run["error"]
    assert run["spec"]["task"] == "auto" and run["result"]["task"] == "forecasting"
    assert run["result"]["data"]["dataset"] == "sm_sunspots@v1"  # imported on first use
    metrics = run["test_metrics"]
    assert 0 < metrics["mae"] < 100  # sunspot numbers run 0-190
    contract = json.loads(Path(run["artifacts"]["features.json"]).read_text())
    assert contract["task"] == "forecasting"
    assert contract["details"]["time_column"] == "YEAR"
    assert contract["details"]["test_label_times"][-1] == "2008"  # years, not epoch times
