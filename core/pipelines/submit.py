"""Starting a pipeline run: the TF- and pandas-free face that the Pipelines page, the CLI and the
folder watcher call (the runner itself lives in core/pipelines/job.py, inside a worker)."""

from __future__ import annotations

from pathlib import Path

from core.pipelines.checks import check_against_workspace
from core.pipelines.definition import load_pipeline
from core.runs import launcher
from core.runs.store import RunStore
from core.specs import PipelineSpec
from core.workspace import Workspace


def submit_pipeline(ws: Workspace, store: RunStore, path: str | Path, ingest_file: str = ""):
    """Check a pipeline file against the workspace and start it as a run (BadInput if wrong)."""
    pipeline = load_pipeline(path)
    check_against_workspace(pipeline, ws)
    spec = PipelineSpec(
        file=str(Path(path).expanduser().resolve()), text=pipeline.text, ingest_file=ingest_file
    )
    return launcher.submit(ws, store, spec, name=pipeline.name)
