"""Reconcile the store with reality: active runs whose worker is gone become LOST.

Runs at app start-up, before CLI listings, and from the sidebar's poll, so a `kill -9` or a
machine restart shows up as LOST (log kept) instead of RUNNING forever.
"""

from __future__ import annotations

import time

from core.runs.liveness import is_alive
from core.runs.status import InvalidTransition, RunStatus
from core.runs.store import Run, RunStore

# A PENDING run whose launcher never recorded a worker pid within this many seconds is lost.
PENDING_GRACE_S = 60.0


def reconcile(store: RunStore, now: float | None = None) -> list[Run]:
    """Mark active runs whose worker process is gone as LOST; returns the runs it changed."""
    if store.read_only:  # nothing can be marked; listing still works
        return []
    now = time.time() if now is None else now
    changed = []
    for run in store.list_runs(statuses={RunStatus.PENDING, RunStatus.RUNNING}, limit=10_000):
        if run.pid is None:
            # A reopened (resumed) run counts from its reopening, stamped as a heartbeat.
            if now - max(run.created_at, run.heartbeat_at or 0.0) < PENDING_GRACE_S:
                continue
            reason = "no worker process was ever started for this run"
        elif is_alive(run.pid, run.pid_started_at):
            continue
        else:
            reason = (
                f"the worker process (pid {run.pid}) ended without reporting a result "
                "(killed, crashed, or the machine restarted); its log is kept"
            )
        try:
            changed.append(store.fail_run(run.id, reason, status=RunStatus.LOST))
        except InvalidTransition:
            pass  # it finished between our read and our write
    return changed
