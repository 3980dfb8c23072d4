"""Pipeline files: what is accepted, and every bad input refused with one line (what, where)."""

from __future__ import annotations

import json
import textwrap

import pytest

from core.data.datasets import DatasetStore
from core.errors import BadInput
from core.pipelines.checks import check_against_workspace
from core.pipelines.definition import load_pipeline, parse_text
from core.pipelines.kubeflow import describe
from core.registry.store import Registry
from tests.conftest import REPO, tfstudio
from tests.test_pipeline_fakes import finished_train_run

EXAMPLE = REPO / "examples" / "iris-retrain"

GOOD = """\
name: retrain
dataset: iris-demo
target: species
stages:
  - stage: ingest
    file: {file}
  - stage: statistics
  - stage: validate
    severity: medium
  - stage: train
    epochs: 2
  - stage: evaluate
    metric: accuracy
    margin: 0.01
  - stage: push
"""


@pytest.fixture
def dataset(ws):
    return DatasetStore(ws).import_file(
        EXAMPLE / "initial.csv", "initial.csv", name="iris-demo", target="species"
    )


def write(tmp_path, text: str, name: str = "p.yaml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def test_example_parses_in_order_with_defaults(ws, dataset):
    p = load_pipeline(EXAMPLE / "pipeline.yaml")
    assert [s.name for s in p.order()] == [
        "ingest", "statistics", "validate", "train", "evaluate", "push",
    ]  # fmt: skip
    assert p.stage("train").after == ["validate"] and p.stage("train").params["epochs"] == 3
    assert p.model_name == "iris"
    found = check_against_workspace(p, ws)
    assert found == {
        "dataset": "iris-demo@v1",
        "target": "species",
        "task": "classification",
        "production": None,
    }


def test_after_reorders_stages(tmp_path):
    text = GOOD.format(file="x.csv").replace(
        "  - stage: statistics\n", "  - stage: statistics\n    after: [validate]\n"
    )
    text = text.replace("    severity: medium\n", "    severity: medium\n    after: ingest\n")
    p = parse_text(text, "p.yaml")
    order = [s.name for s in p.order()]
    assert order.index("validate") < order.index("statistics")


def refused(tmp_path, text: str, *args: str) -> str:
    """Run the CLI on the file; it must exit 2 with exactly one `error:` line."""
    path = write(tmp_path, text)
    out = tfstudio("pipeline", "run", str(path), *args)
    assert out.returncode == 2, out.stdout + out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), out.stderr
    return lines[0]


def test_unknown_stage_says_which_line(ws, dataset, tmp_path):
    text = GOOD.format(file="x.csv").replace("stage: statistics", "stage: statistcs")
    line = refused(tmp_path, text, "--home", str(ws.root))
    assert f"{tmp_path / 'p.yaml'}:7:" in line and "unknown stage 'statistcs'" in line


def test_cycle_is_refused_with_its_path(ws, dataset, tmp_path):
    text = GOOD.format(file="x.csv").replace(
        "  - stage: statistics\n", "  - stage: statistics\n    after: [train]\n"
    )
    line = refused(tmp_path, text, "--home", str(ws.root))
    assert "cycle" in line and "statistics -> train -> validate -> statistics" in line
    assert ":7:" in line


def test_missing_dataset(ws, tmp_path):
    (tmp_path / "x.csv").write_text("a,b\n1,2\n")
    line = refused(tmp_path, GOOD.format(file="x.csv"), "--home", str(ws.root))
    assert ":2: no dataset 'iris-demo'" in line and "sample:NAME or a data file's path" in line


def test_dataset_given_as_a_file_path_is_imported_once(ws, tmp_path):
    """`dataset:` takes what every data argument takes: a file relative to the pipeline file is
    imported as a dataset version on first use and found again by its hash."""
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "iris.csv").write_text((EXAMPLE / "initial.csv").read_text())
    (tmp_path / "x.csv").write_text((EXAMPLE / "new_data.csv").read_text())
    path = write(tmp_path, GOOD.format(file="x.csv").replace("iris-demo", "data/iris.csv"))
    first = check_against_workspace(load_pipeline(path), ws)
    again = check_against_workspace(load_pipeline(path), ws)
    assert first["dataset"] == again["dataset"] == "iris@v1"
    assert [v.id for v in DatasetStore(ws).list_versions()] == ["iris@v1"]
    assert first["target"] == "species" and first["task"] == "classification"
    # Kubeflow steps only have the volume: the compiled text names the version by id.
    pinned = describe(load_pipeline(path), ws=ws)
    assert pinned["dataset"] == "iris@v1"
    assert "dataset: iris@v1" in pinned["stages"][0]["command"][4]


