"""Opening the run store's SQLite file, and naming its faults.

A damaged file (overwritten, truncated), a read-only workspace and a full disk each become their
named error with a message that says what to do, instead of a raw sqlite3 exception.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from core.errors import DiskFull, StoreDamaged, WorkspaceReadOnly

# SQLite primary result codes (sqlite_errorcode & 0xFF) that name a fault the user can act on.
_READONLY, _IOERR, _CORRUPT, _CANTOPEN, _FULL, _NOTADB = 8, 10, 11, 14, 13, 26
# An I/O error with less than this free beside the store is a full disk (SQLite reports one
# as SQLITE_IOERR when it cannot grow its -shm file, as SQLITE_FULL when it cannot grow the db).
NEARLY_FULL_BYTES = 1 << 20


def nearly_full(path: Path) -> bool:
    try:
        return shutil.disk_usage(path).free < NEARLY_FULL_BYTES
    except OSError:
        return False


def is_read_only(db_path: Path) -> bool:
    """True when the store cannot be written: the file, or the folder that holds it (SQLite
    writes its -wal and -shm files beside it), is not writable."""
    if db_path.exists():
        return not (os.access(db_path, os.W_OK) and os.access(db_path.parent, os.W_OK))
    parent = next((p for p in [db_path.parent, *db_path.parents] if p.exists()), None)
    return parent is not None and not os.access(parent, os.W_OK)


def connect(db_path: Path, read_only: bool, empty: bool, schema: str) -> sqlite3.Connection:
    if empty:  # a read-only workspace that never had a store: an empty one
        conn = sqlite3.connect(":memory:", isolation_level=None)
        conn.executescript(schema)
        return conn
    if not read_only:
        return sqlite3.connect(db_path, timeout=30, isolation_level=None)
    # Read-only: mode=ro sees a WAL left by a killed writer (it needs the -shm file); on a
    # read-only mount without one, immutable=1 reads the main file alone.
    uri = db_path.resolve().as_uri()
    try:
        conn = sqlite3.connect(f"{uri}?mode=ro", uri=True, isolation_level=None)
        conn.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchall()
        return conn
    except sqlite3.OperationalError:
        return sqlite3.connect(f"{uri}?immutable=1", uri=True, isolation_level=None)


def damaged_error(db_path: Path, detail: str) -> StoreDamaged:
    finding = f"the run store {db_path} is damaged ({detail}); the run folders are untouched"
    return StoreDamaged(
        f"{finding}: run `tfstudio doctor --repair` to rebuild the store from them", finding
    )


def read_only_error(db_path: Path) -> WorkspaceReadOnly:
    return WorkspaceReadOnly(
        f"the workspace {db_path.parent} is read-only: runs can be listed and shown, but nothing "
        "can be started or changed — make it writable or choose another with --home"
    )


def named_error(exc: sqlite3.DatabaseError, db_path: Path, read_only: bool) -> Exception:
    code = (getattr(exc, "sqlite_errorcode", 0) or 0) & 0xFF
    if code in (_CORRUPT, _NOTADB):
        return damaged_error(db_path, str(exc))
    if code in (_READONLY, _CANTOPEN) and (read_only or is_read_only(db_path)):
        return read_only_error(db_path)
    if code == _FULL or (code == _IOERR and nearly_full(db_path.parent)):
        return DiskFull(
            f"the disk holding {db_path} is full: nothing was recorded — free some space and "
            "try again"
        )
    return exc


def sqlite_fault(exc: sqlite3.DatabaseError) -> Exception | None:
    """The named fault behind any store's sqlite3 error (a full disk, a read-only workspace),
    for a caller that does not know which file it was; None when it names none."""
    code = (getattr(exc, "sqlite_errorcode", 0) or 0) & 0xFF
    if code == _FULL or (code == _IOERR and "disk" in str(exc)):
        return DiskFull(
            f"the disk is full ({exc}): nothing was recorded — free some space and try again"
        )
    if code == _READONLY:
        return WorkspaceReadOnly(
            f"the workspace is read-only ({exc}): it can be listed and shown, not changed — "
            "make it writable or choose another with --home"
        )
    return None


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One write transaction on `conn`: BEGIN IMMEDIATE takes the write lock up front (two
    writers wait on busy_timeout instead of failing on a lock upgrade); COMMIT at the end, or
    ROLLBACK when anything, even a KeyboardInterrupt, leaves the block."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
