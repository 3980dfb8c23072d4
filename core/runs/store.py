"""RunStore: runs, progress, metrics, events and artifacts in one SQLite file (WAL mode).

Many processes share the file: the Streamlit server and CLI read, workers write. WAL lets readers
proceed while a worker writes; every method opens a short transaction, so no lock is held long.
"""

from __future__ import annotations

import json
import math
import sqlite3
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.errors import NotFound
from core.runs.status import ALLOWED, RESUMABLE_FROM, InvalidTransition, RunStatus

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    name TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL,
    spec TEXT NOT NULL,
    created_at REAL NOT NULL,
    started_at REAL,
    finished_at REAL,
    pid INTEGER,
    pid_started_at REAL,
    heartbeat_at REAL,
    phase TEXT NOT NULL DEFAULT '',
    done REAL NOT NULL DEFAULT 0,
    total REAL NOT NULL DEFAULT 0,
    message TEXT NOT NULL DEFAULT '',
    error TEXT,
    cancel_requested_at REAL,
    result TEXT
);
CREATE TABLE IF NOT EXISTS metrics (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL REFERENCES runs(id),
    step INTEGER NOT NULL,
    name TEXT NOT NULL,
    value REAL NOT NULL,
    ts REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS metrics_run ON metrics(run_id, seq);
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL REFERENCES runs(id),
    ts REAL NOT NULL,
    level TEXT NOT NULL,
    message TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_run ON events(run_id, seq);
CREATE TABLE IF NOT EXISTS artifacts (
    run_id TEXT NOT NULL REFERENCES runs(id),
    name TEXT NOT NULL,
    path TEXT NOT NULL,
    size_bytes INTEGER NOT NULL,
    PRIMARY KEY (run_id, name)
);
"""


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


def new_run_id() -> str:
    return time.strftime("%Y%m%d-%H%M%S") + "-" + uuid.uuid4().hex[:6]


class RunStore:
    def __init__(self, db_path: str | Path) -> None:
        self.db_path = Path(db_path)
        self.db_path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as conn:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.executescript(SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        conn = sqlite3.connect(self.db_path, timeout=30, isolation_level=None)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA busy_timeout=30000")
        conn.execute("PRAGMA synchronous=NORMAL")
        try:
            yield conn
        finally:
            conn.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._connect() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    # -- runs -----------------------------------------------------------------------------
    def create_run(self, kind: str, spec: dict[str, Any], name: str = "") -> Run:
        run_id = new_run_id()
        with self._tx() as conn:
            conn.execute(
                "INSERT INTO runs (id, kind, name, status, spec, created_at) VALUES (?,?,?,?,?,?)",
                (run_id, kind, name, RunStatus.PENDING.value, json.dumps(spec), time.time()),
            )
        return self.get_run(run_id)

    def get_run(self, run_id: str) -> Run:
        with self._connect() as conn:
            row = conn.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
        if row is None:
            raise NotFound(f"no run with id {run_id!r}")
        return _run_from_row(row)

    def list_runs(
        self, kind: str | None = None, statuses: set[RunStatus] | None = None, limit: int = 200
    ) -> list[Run]:
        query, args = "SELECT * FROM runs WHERE 1=1", []
        if kind:
            query += " AND kind = ?"
            args.append(kind)
        if statuses:
            query += f" AND status IN ({','.join('?' * len(statuses))})"
            args.extend(s.value for s in statuses)
        query += " ORDER BY created_at DESC LIMIT ?"
        args.append(limit)
        with self._connect() as conn:
            return [_run_from_row(r) for r in conn.execute(query, args)]

    def set_status(self, run_id: str, status: RunStatus, error: str | None = None) -> Run:
        """Move a run to `status`, enforcing the state machine; stamps start/finish times."""
        now = time.time()
        with self._tx() as conn:
            row = conn.execute("SELECT status FROM runs WHERE id = ?", (run_id,)).fetchone()
            if row is None:
                raise NotFound(f"no run with id {run_id!r}")
            current = RunStatus(row["status"])
            if status not in ALLOWED[current]:
                raise InvalidTransition(f"run {run_id}: {current.value} -> {status.value}")
            sets = ["status = ?"]
            args: list[Any] = [status.value]
            if status is RunStatus.RUNNING:
                sets += ["started_at = ?", "heartbeat_at = ?"]
                args += [now, now]
            if status.is_finalized:
                sets.append("finished_at = ?")
                args.append(now)
            if error is not None:
                sets.append("error = ?")
                args.append(error)
            conn.execute(f"UPDATE runs SET {', '.join(sets)} WHERE id = ?", [*args, run_id])
        return self.get_run(run_id)

    def reopen_run(self, run_id: str) -> Run:
        """Put an interrupted run (LOST, FAILED, CANCELED) back to PENDING so a new worker can
        resume it under the same id; its metrics, events and artifacts are kept."""
        with self._tx() as conn:
            row = conn.execute("SELECT status FROM runs WHERE id = ?", (run_id,)).fetchone()
            if row is None:
                raise NotFound(f"no run with id {run_id!r}")
            current = RunStatus(row["status"])
            if current not in RESUMABLE_FROM:
                raise InvalidTransition(
                    f"run {run_id} is {current.value}: only a lost, failed or canceled run "
                    "can be resumed"
                )
            conn.execute(
                "UPDATE runs SET status = ?, finished_at = NULL, error = NULL, "
                "cancel_requested_at = NULL, result = NULL, pid = NULL, pid_started_at = NULL, "
                "heartbeat_at = ? WHERE id = ?",
                (RunStatus.PENDING.value, time.time(), run_id),
            )
        return self.get_run(run_id)

    def finish_run(self, run_id: str, result: dict[str, Any]) -> Run:
        with self._tx() as conn:
            conn.execute("UPDATE runs SET result = ? WHERE id = ?", (json.dumps(result), run_id))
        return self.set_status(run_id, RunStatus.SUCCEEDED)

    def fail_run(self, run_id: str, error: str, status: RunStatus = RunStatus.FAILED) -> Run:
        return self.set_status(run_id, status, error=error)

    def set_pid(self, run_id: str, pid: int, pid_started_at: float | None) -> None:
        with self._tx() as conn:
            conn.execute(
                "UPDATE runs SET pid = ?, pid_started_at = ? WHERE id = ?",
                (pid, pid_started_at, run_id),
            )

    def heartbeat(self, run_id: str) -> None:
        with self._tx() as conn:
            conn.execute("UPDATE runs SET heartbeat_at = ? WHERE id = ?", (time.time(), run_id))

    def set_progress(
        self, run_id: str, phase: str, done: float, total: float, message: str = ""
    ) -> None:
        with self._tx() as conn:
            conn.execute(
                "UPDATE runs SET phase = ?, done = ?, total = ?, message = ?, heartbeat_at = ? "
                "WHERE id = ?",
                (phase, done, total, message, time.time(), run_id),
            )

    def request_cancel(self, run_id: str) -> Run:
        """Ask a run to stop; the worker sees it at the next epoch/trial boundary."""
        run = self.get_run(run_id)
        if run.status.is_active and run.cancel_requested_at is None:
            with self._tx() as conn:
                conn.execute(
                    "UPDATE runs SET cancel_requested_at = ? WHERE id = ?", (time.time(), run_id)
                )
        return self.get_run(run_id)

    # -- metrics, events, artifacts --------------------------------------------------------
    def log_metrics(self, run_id: str, step: int, values: dict[str, float]) -> None:
        """Record metric values; NaN and infinities are left out (SQLite would store NULL, and a
        curve cannot draw them) — the job reports a diverged loss in its own words."""
        now = time.time()
        rows = [
            (run_id, step, k, float(v), now) for k, v in values.items() if math.isfinite(float(v))
        ]
        if not rows:
            return
        with self._tx() as conn:
            conn.executemany(
                "INSERT INTO metrics (run_id, step, name, value, ts) VALUES (?,?,?,?,?)", rows
            )

    def get_metrics(self, run_id: str, after: int = 0, limit: int = 10_000) -> MetricsPage:
        """Metric points with seq > `after`, oldest first; a poller passes `next_after` back."""
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT seq, step, name, value, ts FROM metrics WHERE run_id = ? AND seq > ? "
                "ORDER BY seq LIMIT ?",
                (run_id, after, limit),
            ).fetchall()
        points = [MetricPoint(**dict(r)) for r in rows]
        return MetricsPage(points, points[-1].seq if points else after)

    def add_event(self, run_id: str, message: str, level: str = "info") -> None:
        with self._tx() as conn:
            conn.execute(
                "INSERT INTO events (run_id, ts, level, message) VALUES (?,?,?,?)",
                (run_id, time.time(), level, message),
            )

    def get_events(self, run_id: str, after: int = 0) -> list[Event]:
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT seq, ts, level, message FROM events WHERE run_id = ? AND seq > ? "
                "ORDER BY seq",
                (run_id, after),
            ).fetchall()
        return [Event(**dict(r)) for r in rows]

    def add_artifact(self, run_id: str, name: str, path: str | Path) -> Artifact:
        p = Path(path)
        size = (
            sum(f.stat().st_size for f in p.rglob("*") if f.is_file())
            if p.is_dir()
            else (p.stat().st_size)
        )
        with self._tx() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO artifacts (run_id, name, path, size_bytes) "
                "VALUES (?,?,?,?)",
                (run_id, name, str(p), size),
            )
        return Artifact(name, str(p), size)

    def get_artifacts(self, run_id: str) -> dict[str, Artifact]:
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT name, path, size_bytes FROM artifacts WHERE run_id = ? ORDER BY name",
                (run_id,),
            ).fetchall()
        return {r["name"]: Artifact(**dict(r)) for r in rows}


def _run_from_row(row: sqlite3.Row) -> Run:
    d = dict(row)
    d["status"] = RunStatus(d["status"])
    d["spec"] = json.loads(d["spec"])
    d["result"] = json.loads(d["result"]) if d["result"] else None
    return Run(**d)