def test_dataset_given_as_a_sample(ws, tmp_path):
    (tmp_path / "x.csv").write_text((EXAMPLE / "new_data.csv").read_text())
    path = write(tmp_path, GOOD.format(file="x.csv").replace("iris-demo", "sample:iris"))
    found = check_against_workspace(load_pipeline(path), ws)
    assert found["dataset"] == "iris@v1" and found["target"] == "species"


def test_dataset_path_that_does_not_exist(ws, tmp_path):
    (tmp_path / "x.csv").write_text("a,b\n1,2\n")
    text = GOOD.format(file="x.csv").replace("iris-demo", "data/missing.csv")
    line = refused(tmp_path, text, "--home", str(ws.root))
    assert ":2: no such file or folder 'data/missing.csv'" in line


def test_metric_the_model_does_not_log(ws, dataset, tmp_path):
    (tmp_path / "x.csv").write_text((EXAMPLE / "new_data.csv").read_text())
    text = GOOD.format(file="x.csv").replace("metric: accuracy", "metric: rmse")
    line = refused(tmp_path, text, "--home", str(ws.root))
    assert ":13:" in line and "stage 'evaluate'" in line
    assert "does not log 'rmse'" in line and "accuracy, macro_f1, roc_auc" in line


def test_metric_checked_against_the_production_model(ws, store, dataset, tmp_path):
    # the production model logs accuracy and macro_f1 only (no roc_auc)
    Registry(ws).register(finished_train_run(ws, store, dataset.id).id, "retrain", "production")
    (tmp_path / "x.csv").write_text((EXAMPLE / "new_data.csv").read_text())
    text = GOOD.format(file="x.csv").replace("metric: accuracy", "metric: roc_auc")
    with pytest.raises(BadInput, match="logs accuracy, macro_f1$"):
        check_against_workspace(load_pipeline(write(tmp_path, text)), ws)


@pytest.mark.parametrize("margin", ["abc", "'0.1'", "true", ".nan"])
def test_margin_not_a_number(tmp_path, margin):
    text = GOOD.format(file="x.csv").replace("margin: 0.01", f"margin: {margin}")
    with pytest.raises(BadInput) as err:
        parse_text(text, "p.yaml")
    assert str(err.value).startswith("p.yaml:14: stage 'evaluate': margin")
    assert "is not a number" in str(err.value)


def test_margin_not_a_number_from_the_cli(ws, dataset, tmp_path):
    text = GOOD.format(file="x.csv").replace("margin: 0.01", "margin: ten")
    line = refused(tmp_path, text, "--home", str(ws.root))
    assert line.endswith(":14: stage 'evaluate': margin 'ten' is not a number")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("epochs: 2", "epoks: 2"), ":11: stage 'train' (train) has no parameter 'epoks'"),
        (("severity: medium", "severity: huge"), ":9: stage 'validate': severity 'huge'"),
        (("- stage: push\n", "- stage: push\n  - stage: push\n"), "two stages are named 'push'"),
        (("    file: x.csv\n", ""), "takes exactly one of file or folder"),
        (("  - stage: train\n", "  - stage: train\n    after: nowhere\n"), "'nowhere'"),
        (("dataset: iris-demo\n", ""), "missing 'dataset'"),
        (("stages:", "stagez:"), "unknown key 'stagez'"),
        (("  - stage: statistics\n", "  - stage: statistics\n  - [oops\n"), "not valid YAML"),
    ],
)
def test_other_bad_files(tmp_path, change, message):
    text = GOOD.format(file="x.csv").replace(*change)
    with pytest.raises(BadInput, match=".*") as err:
        parse_text(text, "p.yaml")
    assert message in str(err.value) and str(err.value).startswith("p.yaml:")
    assert "\n" not in str(err.value)


def test_missing_ingest_file(ws, dataset, tmp_path):
    line = refused(tmp_path, GOOD.format(file="nowhere.csv"), "--home", str(ws.root))
    assert ":5: stage 'ingest': no such file 'nowhere.csv'" in line


def test_check_command_and_kubeflow_description(ws, dataset):
    out = tfstudio(
        "pipeline", "check", str(EXAMPLE / "pipeline.yaml"), "--home", str(ws.root), "--json"
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["workspace"]["dataset"] == "iris-demo@v1"
    d = describe(load_pipeline(EXAMPLE / "pipeline.yaml"))
    assert [s["name"] for s in d["stages"]][::5] == ["ingest", "push"]
    train = next(s for s in d["stages"] if s["type"] == "train")
    assert train["command"][:3] == ["tfstudio", "pipeline", "run-stage"]
    assert train["command"][-3:] == ["--stage", "train", "--json"]
    assert train["distribution"] == {"strategy": "default", "workers": 2}
