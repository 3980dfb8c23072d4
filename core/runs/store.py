"""RunStore: runs, progress, metrics, events and artifacts in one SQLite file (WAL mode).

Many processes share the file: the Streamlit server and CLI read, workers write. WAL lets readers
proceed while a worker writes; every method opens a short transaction, so no lock is held long.

Each run folder keeps a copy of its run (`core.runs.folder`), so a damaged store is rebuilt from
the folders (`core.runs.doctor`). A damaged file, a read-only workspace and a full disk each raise
their named error (`StoreDamaged`, `WorkspaceReadOnly`, `DiskFull`), never a raw sqlite3 one; a
read-only workspace is opened read-only and still lists and shows its runs.
"""

from __future__ import annotations

import json
import logging
import math
import shutil
import socket
import sqlite3
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from core.errors import NotFound, WorkspaceReadOnly, storage_fault
from core.runs import dbfile, folder
from core.runs.records import Artifact, Event, MetricPoint, MetricsPage, Run
from core.runs.status import ALLOWED, RESUMABLE_FROM, InvalidTransition, RunStatus
from core.runs.store_schema import RESTORED as _RESTORED
from core.runs.store_schema import SCHEMA
from core.runs.store_schema import filters as _filters
from core.runs.store_schema import migrate as _migrate
from core.runs.store_schema import record_from_row as _record_from_row
from core.runs.store_schema import run_from_row as _run_from_row
from core.runs.store_schema import size as _size

log = logging.getLogger(__name__)


def new_run_id() -> str:
    return time.strftime("%Y%m%d-%H%M%S") + "-" + uuid.uuid4().hex[:6]


