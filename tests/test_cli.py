"""CLI conventions: --json on stdout, exit 0/1/2, one `error:` line on bad input (no TensorFlow)."""

from __future__ import annotations

import json

import pytest

from core.runs import launcher
from core.runs.status import RunStatus
from tests.conftest import tfstudio

BAD_TABLES = {
    "empty.csv": b"",
    "header.csv": b"a,b,label\n",
    "binary.csv": b"\x00\x01\x02\x03PK\x03\x04" * 100,
    "single.csv": b"label\n" + b"1\n" * 20,
    "oneclass.csv": b"a,label\n" + b"".join(b"%d,x\n" % i for i in range(20)),
    "junk.csv": b"a,label\n" + b"".join(b"%d,%d\n" % (i, i % 2) for i in range(20)) + b"oops,1\n",
}


def test_datasets_lists_samples_with_tasks():
    out = tfstudio("datasets", "--json")
    assert out.returncode == 0
    tasks = {d["name"]: d["task"] for d in json.loads(out.stdout)["datasets"]}
    assert {"classification", "regression", "image-classification", "forecasting"} <= set(
        tasks.values()
    )
    assert tasks["iris"] == "classification"


def test_models_lists_the_catalog(tmp_path):
    out = tfstudio("models", "--task", "regression", "--json", "--home", str(tmp_path))
    assert out.returncode == 0
    models = json.loads(out.stdout)["models"]
    assert [m["name"] for m in models] == ["mlp"]
    # counted by building the model at the nominal table input (10 columns -> 3 classes)
    assert models[0]["parameters"] == 10 * 32 + 32 + 32 * 16 + 16 + 16 * 3 + 3


@pytest.mark.parametrize("name", sorted(BAD_TABLES))
def test_train_on_bad_table_exits_2_with_one_line(ws, tmp_path, name):
    path = tmp_path / name
    path.write_bytes(BAD_TABLES[name])
    out = tfstudio("train", "--data", str(path), "--target", "label", "--json")
    assert out.returncode == 2, out.stderr
    assert out.stdout == ""
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")


def test_bad_input_creates_no_run(ws, store, tmp_path):
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    tfstudio("train", "--data", str(path), "--target", "label")
    tfstudio("train", "--data", "sample:iris", "--target", "nope")
    tfstudio("train", "--data", "sample:iris", "--target", "species", "--model", "resnet")
    assert store.list_runs() == []
    assert list((ws.root / "runs").iterdir()) == []


def test_missing_target_and_missing_file_messages():
    out = tfstudio("train", "--data", "sample:iris", "--target", "nope")
    assert out.returncode == 2 and "columns are: sepal_length_cm" in out.stderr
    out = tfstudio("train", "--data", "/no/such.csv", "--target", "x")
    assert (
        out.returncode == 2 and out.stderr.strip() == "error: no such file or folder: /no/such.csv"
    )
    out = tfstudio("train", "--data", "sample:iris")
    assert out.returncode == 2 and out.stderr.startswith("error: ")


def test_runs_list_show_and_cancel(ws, store):
    run = launcher.submit(ws, store, {}, kind="slow")
    listed = json.loads(tfstudio("runs", "list", "--json").stdout)["runs"]
    assert [r["run_id"] for r in listed] == [run.id]
    shown = json.loads(tfstudio("runs", "show", run.id, "--json").stdout)
    assert shown["run_id"] == run.id and shown["artifacts"]["log"].endswith("worker.log")
    out = tfstudio("runs", "cancel", run.id, "--json")
    assert out.returncode == 0 and json.loads(out.stdout)["cancel_requested"] is True
    assert launcher.wait(store, run.id, timeout_s=30).status is RunStatus.CANCELED
    again = tfstudio("runs", "cancel", run.id)
    assert again.returncode == 2 and "already ended (CANCELED)" in again.stderr


def test_unknown_run_exits_2():
    out = tfstudio("runs", "show", "nope")
    assert out.returncode == 2 and out.stderr.strip() == "error: no run with id 'nope'"
    out = tfstudio("export", "nope", "--format", "tflite", "--out", "/tmp/x")
    assert out.returncode == 2


def test_home_flag_selects_the_workspace(tmp_path):
    out = tfstudio("runs", "list", "--json", "--home", str(tmp_path / "elsewhere"))
    assert out.returncode == 0 and json.loads(out.stdout) == {"total": 0, "offset": 0, "runs": []}
    assert (tmp_path / "elsewhere" / "runs.sqlite").exists()


def test_failed_job_exits_1(ws, store, monkeypatch):
    monkeypatch.setenv("TFSTUDIO_HANDLERS", "train=tests.fake_jobs:fail")
    out = tfstudio("train", "--data", "sample:iris", "--target", "species", "--json")
    assert out.returncode == 1
    payload = json.loads(out.stdout)
    assert payload["status"] == "FAILED" and "failed on purpose" in payload["error"]
