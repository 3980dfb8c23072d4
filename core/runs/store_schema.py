"""The run store's tables: the schema, the columns older stores gain on open, and how a row
becomes a Run or a restorable record (core.runs.store holds the operations)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from core.runs import dbfile
from core.runs.records import Run
from core.runs.status import RunStatus

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
CREATE INDEX IF NOT EXISTS runs_created ON runs(created_at);
CREATE INDEX IF NOT EXISTS runs_status ON runs(status);
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


def run_from_row(row: sqlite3.Row) -> Run:
    d = dict(row)
    d["status"] = RunStatus(d["status"])
    d["spec"] = json.loads(d["spec"])
    d["result"] = json.loads(d["result"]) if d["result"] else None
    return Run(**d)


def filters(kind: str | None, statuses: set[RunStatus] | None) -> tuple[str, list[Any]]:
    clauses, args = [], []
    if kind:
        clauses.append("kind = ?")
        args.append(kind)
    if statuses:
        clauses.append(f"status IN ({','.join('?' * len(statuses))})")
        args.extend(s.value for s in statuses)
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), args


# Columns a run restored from its folder brings back (pid and progress belong to a live worker).
RESTORED = (
    "id",
    "kind",
    "name",
    "status",
    "spec",
    "created_at",
    "started_at",
    "finished_at",
    "pid",
    "pid_started_at",
    "heartbeat_at",
    "error",
    "result",
    "host",
    "parent_id",
    "role",
)


def record_from_row(row: sqlite3.Row) -> dict[str, Any]:
    d = dict(row)
    d["spec"] = json.loads(d["spec"])
    d["result"] = json.loads(d["result"]) if d["result"] else None
    return {k: d.get(k) for k in RESTORED} | {"cancel_requested_at": d.get("cancel_requested_at")}


def size(p: Path) -> int:
    if p.is_dir():
        return sum(f.stat().st_size for f in p.rglob("*") if f.is_file())
    return p.stat().st_size


# Columns added after the first release: (name, declaration). Older stores gain them on open.
_ADDED_COLUMNS = (
    ("host", "TEXT"),
    ("parent_id", "TEXT"),
    ("role", "TEXT NOT NULL DEFAULT ''"),
)


def migrate(conn: sqlite3.Connection) -> None:
    """Add missing columns to an older store, in one write transaction (so two processes
    opening it at once do not both add them)."""
    have = {r[1] for r in conn.execute("PRAGMA table_info(runs)")}
    if all(name in have for name, _ in _ADDED_COLUMNS):
        return
    with dbfile.transaction(conn):
        have = {r[1] for r in conn.execute("PRAGMA table_info(runs)")}
        for name, decl in _ADDED_COLUMNS:
            if name not in have:
                conn.execute(f"ALTER TABLE runs ADD COLUMN {name} {decl}")
        conn.execute("CREATE INDEX IF NOT EXISTS runs_parent ON runs(parent_id)")