class RunStore:
    def __init__(self, db_path: str | Path, runs_dir: str | Path | None = None) -> None:
        self.db_path = Path(db_path)
        self.runs_dir = Path(runs_dir) if runs_dir else self.db_path.parent / "runs"
        self.read_only = dbfile.is_read_only(self.db_path)
        self._empty = self.read_only and not self.db_path.exists()
        self._mirror_warned = False
        if self.read_only:
            with self._connect() as conn:  # a damaged file is named now, not at first use
                conn.execute("SELECT count(*) FROM runs").fetchone()
            return
        self.db_path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as conn:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.executescript(SCHEMA)
            _migrate(conn)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        conn = None
        try:
            conn = self._open()
            conn.row_factory = sqlite3.Row
            if not self.read_only:
                conn.execute("PRAGMA busy_timeout=30000")
                conn.execute("PRAGMA synchronous=NORMAL")
            yield conn
        except sqlite3.DatabaseError as exc:
            raise self._named(exc) from exc
        finally:
            if conn is not None:
                conn.close()

    def _open(self) -> sqlite3.Connection:
        return dbfile.connect(self.db_path, self.read_only, self._empty, SCHEMA)

    def _named(self, exc: sqlite3.DatabaseError) -> Exception:
        return dbfile.named_error(exc, self.db_path, self.read_only)

    def _read_only_error(self) -> WorkspaceReadOnly:
        return dbfile.read_only_error(self.db_path)

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        if self.read_only:
            raise self._read_only_error()
        with self._connect() as conn, dbfile.transaction(conn):
            yield conn

    # -- the copy kept in each run folder ---------------------------------------------------
    def run_dir(self, run_id: str) -> Path:
        return self.runs_dir / run_id

    def _mirror(self, conn: sqlite3.Connection, run_id: str) -> None:
        """Copy the run's row (and artifact list) to its folder's run.json, inside the write
        transaction that changed it, so copies are written in the order of the changes. Best
        effort: the store holds the change; a failed copy only matters if the store is lost."""
        try:
            row = conn.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
            arts = conn.execute(
                "SELECT name, path FROM artifacts WHERE run_id = ?", (run_id,)
            ).fetchall()
            if row is None:
                return
            record = _record_from_row(row)
            record["artifacts"] = {a["name"]: a["path"] for a in arts}
            run_dir = self.run_dir(run_id)
            run_dir.mkdir(parents=True, exist_ok=True)
            folder.write_json_atomic(run_dir / folder.RECORD, record)
        except (OSError, sqlite3.Error) as exc:
            self._warn_mirror(exc)

    def _append(self, run_id: str, name: str, rows: list[dict[str, Any]]) -> None:
        try:
            run_dir = self.run_dir(run_id)
            if run_dir.is_dir():
                folder.append_lines(run_dir / name, rows)
        except OSError as exc:
            self._warn_mirror(exc)

    def _warn_mirror(self, exc: Exception) -> None:
        if not self._mirror_warned:
            self._mirror_warned = True
            log.warning("could not update a run folder's copy: %s", exc)

    # -- runs -----------------------------------------------------------------------------
    def create_run(
        self,
        kind: str,
        spec: dict[str, Any],
        name: str = "",
        parent_id: str | None = None,
        role: str = "",
    ) -> Run:
        """Record a PENDING run and its folder (with run.json) together: if either cannot be
        written (disk full, read-only), neither is kept. `parent_id` and `role` record lineage
        (a pipeline's stage, a search's trial)."""
        run_id = new_run_id()
        run_dir = self.run_dir(run_id)
        try:
            with self._tx() as conn:
                conn.execute(
                    "INSERT INTO runs (id, kind, name, status, spec, created_at, parent_id, role)"
                    " VALUES (?,?,?,?,?,?,?,?)",
                    (
                        run_id,
                        kind,
                        name,
                        RunStatus.PENDING.value,
                        json.dumps(spec),
                        time.time(),
                        parent_id,
                        role,
                    ),
                )
                row = conn.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
                run_dir.mkdir(parents=True)
                record = {**_record_from_row(row), "artifacts": {}}
                folder.write_json_atomic(run_dir / folder.RECORD, record)
        except OSError as exc:
            shutil.rmtree(run_dir, ignore_errors=True)
            raise (storage_fault(exc) or exc) from exc
        except BaseException:
            shutil.rmtree(run_dir, ignore_errors=True)
            raise
        return self.get_run(run_id)

    def restore_run(self, record: dict[str, Any]) -> bool:
        """Put a run read from its folder (`folder.read_folder`) back into the store under its
        own id, with its metrics, events and artifacts; False when the id is already there."""
        with self._tx() as conn:
            if conn.execute("SELECT 1 FROM runs WHERE id = ?", (record["id"],)).fetchone():
                return False
            cols = [c for c in _RESTORED if record.get(c) is not None]
            values = [json.dumps(record[c]) if c in ("spec", "result") else record[c] for c in cols]
            conn.execute(
                f"INSERT INTO runs ({', '.join(cols)}) VALUES ({','.join('?' * len(cols))})",
                values,
            )
            conn.executemany(
                "INSERT INTO metrics (run_id, step, name, value, ts) VALUES (?,?,?,?,?)",
                [
                    (record["id"], int(m["step"]), m["name"], float(m["value"]), m.get("ts", 0))
                    for m in record.get("metrics", [])
                ],
            )
            conn.executemany(
                "INSERT INTO events (run_id, ts, level, message) VALUES (?,?,?,?)",
                [
                    (record["id"], e.get("ts", 0), e.get("level", "info"), e["message"])
                    for e in record.get("events", [])
                ],
            )
            for name, path in (record.get("artifacts") or {}).items():
                p = Path(path)
                if p.exists():
                    conn.execute(
                        "INSERT OR REPLACE INTO artifacts (run_id, name, path, size_bytes) "
                        "VALUES (?,?,?,?)",
                        (record["id"], name, str(p), _size(p)),
                    )
        return True

    def run_ids(self) -> set[str]:
        with self._connect() as conn:
            return {r[0] for r in conn.execute("SELECT id FROM runs")}

    def get_run(self, run_id: str) -> Run:
        with self._connect() as conn:
            row = conn.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
        if row is None:
            raise NotFound(f"no run with id {run_id!r}")
        return _run_from_row(row)

    def list_runs(
        self,
        kind: str | None = None,
        statuses: set[RunStatus] | None = None,
        limit: int = 200,
        offset: int = 0,
    ) -> list[Run]:
        """Newest first; `offset` and `limit` page the list (the created_at index serves it)."""
        where, args = _filters(kind, statuses)
        query = f"SELECT * FROM runs{where} ORDER BY created_at DESC LIMIT ? OFFSET ?"
        with self._connect() as conn:
            return [_run_from_row(r) for r in conn.execute(query, [*args, limit, offset])]

    def count_runs(self, kind: str | None = None, statuses: set[RunStatus] | None = None) -> int:
        where, args = _filters(kind, statuses)
        with self._connect() as conn:
            return int(conn.execute(f"SELECT count(*) FROM runs{where}", args).fetchone()[0])

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
            self._mirror(conn, run_id)
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
            self._mirror(conn, run_id)
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
                "UPDATE runs SET pid = ?, pid_started_at = ?, host = ? WHERE id = ?",
                (pid, pid_started_at, socket.gethostname(), run_id),
            )
            self._mirror(conn, run_id)

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
        self._append(
            run_id,
            folder.METRICS,
            [{"step": r[1], "name": r[2], "value": r[3], "ts": r[4]} for r in rows],
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
        now = time.time()
        with self._tx() as conn:
            conn.execute(
                "INSERT INTO events (run_id, ts, level, message) VALUES (?,?,?,?)",
                (run_id, now, level, message),
            )
        self._append(run_id, folder.EVENTS, [{"ts": now, "level": level, "message": message}])

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
        size = _size(p)
        with self._tx() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO artifacts (run_id, name, path, size_bytes) "
                "VALUES (?,?,?,?)",
                (run_id, name, str(p), size),
            )
            self._mirror(conn, run_id)
        return Artifact(name, str(p), size)

    def get_artifacts(self, run_id: str) -> dict[str, Artifact]:
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT name, path, size_bytes FROM artifacts WHERE run_id = ? ORDER BY name",
                (run_id,),
            ).fetchall()
        return {r["name"]: Artifact(**dict(r)) for r in rows}
