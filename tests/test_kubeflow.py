"""The compiled Kubeflow pipeline: a workspace volume on every step, the data staged onto it by
the first step, a configurable image; loaded and recompiled with the kfp SDK (its own uv
environment), and its steps' exact container commands run in order on an empty "volume"."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from core.data.datasets import DatasetStore
from core.errors import BadInput
from core.pipelines import kubeflow_stage
from core.pipelines.definition import load_pipeline, parse_text
from core.pipelines.kubeflow import compile_kubeflow, describe, load_check
from core.workspace import Workspace
from tests.conftest import REPO

EXAMPLE = REPO / "examples" / "iris-retrain"
PLACEHOLDER = re.compile(r"\{\{\$\.inputs\.parameters\['(\w+)'\]\}\}")


@pytest.fixture
def compile_ws(tmp_path):
    """The workspace a user compiles from: it holds the dataset the pipeline names."""
    ws = Workspace.resolve(tmp_path / "laptop")
    DatasetStore(ws).import_file(
        EXAMPLE / "initial.csv", "initial.csv", name="iris-demo", target="species"
    )
    return ws


def in_order(tasks: dict) -> list[str]:
    """Task keys in an order that respects `after` (what the cluster's DAG driver does)."""
    done: list[str] = []
    while len(done) < len(tasks):
        ready = sorted(k for k, t in tasks.items() if k not in done and set(t["after"]) <= {*done})
        assert ready, f"a cycle among {set(tasks) - set(done)}"
        done.append(ready[0])
    return done


def filled(task: dict, defaults: dict, job_id: str) -> list[str]:
    """The container's command line with KFP's placeholders replaced, as the launcher would."""

    def value(name: str) -> str:
        source = task["inputs"][name]
        v = source["constant"] if "constant" in source else defaults[source["pipeline_parameter"]]
        v = v.replace("{{$.pipeline_job_uuid}}", job_id) if isinstance(v, str) else v
        return str(int(v)) if isinstance(v, float) and v.is_integer() else str(v)

    line = [PLACEHOLDER.sub(lambda m: value(m.group(1)), a) for a in task["command"] + task["args"]]
    assert not any("{{" in a for a in line), line
    return line


def local(line: list[str]) -> list[str]:
    """The image's programs as this project's own python (the image's PATH has both)."""
    program = {"tfstudio": [sys.executable, "-m", "core.cli.main"], "python": [sys.executable]}
    return program[line[0]] + line[1:]


def test_every_step_mounts_the_volume_after_the_staging_step(compile_ws, tmp_path):
    out = tmp_path / "kfp" / "pipeline.yaml"
    pipeline = load_pipeline(EXAMPLE / "pipeline.yaml")
    report = compile_kubeflow(pipeline, out, ws=compile_ws, image="registry.local/tfstudio:7")
    assert report["kfp"].startswith("2.")
    loaded = load_check(out)
    assert loaded["recompiled_same_dag"] is True  # the SDK compiles what it loaded, unchanged
    assert {"pvc_name", "pvc_size", "train_strategy", "train_workers"} <= set(loaded["parameters"])
    assert loaded["defaults"]["pvc_name"] == "tfstudio-workspace"
    tasks = {t["display_name"]: t for t in loaded["tasks"].values()}
    keys = {t["display_name"]: k for k, t in loaded["tasks"].items()}
    assert sorted(tasks) == sorted(["stage-data", *(s.name for s in pipeline.stages)])
    for name, task in tasks.items():
        assert task["image"] == "registry.local/tfstudio:7"
        (mount,) = task["pvc_mounts"]
        assert mount["mountPath"] == "/workspace"
        assert mount["pvcNameParameter"] == {"componentInputParameter": "pvc_name"}
        if name != "stage-data":
            assert keys["stage-data"] in task["after"]
            assert task["command"] == ["tfstudio"] and "--home" in task["args"]
    staging = tasks["stage-data"]
    assert staging["command"] == ["python"] and staging["after"] == []
    plan = json.loads(staging["args"][staging["args"].index("--plan") + 1])
    paths = {f["path"] for f in plan["files"]}
    assert "new_data.csv" in paths  # the ingest file, relative to the pipeline file
    assert any(p.startswith("datasets/iris-demo/") and p.endswith("manifest.json") for p in paths)
    assert plan["inline"] and all("b64" in f for f in plan["files"])


def test_create_pvc_makes_a_claim_of_the_given_size(compile_ws, tmp_path):
    out = tmp_path / "created.yaml"
    pipeline = load_pipeline(EXAMPLE / "pipeline.yaml")
    compile_kubeflow(pipeline, out, ws=compile_ws, create_pvc=True)
    loaded = load_check(out)
    tasks = {t["display_name"]: t for t in loaded["tasks"].values()}
    create = tasks["create-volume"]
    assert create["inputs"]["size"] == {"pipeline_parameter": "pvc_size"}
    assert create["inputs"]["pvc_name"] == {"pipeline_parameter": "pvc_name"}
    assert loaded["defaults"]["pvc_size"] == "5Gi"
    for name, task in tasks.items():
        if name != "create-volume":
            (mount,) = task["pvc_mounts"]
            assert mount["pvcNameParameter"]["taskOutputParameter"]["outputParameterKey"] == "name"


def test_staging_refuses_paths_outside_the_pipeline_folder(compile_ws, tmp_path):
    text = (EXAMPLE / "pipeline.yaml").read_text().replace("file: new_data.csv", "file: /etc/x")
    pipeline = parse_text(text, str(EXAMPLE / "pipeline.yaml"))
    with pytest.raises(BadInput, match="relative to the pipeline file"):
        describe(pipeline, ws=compile_ws)


def test_staging_step_writes_files_once_and_gives_kubectl_lines_for_large_ones(
    compile_ws, tmp_path, monkeypatch
):
    pipeline = load_pipeline(EXAMPLE / "pipeline.yaml")
    plan = kubeflow_stage.staging_plan(pipeline, compile_ws)
    volume = tmp_path / "volume"
    volume.mkdir()
    first = kubeflow_stage.stage(plan, volume)
    assert sorted(first["written"]) == sorted(f["path"] for f in plan["files"])
    again = kubeflow_stage.stage(plan, volume)
    assert again["written"] == [] and len(again["present"]) == len(plan["files"])
    assert (volume / "new_data.csv").read_bytes() == (EXAMPLE / "new_data.csv").read_bytes()
    assert DatasetStore(Workspace(volume)).get("iris-demo").version == 1

    monkeypatch.setattr(kubeflow_stage, "INLINE_LIMIT", 10)  # too large to embed
    big = kubeflow_stage.staging_plan(pipeline, compile_ws)
    assert not big["inline"] and not any("b64" in f for f in big["files"])
    empty = tmp_path / "empty"
    empty.mkdir()
    cmd = [sys.executable, "-m", "core.pipelines.kubeflow_stage", "--home", str(empty)]
    cmd += ["--plan", json.dumps(big), "--claim", "my-claim"]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
    assert proc.returncode == 2
    assert "PersistentVolumeClaim 'my-claim'" in proc.stderr
    assert f"kubectl cp {EXAMPLE / 'new_data.csv'} POD:{empty}/new_data.csv" in proc.stderr


@pytest.mark.slow
def test_the_steps_container_commands_run_in_order_on_an_empty_volume(compile_ws, tmp_path):
    """What a cluster does: each step's exact command, placeholders filled, on the volume only."""
    volume = tmp_path / "volume"  # the claim, mounted at the same path in every pod
    volume.mkdir()
    out = tmp_path / "pipeline.yaml"
    compile_kubeflow(load_pipeline(EXAMPLE / "pipeline.yaml"), out, home=str(volume), ws=compile_ws)
    loaded = load_check(out)
    job = "kfp-job-0001"
    ran = []
    for key in in_order(loaded["tasks"]):
        task = loaded["tasks"][key]
        line = local(filled(task, loaded["defaults"], job))
        proc = subprocess.run(line, capture_output=True, text=True, cwd=REPO, timeout=600)
        assert proc.returncode == 0, (task["display_name"], proc.stderr[-3000:])
        ran.append(task["display_name"])
    assert ran[0] == "stage-data" and ran[-1] == "push"
    state = json.loads((volume / "pipeline-runs" / job / "state.json").read_text())
    assert {s["status"] for s in state["stages"].values()} == {"succeeded"}
    assert state["outcome"] in ("pushed", None) or state["outcome"].startswith("pushed")
    from core.registry.store import Registry

    assert Registry(Workspace(volume)).get("iris@v1")  # the push step registered on the volume
