"""Hand a pipeline to Kubeflow: a neutral description here, KFP YAML from `kfp/compile.py`.

The Kubeflow Pipelines SDK cannot share this environment (kfp 2.14+ needs protobuf >= 6.31,
TensorFlow 2.19 needs protobuf 5; see STACK.md), so the core writes a plain JSON description of
the stages and the commands that run them, and `kfp/compile.py` (a PEP 723 script with its own
dependencies, run by `uv run --script`) turns it into KFP YAML. Every step runs this project's CLI
(`tfstudio pipeline run-stage`) in the image built from the project's `Dockerfile`, on a shared
workspace volume, so a step on Kubeflow does exactly what the same stage does locally.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from core.errors import BadInput
from core.pipelines.definition import Pipeline
from core.pipelines.kubeflow_stage import staging_plan
from core.workspace import Workspace

REPO = Path(__file__).resolve().parents[2]
COMPILER = REPO / "kfp" / "compile.py"
FORMAT = "tfstudio-pipeline/1"
# The PersistentVolumeClaim every step mounts at `home` (pipeline parameters pvc_name, pvc_size).
DEFAULT_CLAIM = "tfstudio-workspace"
DEFAULT_SIZE = "5Gi"


def pin_dataset(pipeline: Pipeline, ws: Workspace) -> Pipeline:
    """The pipeline with `dataset:` naming its dataset version by id: a file, folder or sample
    given there is imported here (or found by its hash), and the steps on the cluster, which
    only have the volume, find that version among the staged files."""
    import re

    from core.pipelines.checks import resolve_dataset
    from core.pipelines.definition import parse_text

    version = resolve_dataset(pipeline, ws)
    if pipeline.dataset == version.id:
        return pipeline
    lines = pipeline.text.splitlines()
    at = pipeline.lines.get("dataset", 1) - 1
    lines[at] = re.sub(r"^(\s*dataset\s*:\s*).*$", lambda m: m.group(1) + version.id, lines[at])
    return parse_text("\n".join(lines) + "\n", pipeline.source)


def describe(
    pipeline: Pipeline,
    home: str = "/workspace",
    ws: Workspace | None = None,
    image: str = "",
    create_pvc: bool = False,
) -> dict[str, Any]:
    """The stages, their order and the command each one runs (no Kubeflow types).

    The first step stages the pipeline's inputs onto the workspace volume (`staging`); `ws` is
    the workspace that holds the dataset (default: the current one).
    """
    pipeline = pin_dataset(pipeline, ws or Workspace.resolve())
    stages = []
    for stage in pipeline.order():
        command = ["tfstudio", "pipeline", "run-stage", "--text", pipeline.text]
        command += ["--stage", stage.name, "--json"]
        entry: dict[str, Any] = {
            "name": stage.name,
            "type": stage.type,
            "after": list(stage.after),
            "params": stage.params,
            "command": command,
        }
        if stage.type == "train":
            # MultiWorkerMirroredStrategy: the chief starts `workers` processes with TF_CONFIG.
            entry["distribution"] = {
                "strategy": stage.params.get("strategy", "default"),
                "workers": int(stage.params.get("workers", 2)),
            }
        if stage.type == "tune":
            # KerasTuner: a chief (the oracle) and `workers` tuner workers; 0 = one process.
            entry["distribution"] = {
                "strategy": "keras-tuner",
                "workers": int(stage.params.get("workers", 0)),
            }
        stages.append(entry)
    return {
        "format": FORMAT,
        "name": pipeline.name,
        "description": pipeline.description or f"TF Studio pipeline {pipeline.name}",
        "image": image or pipeline.image,
        "home": home,
        "volume": {"create": bool(create_pvc), "claim": DEFAULT_CLAIM, "size": DEFAULT_SIZE},
        "staging": staging_plan(pipeline, ws or Workspace.resolve()),
        "model": pipeline.model_name,
        "dataset": pipeline.dataset,
        "stages": stages,
    }


def uv_command() -> list[str]:
    # `uv run` tells its children where it is (UV); else uv on PATH; else uv as a module.
    found = os.environ.get("UV") or shutil.which("uv")
    if found:
        return [found]
    return [sys.executable, "-m", "uv"]


def compile_kubeflow(
    pipeline: Pipeline,
    out: str | Path,
    home: str = "/workspace",
    timeout_s: float = 900,
    ws: Workspace | None = None,
    image: str = "",
    create_pvc: bool = False,
) -> dict[str, Any]:
    """Write KFP YAML to `out` (and the description beside it as `OUT.json`)."""
    out = Path(out).expanduser().resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    description = describe(pipeline, home, ws, image, create_pvc)
    desc_path = out.with_suffix(out.suffix + ".json") if out.suffix else Path(f"{out}.json")
    desc_path.write_text(json.dumps(description, indent=2))
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    cmd = [*uv_command(), "run", "--script", str(COMPILER), str(desc_path), "--out", str(out)]
    started = time.time()
    try:
        proc = subprocess.run(
            cmd, capture_output=True, text=True, timeout=timeout_s, env=env, cwd=REPO
        )
    except FileNotFoundError:
        raise BadInput("uv is not installed: pip install uv (it runs kfp/compile.py)") from None
    except subprocess.TimeoutExpired:
        raise BadInput(f"kfp/compile.py did not finish in {timeout_s:.0f} s") from None
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
        raise BadInput(f"kfp/compile.py failed: {tail[0]}")
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    return {
        **report,
        "out": str(out),
        "description": str(desc_path),
        "seconds": round(time.time() - started, 1),
    }


def load_check(path: str | Path, timeout_s: float = 900) -> dict[str, Any]:
    """Load compiled KFP YAML back with the Kubeflow SDK (in its own env): name, tasks, images."""
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    cmd = [*uv_command(), "run", "--script", str(COMPILER), "--check", str(path)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s, env=env, cwd=REPO)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr.strip()[-2000:])
    return json.loads(proc.stdout.strip().splitlines()[-1])
