"""Real profiles: a tiny iris run (2 epochs) profiled through the CLI, in both modes, and the
trace it leaves read back with `--trace`. Slow: it trains and profiles with TensorFlow."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from core.profiling.xspace import is_xspace
from core.runs import launcher
from core.runs.status import RunStatus
from core.specs import ProfileSpec
from tests.conftest import tfstudio

pytestmark = pytest.mark.slow


def digest(folder: Path) -> dict[str, str]:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.iterdir())
        if p.is_file() and p.suffix in (".keras", ".json", ".h5", ".npz")
    }


@pytest.fixture(scope="module")
def iris_run(tmp_path_factory):
    home = tmp_path_factory.mktemp("profile-home")
    out = tfstudio(
        "train", "--home", str(home), "--data", "sample:iris", "--target", "species",
        "--epochs", "2", "--batch-size", "8", "--json",
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    return home, json.loads(out.stdout)["run_id"]


def test_cli_profiles_training_steps_and_the_run_stays_as_it_was(iris_run):
    home, run_id = iris_run
    folder = home / "runs" / run_id
    before = digest(folder)
    out = tfstudio("profile", run_id, "--home", str(home), "--steps", "2-11", "--json")
    assert out.returncode == 0, out.stderr[-3000:]
    payload = json.loads(out.stdout)
    assert payload["status"] == "SUCCEEDED" and payload["source_run"] == run_id
    assert payload["range"] == [2, 11]
    assert payload["step_time_ms"] > 0 and 0 <= payload["input_percent"] <= 100
    ops = payload["top_ops"]
    assert ops and all(set(o) == {"name", "type", "self_time_us", "percent"} for o in ops)
    assert [o["self_time_us"] for o in ops] == sorted(
        (o["self_time_us"] for o in ops), reverse=True
    )
    assert 0 < sum(o["percent"] for o in ops) <= 100.01
    assert any("MatMul" in o["type"] or "MatMul" in o["name"] for o in ops)  # the dense layers
    trace = Path(payload["trace"])
    assert trace.name.endswith(".xplane.pb") and is_xspace(trace.read_bytes())
    assert trace.is_relative_to(home / "runs" / payload["run_id"])
    assert payload["recommendations"] and all(r["text"] for r in payload["recommendations"])
    # batch 8 on 90 rows: the recommendations name the tiny batch with a bigger one
    batch = next(r for r in payload["recommendations"] if r["id"] == "batch_size")
    assert batch["knob"] == {"name": "batch_size", "value": 32}
    assert digest(folder) == before  # fit ran on a copy: the run's files did not change

    summary = json.loads((home / "runs" / payload["run_id"] / "profile_summary.json").read_text())
    assert len(summary["steps"]) >= 5  # XProf's per-step breakdown of the profiled steps
    assert summary["trace"] and summary["trace"][0]["events"]
    assert summary["timing"]["overhead_ratio"] > 0 and len(summary["timing"]["profiled_ms"]) == 10
    assert summary["memory"]["process"]["points"]
    assert summary["conversion_s"] < 30

    again = tfstudio("profile", "--trace", str(trace), "--json")
    assert again.returncode == 0, again.stderr[-2000:]
    read_back = json.loads(again.stdout)
    assert read_back["step_time_ms"] == pytest.approx(payload["step_time_ms"])
    assert [o["name"] for o in read_back["top_ops"][:5]] == [o["name"] for o in ops[:5]]


def test_cli_profiles_inference_batches_with_what_if_knobs(iris_run):
    home, run_id = iris_run
    out = tfstudio(
        "profile", run_id, "--home", str(home), "--mode", "inference", "--batches", "4",
        "--prefetch", "off", "--parallel-calls", "1", "--cache", "--json",
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    payload = json.loads(out.stdout)
    assert payload["mode"] == "inference" and payload["range"] == [1, 4]
    assert payload["knobs"]["prefetch"] == "off" and payload["knobs"]["cache"] is True
    assert payload["knobs"]["parallel_calls"] == "1"
    assert payload["step_time_ms"] > 0 and payload["top_ops"]


def test_a_step_range_outside_the_run_fails_the_job_with_why(iris_run, monkeypatch):
    """Past the CLI's check (a spec submitted directly), the job refuses the range itself."""
    home, run_id = iris_run
    monkeypatch.setenv("TFSTUDIO_HOME", str(home))
    from core.runs.store import RunStore
    from core.workspace import Workspace

    ws = Workspace.resolve(home)
    store = RunStore(ws.db_path)
    run = launcher.submit(ws, store, ProfileSpec(source_run=run_id, steps="5-40"))
    run = launcher.wait(store, run.id, timeout_s=300)
    assert run.status is RunStatus.FAILED
    assert "there is no step 40 to profile" in run.error and "within 1-12" in run.error
    assert "Traceback" not in run.error
