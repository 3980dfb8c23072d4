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


def live_workers(pid: int | None, started_at: float | None, host: str | None) -> list[dict]:
    """A run's live processes: its worker and every process the worker started (a search's
    tuner workers, a distributed training's workers), each with pid, host and command, so a
    script can watch or stop them. Empty when the worker is gone."""
    if pid is None or not is_alive(pid, started_at):
        return []
    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return []
    out = []
    for i, proc in enumerate(procs):
        try:
            if proc.status() == psutil.STATUS_ZOMBIE:
                continue
            out.append(
                {
                    "pid": proc.pid,
                    "host": host,
                    "role": "worker" if i == 0 else "child",
                    "command": " ".join(proc.cmdline())[:300],
                }
            )
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return out
