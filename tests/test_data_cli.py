"""`tfstudio data import|list|profile|validate`, and training on a dataset id, via the CLI."""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path

import pytest

from core.data.datasets import DatasetStore
from core.runs import launcher
from core.runs.status import RunStatus
from tests.conftest import tfstudio


def fake_train(spec, reporter, run_dir):
    """A `train` handler without TensorFlow: the worker passes it a TrainSpec (not a dict)."""
    reporter.progress("training", 1, 1, "epoch 1/1")
    return {"metrics": {"accuracy": 1.0}, "data": spec.data, "target": spec.target}


def reference_csv() -> str:
    rng = random.Random(0)
    rows = ["sepal,petal,color,const,label"]
    for _ in range(200):
        color = rng.choice(["red", "green", "blue"])
        rows.append(f"{rng.gauss(5, 1):.3f},{rng.gauss(2, 0.5):.3f},{color},7,{rng.choice('ab')}")
    return "\n".join(rows) + "\n"


def drifted_csv() -> str:
    """Shifted `sepal`, an unseen colour, and no `petal` or `const` column."""
    rng = random.Random(1)
    rows = ["sepal,color,label"]
    for _ in range(200):
        rows.append(f"{rng.gauss(9, 1):.3f},{rng.choice(['red', 'purple'])},{rng.choice('ab')}")
    return "\n".join(rows) + "\n"


@pytest.fixture
def ref_csv(tmp_path) -> Path:
    """The reference table as a file, ref.csv."""
    path = tmp_path / "ref.csv"
    path.write_text(reference_csv())
    return path


@pytest.fixture
def flowers(ws, ref_csv) -> dict:
    """A dataset `flowers@v1`, imported in-process (the CLI import has its own test)."""
    return DatasetStore(ws).import_file(ref_csv, ref_csv.name, name="flowers").to_dict()


def validate_json(path: Path, text: str, against: str) -> dict:
    """`data validate --json` of `text`, written to `path`, against a dataset: its report."""
    path.write_text(text)
    out = tfstudio("data", "validate", str(path), "--against", against, "--json")
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def one_error_line(out) -> str:
    assert out.returncode == 2, (out.stdout, out.stderr)
    assert out.stdout == ""
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), out.stderr
    return lines[0]


def test_import_prints_the_version(ws, ref_csv):
    out = tfstudio("data", "import", str(ref_csv), "--name", "flowers", "--json")
    assert out.returncode == 0, out.stderr
    imported = json.loads(out.stdout)
    assert imported["id"] == imported["dataset_id"] == "flowers@v1"
    assert (imported["name"], imported["version"], imported["kind"]) == ("flowers", 1, "table")
    assert imported["rows"] == 200
    assert imported["columns"] == ["sepal", "petal", "color", "const", "label"]
    assert imported["sha256"] == hashlib.sha256(ref_csv.read_bytes()).hexdigest()
    assert imported["source"] == "ref.csv"
    assert imported["read"]["delimiter"] == "," and imported["read"]["skipped_rows"] == 0
    types = {c["name"]: c["type"] for c in imported["schema"]["columns"]}
    assert types == {
        "sepal": "numeric",
        "petal": "numeric",
        "color": "categorical",
        "const": "integer",
        "label": "categorical",
    }
    version = DatasetStore(ws).get("flowers@v1")
    assert version.sha256 == imported["sha256"]
    assert (version.folder / "data.parquet").is_file()


def test_list_shows_imported_versions(ws, flowers, tmp_path):
    changed = tmp_path / "ref2.csv"
    changed.write_text(reference_csv() + "5.0,2.0,red,7,a\n")
    out = tfstudio("data", "import", str(changed), "--name", "flowers")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "flowers@v2 (table, 201 rows, 5 columns)"
    out = tfstudio("data", "list", "--json")
    assert out.returncode == 0, out.stderr
    listed = json.loads(out.stdout)["datasets"]
    assert [(d["id"], d["rows"], d["kind"]) for d in listed] == [
        ("flowers@v1", 200, "table"),
        ("flowers@v2", 201, "table"),
    ]
    assert listed[0]["sha256"] == flowers["sha256"] != listed[1]["sha256"]


def test_list_in_an_empty_workspace(ws):
    out = tfstudio("data", "list", "--json")
    assert out.returncode == 0 and json.loads(out.stdout) == {"datasets": []}


def test_profile_a_file_with_a_target(ws, ref_csv):
    out = tfstudio("data", "profile", str(ref_csv), "--target", "label", "--json")
    assert out.returncode == 0, out.stderr
    prof = json.loads(out.stdout)
    assert prof["source"] == "ref.csv" and prof["rows"] == 200 and prof["target"] == "label"
    assert prof["lineage"]["file"] == str(ref_csv.resolve())
    assert [(c["name"], c["type"]) for c in prof["columns"]] == [
        ("sepal", "numeric"),
        ("petal", "numeric"),
        ("color", "categorical"),
        ("const", "integer"),
        ("label", "categorical"),
    ]
    assert prof["issues"] == ["column 'const' is constant: it carries no information"]
    assert sum(prof["class_balance"].values()) == 200
    assert set(prof["class_balance"]) == {"a", "b"}
    assert prof["schema"]["target"] == "label"


