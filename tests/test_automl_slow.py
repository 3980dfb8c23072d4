"""Real AutoKeras searches (marked slow): tables, text and images end to end, raw input served by
the saved model after a reload with AutoKeras' custom objects, kill -9 + resume, and a worker
that never joins KerasTuner's distributed mode."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from core.runs import launcher
from core.runs.status import RunStatus
from core.specs import AutoMLSpec
from core.tuning.trials import read_search, read_trials
from tests.cli_helpers import write_reviews
from tests.conftest import REPO, pid_alive, tfstudio, wait_until

pytestmark = pytest.mark.slow

# Loads the saved model in a fresh process (nothing of the job's state), feeds it raw inputs read
# back from the run folder, and compares with what AutoKeras itself predicted; also runs AutoKeras'
# own fitted numpy pipeline and the saved preprocessing model on awkward inputs.
RELOAD = r"""
import json, sys
import numpy as np, pandas as pd
import autokeras, keras, tensorflow as tf
from autokeras.pipeline import load_pipeline
from core.data.tabular import class_labels
from core.training.features import ModelContract, raw_arrays
from core.tuning.automl_model import table_x

run_dir, extra = sys.argv[1], json.loads(sys.argv[2])
contract = ModelContract.load(f"{run_dir}/features.json")
load = lambda name: keras.models.load_model(
    f"{run_dir}/{name}", custom_objects=autokeras.CUSTOM_OBJECTS
)
model, preprocess = load("model.keras"), load("preprocessing.keras")
network = load("network.keras")
tensor = lambda v: tf.constant(v.astype(str)) if v.dtype.kind in "OUS" else tf.constant(v)
out = {"network_inputs": [list(t.shape[1:]) for t in network.inputs]}
if contract.input_kind == "table":
    rows = pd.read_csv(f"{run_dir}/test_sample.csv")
    inputs = {k: tensor(v) for k, v in raw_arrays(rows, contract.features).items()}
else:
    with np.load(f"{run_dir}/test_inputs.npz") as z:
        inputs = tensor(z["input"])
pred = model.predict(inputs, verbose=0)
ref = np.load(f"{run_dir}/test_predictions.npz")
out["rows"] = len(pred)
out["max_diff_autokeras"] = float(np.abs(pred - ref["autokeras"]).max())
if contract.input_kind == "table" and contract.classes:
    y = class_labels(rows[contract.target]).map({c: i for i, c in enumerate(contract.classes)})
    out["accuracy"] = float((pred.argmax(-1) == y.to_numpy()).mean())
pipeline = load_pipeline(f"{run_dir}/search/automl/best_pipeline")
if contract.input_kind == "table" and extra:
    frame = pd.DataFrame(extra)
    arrays = raw_arrays(frame, contract.features)
    mine = preprocess.predict({k: tensor(v) for k, v in arrays.items()}, verbose=0)
    theirs = pipeline.transform_x(table_x(arrays))
    out["encoded"] = mine.tolist()
    out["encoded_diff"] = float(np.abs(mine - theirs).max())
if contract.input_kind == "text" and extra:
    texts = np.array(extra, dtype=str)
    mine = preprocess.predict(tf.constant(texts.reshape(-1, 1)), verbose=0)
    theirs = pipeline.transform_x(texts)
    out["token_ids_equal"] = bool(np.array_equal(mine, theirs))
    out["token_ids_nonzero"] = int((theirs > 0).sum())
