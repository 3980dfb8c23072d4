"""Plain records the run store returns: a run, a metric point, an event, an artifact."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from core.runs.status import RunStatus


@dataclass(frozen=True)
class Run:
    id: str
    kind: str
    name: str
    status: RunStatus
    spec: dict[str, Any]
    created_at: float
    started_at: float | None
    finished_at: float | None
    pid: int | None
    pid_started_at: float | None
    heartbeat_at: float | None
    phase: str
    done: float
    total: float
    message: str
    error: str | None
    cancel_requested_at: float | None
    result: dict[str, Any] | None
    host: str | None = None  # the machine the worker runs on (with `pid`, to find or stop it)
    parent_id: str | None = None  # lineage: the run that started this one (a pipeline, a search)
    role: str = ""  # lineage: what this run is to its parent (a stage name, "trial", ...)

    @property
    def fraction(self) -> float:
        """Progress in [0, 1]; 0 when the total is unknown."""
        return min(1.0, self.done / self.total) if self.total > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        d = dict(self.__dict__)
        d["status"] = self.status.value
        return d


@dataclass(frozen=True)
class MetricPoint:
    seq: int
    step: int
    name: str
    value: float
    ts: float


@dataclass(frozen=True)
class Event:
    seq: int
    ts: float
    level: str
    message: str


@dataclass(frozen=True)
class Artifact:
    name: str
    path: str
    size_bytes: int


@dataclass
class MetricsPage:
    """A page of metric points after a cursor; pass `next_after` back to get only new ones."""

    points: list[MetricPoint] = field(default_factory=list)
    next_after: int = 0