def test_profile_a_sample(ws):
    out = tfstudio("data", "profile", "sample:iris", "--json")
    assert out.returncode == 0, out.stderr
    prof = json.loads(out.stdout)
    assert prof["source"] == "sample:iris" and prof["rows"] == 150
    assert prof["lineage"]["sample"] == "sample:iris" and len(prof["lineage"]["sha256"]) == 64
    types = {c["name"]: c["type"] for c in prof["columns"]}
    assert types["species"] == "categorical"
    assert [t for n, t in types.items() if n != "species"] == ["numeric"] * 4
    assert prof["issues"] == []


def test_profile_a_dataset_version(ws, flowers):
    out = tfstudio("data", "profile", "flowers@v1", "--json")
    assert out.returncode == 0, out.stderr
    prof = json.loads(out.stdout)
    assert prof["source"] == "flowers@v1" and prof["rows"] == 200
    assert prof["lineage"] == {"dataset": "flowers@v1", "sha256": flowers["sha256"]}
    assert "column 'const' is constant: it carries no information" in prof["issues"]
    assert [c["name"] for c in prof["columns"]] == flowers["columns"]


def test_validate_reports_drift_unseen_and_missing_columns(ws, flowers, tmp_path):
    report = validate_json(tmp_path / "new.csv", drifted_csv(), "flowers@v1")
    assert report["against"] == "flowers@v1"
    assert (report["rows_new"], report["rows_reference"]) == (200, 200)
    anomalies = report["anomalies"]
    for a in anomalies:
        assert set(a) == {"column", "kind", "severity", "detail"}
        assert a["severity"] in ("low", "medium", "high") and a["detail"]
    found = {(a["column"], a["kind"]): a for a in anomalies}
    assert found[("petal", "missing_column")]["severity"] == "high"
    assert (
        "Schema column 'petal' (numeric) is missing" in found[("petal", "missing_column")]["detail"]
    )
    assert ("const", "missing_column") in found
    assert found[("sepal", "drift")]["severity"] == "high"
    assert "PSI" in found[("sepal", "drift")]["detail"]
    assert ("sepal", "out_of_range") in found
    unseen = found[("color", "unseen_categories")]
    assert "'purple'" in unseen["detail"] and unseen["severity"] == "medium"
    ranks = [("low", "medium", "high").index(a["severity"]) for a in anomalies]
    assert ranks == sorted(ranks, reverse=True)  # most severe first
    assert report["counts"]["high"] == sum(a["severity"] == "high" for a in anomalies)


def test_validate_identical_data_has_no_anomalies(ws, flowers, tmp_path):
    report = validate_json(tmp_path / "same.csv", reference_csv(), "flowers")
    assert report["against"] == "flowers@v1" and report["anomalies"] == []


def test_import_of_an_empty_file_exits_2(ws, tmp_path):
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    line = one_error_line(tfstudio("data", "import", str(path), "--json"))
    assert line == "error: empty.csv is empty: give a file with a header row and data rows"
    assert list((ws.root / "datasets").iterdir()) == []


def test_import_of_a_missing_file_exits_2(ws, tmp_path):
    line = one_error_line(tfstudio("data", "import", str(tmp_path / "absent.csv"), "--json"))
    assert "no such file" in line and "absent.csv" in line


def test_validate_against_an_unknown_dataset_exits_2(ws, flowers, tmp_path):
    path = tmp_path / "new.csv"
    path.write_text(drifted_csv())
    line = one_error_line(tfstudio("data", "validate", str(path), "--against", "nope@v1", "--json"))
    assert line == "error: no dataset 'nope@v1'; datasets: flowers@v1"


@pytest.mark.parametrize("source", ["file", "dataset"])
def test_profile_with_an_unknown_target_exits_2(ws, flowers, ref_csv, source):
    ref = str(ref_csv) if source == "file" else "flowers@v1"
    line = one_error_line(tfstudio("data", "profile", ref, "--target", "nope", "--json"))
    assert (
        line == "error: there is no column 'nope'; columns are: sepal, petal, color, const, label"
    )


def test_train_on_a_dataset_id_is_accepted(ws, store, flowers, monkeypatch):
    monkeypatch.setenv("TFSTUDIO_HANDLERS", "train=tests.test_data_cli:fake_train")
    out = tfstudio(
        "train", "--data", "flowers@v1", "--target", "label", "--detach", "--json", timeout=60
    )
    assert out.returncode == 0, out.stderr
    submitted = json.loads(out.stdout)
    run_id = submitted["run_id"]
    assert submitted["kind"] == "train" and submitted["spec"]["data"] == "flowers@v1"
    assert submitted["spec"]["target"] == "label"
    run = launcher.wait(store, run_id, timeout_s=30)
    assert run.status is RunStatus.SUCCEEDED, run.error
    run.result.pop("resources")
    assert run.result == {"metrics": {"accuracy": 1.0}, "data": "flowers@v1", "target": "label"}
    assert "flowers@v1" in run.name


def test_train_on_an_unknown_dataset_exits_2_and_creates_no_run(ws, store, monkeypatch):
    monkeypatch.setenv("TFSTUDIO_HANDLERS", "train=tests.test_data_cli:fake_train")
    line = one_error_line(
        tfstudio("train", "--data", "nope@v1", "--target", "label", "--detach", "--json")
    )
    assert "'nope@v1' is neither a file, a dataset id (name@vN) nor sample:NAME" in line
    assert store.list_runs() == []