print("RESULT " + json.dumps(out))
"""


def reload_check(run_dir, extra=None) -> dict:
    env = {**os.environ, "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "2"}
    proc = subprocess.run(
        [sys.executable, "-c", RELOAD, str(run_dir), json.dumps(extra or [])],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = next(x for x in proc.stdout.splitlines() if x.startswith("RESULT "))
    return json.loads(line[len("RESULT ") :])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def iris_with_categories(path) -> pd.DataFrame:
    from sklearn import datasets

    b = datasets.load_iris(as_frame=True)
    df = b.frame.rename(columns=lambda c: c.replace(" (cm)", "").replace(" ", "_"))
    df["species"] = [b.target_names[i] for i in b.target]
    df = df.drop(columns=["target"])
    rng = np.random.default_rng(0)
    df["colour"] = rng.choice(["red", "green", "blue"], len(df))
    df["grade"] = rng.integers(1, 4, len(df))  # integer codes, declared categorical below
    df.loc[::17, "sepal_width"] = np.nan  # missing numbers: AutoKeras sets them to 0
    df.loc[::13, "colour"] = None  # a missing category is its own value
    df.to_csv(path, index=False)
    return df


def test_structured_search_serves_raw_rows_and_never_runs_distributed(
    ws, store, tmp_path, monkeypatch
):
    from core.data.datasets import DatasetStore

    csv = tmp_path / "iris_colours.csv"
    iris_with_categories(csv)
    datasets = DatasetStore(ws)
    version = datasets.import_file(csv, "iris_colours.csv")
    datasets.update_schema(version, types={"grade": "categorical"})
    # A parent that has KerasTuner's distributed variables set, and a launcher that (for this
    # test) passes them on: the job itself must drop them, or AutoKeras would wait for a chief.
    monkeypatch.setattr(launcher, "SCRUBBED_ENV", ())
    monkeypatch.setenv("KERASTUNER_ORACLE_IP", "127.0.0.1")
    monkeypatch.setenv("KERASTUNER_ORACLE_PORT", str(free_port()))
    monkeypatch.setenv("KERASTUNER_TUNER_ID", "tuner0")
    spec = AutoMLSpec(data=version.id, target="species", max_trials=2, epochs=2)
    run = launcher.submit(ws, store, spec)
    done = launcher.wait(store, run.id, timeout_s=400)
    assert done.status is RunStatus.SUCCEEDED, done.error
    events = [e.message for e in store.get_events(run.id)]
    assert any("ignored KERASTUNER_ORACLE_IP, KERASTUNER_ORACLE_PORT" in m for m in events)

    run_dir = ws.run_dir(run.id)
    result = done.result
    assert (result["automodel"], result["task"], result["input_kind"]) == (
        "StructuredDataClassifier",
        "classification",
        "table",
    )
    trials = read_trials(run_dir)
    assert [(t["number"], t["status"], t["epochs"], t["worker"]) for t in trials] == [
        (0, "COMPLETED", 2, "main"),
        (1, "COMPLETED", 2, "main"),
    ]
    for t in trials:  # the score is the objective's best epoch, as the oracle scores it
        assert t["objective"] == {"name": "val_accuracy", "direction": "max"}
        assert t["score"] == pytest.approx(max(t["history"]["val_accuracy"]))
        assert len(t["history"]["loss"]) == 2 and t["duration_s"] > 0 and t["checkpoint_kept"]
    best = max(trials, key=lambda t: t["score"])
    assert result["best"] == {
        "trial_id": best["trial_id"],
        "score": best["score"],
        "hyperparameters": best["hyperparameters"],
    }
    assert "structured_data_block_1/dense_block_1/num_layers" in best["hyperparameters"]
    search = read_search(run_dir)
    assert search["engine"] == "autokeras" and search["best_trial_id"] == best["trial_id"]
    assert search["workers"] == 0 and search["disk_bytes"] > 0
    assert any(h["name"] == "learning_rate" for h in search["space"])

    parity = result["raw_input_parity"]
    assert parity["rows"] == 30 and parity["agreement"] == 1.0
    assert parity["max_abs_diff"] < 1e-5 and parity["encoded_max_abs_diff"] == 0.0
    assert set(result["test_metrics"]) >= {"accuracy", "macro_f1"}

    # Fresh process: raw rows (strings for the category, NaN for missing numbers) in.
    awkward = {
        "sepal_length": [5.1, 6.0],
        "sepal_width": [float("nan"), 3.0],
        "petal_length": [1.4, 4.5],
        "petal_width": [0.2, 1.5],
        "colour": ["purple", "green"],  # an unseen category
        "grade": [7, 2],  # an unseen code
        "species": ["setosa", "versicolor"],
    }
    checked = reload_check(run_dir, awkward)
    assert checked["network_inputs"] == [[6]]  # AutoKeras' network takes encoded columns
    assert checked["rows"] == 30 and checked["max_diff_autokeras"] < 1e-5
    assert checked["accuracy"] == pytest.approx(result["test_metrics"]["accuracy"])
    assert checked["encoded_diff"] == 0.0
    # The unseen colour takes AutoKeras' code for "unknown" (one past its labels); NaN -> 0.
    contract = json.loads((run_dir / "features.json").read_text())
    assert {f["input"]: f["dtype"] for f in contract["features"]}["grade"] == "int64"
    features = [f["input"] for f in contract["features"]]
    encoded = dict(zip(features, np.array(checked["encoded"])[0], strict=True))
    assert encoded["sepal_width"] == 0.0
    assert encoded["colour"] == 4.0  # labels: "", blue, green, red -> unknown is 4
    assert encoded["grade"] == 3.0  # labels: 1, 2, 3 -> unknown is 3
    second = dict(zip(features, np.array(checked["encoded"])[1], strict=True))
    assert (second["colour"], second["grade"], second["sepal_width"]) == (2.0, 1.0, 3.0)


def test_cancel_and_kill_then_resume_keep_finished_trials(ws, store):
    """Cancel between epochs of trial 1, resume, kill -9 during trial 2, resume: every finished
    trial is kept as it was, and only the trial in flight runs again (under its own id)."""
    spec = AutoMLSpec(data="sample:wine", target="cultivar", max_trials=3, epochs=3)
    run = launcher.submit(ws, store, spec)
    run_dir = ws.run_dir(run.id)

    def running(number: int):
        """As soon as trial `number` starts: it still has its preprocessing, build and all its
        epochs to go, so the cancel or the kill lands inside it."""

        def check():
            if store.get_run(run.id).status.is_finalized:
                raise AssertionError(f"the run ended before trial {number} started")
            recs = {r["number"]: r for r in read_trials(run_dir)}
            r = recs.get(number)
            return recs if r and r["status"] == "RUNNING" else None

        return wait_until(check, timeout=300, interval=0.02)

    running(1)
    store.request_cancel(run.id)
    canceled = launcher.wait(store, run.id, timeout_s=120)
    assert canceled.status is RunStatus.CANCELED
    recs = {r["number"]: r for r in read_trials(run_dir)}
    assert [recs[n]["status"] for n in sorted(recs)] == ["COMPLETED", "STOPPED"]
    assert recs[1]["epochs"] < 3  # stopped between epochs, not at the end of the trial
    first = recs[0]

    launcher.resume(ws, store, run.id)
    before_kill = running(2)
    assert before_kill[1]["status"] == "COMPLETED" and before_kill[1]["epochs"] == 3
    pid = store.get_run(run.id).pid
    os.kill(pid, signal.SIGKILL)
    wait_until(lambda: not pid_alive(pid), timeout=30)

    resumed = launcher.resume(ws, store, run.id)
    assert resumed.id == run.id
    done = launcher.wait(store, run.id, timeout_s=400)
    assert done.status is RunStatus.SUCCEEDED, done.error
    after = {r["number"]: r for r in read_trials(run_dir)}
    assert sorted(after) == [0, 1, 2]  # the interrupted trials ran again; nothing else did
    assert after[0] == first and after[1] == before_kill[1]  # finished trials untouched
    assert after[2]["status"] == "COMPLETED" and after[2]["epochs"] == 3
    assert after[2]["started_at"] > before_kill[2]["started_at"]
    oracle_dirs = sorted(p.name for p in (run_dir / "search" / "automl").glob("trial_*"))
    assert oracle_dirs == sorted(f"trial_{t['trial_id']}" for t in after.values())
    events = [e.message for e in store.get_events(run.id)]
    assert any(f"trial {after[1]['trial_id']} repeated" in m for m in events)
    assert any(
        f"2 finished trial(s) kept, trial {after[2]['trial_id']} repeated" in m for m in events
    )
    best = max(after.values(), key=lambda t: t["score"])
    assert done.result["best"]["trial_id"] == best["trial_id"]
    listed = [t["trial_id"] for t in done.result["trials"]]
    assert listed == [after[n]["trial_id"] for n in (0, 1, 2)]


def reviews(path, n: int = 120) -> None:
    pos, neg = "great excellent wonderful love".split(), "bad awful terrible hate".split()
    write_reviews(path, n, 6, pos, neg)


def test_text_search_from_the_cli_serves_raw_strings(tmp_path):
    reviews(tmp_path / "reviews.csv")
    out = tfstudio(
        "automl", "--data", str(tmp_path / "reviews.csv"), "--target", "sentiment",
        "--text-column", "review", "--task", "classification", "--max-trials", "1", "--epochs",
        "1", "--json", "--home", str(tmp_path / "home"),
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    payload = json.loads(out.stdout)
    assert payload["status"] == "SUCCEEDED"
    assert set(payload["best"]) == {"trial_id", "score", "hyperparameters"}
    assert payload["best"]["hyperparameters"]["text_block_1/max_tokens"] == 500
    assert [t["status"] for t in payload["trials"]] == ["COMPLETED"]
    assert payload["trials"][0]["trial_id"] == payload["best"]["trial_id"]
    result = payload["result"]
    assert (result["automodel"], result["input_kind"]) == ("TextClassifier", "text")
    assert result["raw_input_parity"]["encoded_max_abs_diff"] == 0.0
    run_dir = tmp_path / "home" / "runs" / payload["run_id"]
    contract = json.loads((run_dir / "features.json").read_text())
    assert contract["task"] == "text-classification"
    assert contract["details"]["sequence_length"] == 100
    awkward = [
        "great movie zzz-never-seen",  # an unknown word -> id 0
        " ".join(["the plot"] * 80),  # longer than the 100 tokens kept
        "",
        "awful\tacting  and  the story",  # tabs and runs of spaces
    ]
    checked = reload_check(run_dir, awkward)
    assert checked["network_inputs"] == [[100]]  # AutoKeras' network takes token ids
    assert checked["max_diff_autokeras"] < 1e-5 and checked["rows"] == 24
    assert checked["token_ids_equal"] and checked["token_ids_nonzero"] > 100


def test_image_dataset_search(ws, store):
    from core.data.datasets import DatasetStore
    from tests.test_families_slow import colour_zip

    version = DatasetStore(ws).import_file(colour_zip(20), "colours.zip")
    spec = AutoMLSpec(data=version.id, max_trials=1, epochs=1, image_size=16)
    run = launcher.submit(ws, store, spec)
    done = launcher.wait(store, run.id, timeout_s=400)
    assert done.status is RunStatus.SUCCEEDED, done.error
    result = done.result
    assert (result["automodel"], result["classes"]) == ("ImageClassifier", ["blue", "red"])
    assert result["rows"] == {"train": 24, "validation": 8, "test": 8}
    assert result["raw_input_parity"]["agreement"] == 1.0
    trial = read_trials(ws.run_dir(run.id))[0]
    assert trial["hyperparameters"]["image_block_1/block_type"] == "vanilla"
    assert trial["objective"] == {"name": "val_loss", "direction": "min"}
    assert trial["score"] == pytest.approx(min(trial["history"]["val_loss"]))
    # model.keras takes any-size RGB (0-255), as a training run's image model does.
    contract = json.loads((ws.run_dir(run.id) / "features.json").read_text())
    assert contract["input_kind"] == "image" and contract["details"]["image_size"] == 16
    with np.load(ws.run_dir(run.id) / "test_inputs.npz") as z:
        assert z["input"].shape == (8, 16, 16, 3)
