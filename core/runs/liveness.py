"""Is a worker process still alive? A pid alone is not enough: pids are reused, and a finished
child of a long-lived server lingers as a zombie until reaped."""

from __future__ import annotations

import psutil


def process_started_at(pid: int) -> float | None:
    try:
        return psutil.Process(pid).create_time()
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return None


def is_alive(pid: int | None, started_at: float | None) -> bool:
    if pid is None:
        return False
    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return False
        # a different process that got the same pid later does not count
        return started_at is None or abs(proc.create_time() - started_at) < 2.0
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False
