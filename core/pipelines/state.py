"""A pipeline run's state (`state.json`) and each pipeline's ingest ledger: the TF-free face of
core/pipelines that the app and the CLI read while the job (core/pipelines/job.py) writes.
"""

from __future__ import annotations

import enum
import json
from pathlib import Path
from typing import Any, NotRequired, TypedDict

from core.util import write_json_atomic
from core.workspace import Workspace

STATE = "state.json"


class StageStop(Exception):
    """A stage decided the pipeline ends here (validation blocked it, no new data)."""

    def __init__(self, message: str, outcome: str, outputs: dict[str, Any] | None = None):
        super().__init__(message)
        self.outcome = outcome
        self.outputs = outputs or {}


class StageStatus(enum.StrEnum):
    """A stage's status in state.json (stored as its lower-case string)."""

    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    STOPPED = "stopped"  # a gate (validate, evaluate) stopped the pipeline on purpose
    FAILED = "failed"
    SKIPPED = "skipped"

    @property
    def is_done(self) -> bool:
        """Finished for good: a resumed pipeline does not run this stage again."""
        return self in (StageStatus.SUCCEEDED, StageStatus.SKIPPED)


STAGE_STATUSES = tuple(StageStatus)


class StageEntry(TypedDict):
    """One stage in state.json."""

    type: str  # the stage type (ingest, validate, train, ...)
    status: str  # a StageStatus
    children: dict[str, str]  # role -> child run id (train, tune, export runs)
    outputs: dict[str, Any]  # what the stage hands downstream
    error: NotRequired[str | None]  # why it failed
    started_at: NotRequired[float]
    finished_at: NotRequired[float]
    registered: NotRequired[str]  # register: the dataset version it registered (resumable)
    bundles_added: NotRequired[bool]  # export: bundles attached to the registry entry


class PipelineState(TypedDict):
    """`state.json` of a pipeline run: written by the job after every stage, read by the app."""

    pipeline: str
    model: str
    run_id: str
    started_at: float
    order: list[str]  # stage names in the order they run
    context: dict[str, Any]  # dataset versions found, production run, ingest file
    stages: dict[str, StageEntry]
    outcome: str  # "" while running, then the StageStop outcome or "finished"


def write_json(path: Path, data: Any) -> None:
    """Pipeline state and ledgers, written atomically (readers never see half)."""
    write_json_atomic(path, data, indent=2)


def read_state(run_dir: Path) -> PipelineState | None:
    path = Path(run_dir) / STATE
    if not path.is_file():
        return None
    return json.loads(path.read_text())


def ledger_path(ws: Workspace, pipeline: str) -> Path:
    """Files a pipeline has ingested (sha256 -> file), so a watched folder feeds each once."""
    return ws.root / "pipelines" / pipeline / "ingested.json"


def read_ledger(ws: Workspace, pipeline: str) -> dict[str, str]:
    path = ledger_path(ws, pipeline)
    return json.loads(path.read_text()) if path.is_file() else {}
