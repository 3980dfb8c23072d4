"""One supervisor for long-running tool processes (model server, TensorBoard, XProf).

Each is started in its own session (so it outlives the app and leads its own process group),
recorded with its pid and the process's creation time, and stopped as a whole group: SIGTERM,
then SIGKILL for whatever is left after a grace period. A pid whose creation time no longer
matches belongs to some other process now (pids are reused): it is never signalled.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

from core.runs.liveness import is_alive, process_started_at

STOP_GRACE_S = 5.0


@dataclass(frozen=True)
class Supervised:
    pid: int  # also the process group id: the process leads its own session
    started_at: float | None  # the process's creation time (pid-reuse check)

    @property
    def alive(self) -> bool:
        return is_alive(self.pid, self.started_at)


def spawn(
    argv: list[str], log_path: Path, env: dict[str, str] | None = None, cwd: Path | None = None
) -> tuple[subprocess.Popen, Supervised]:
    """Start `argv` detached (new session), stdout and stderr to `log_path`."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=env,
            cwd=cwd,
        )
    # Reap the child when it exits so a long-lived parent (the app) keeps no zombies.
    threading.Thread(target=proc.wait, daemon=True).start()
    return proc, Supervised(proc.pid, process_started_at(proc.pid))


def group_members(pgid: int) -> list[psutil.Process]:
    """Live (non-zombie) processes in process group `pgid`."""
    out = []
    for proc in psutil.process_iter(["status"]):
        try:
            if os.getpgid(proc.pid) == pgid and proc.info["status"] != psutil.STATUS_ZOMBIE:
                out.append(proc)
        except (ProcessLookupError, psutil.Error, OSError):
            continue
    return out


def stop(target: Supervised, grace_s: float = STOP_GRACE_S) -> bool:
    """Stop the process and its whole group; True when something was stopped. Does nothing
    when the recorded process is gone (its pid may belong to a stranger by now)."""
    if not target.alive:
        return False
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(target.pid, sig)
        except ProcessLookupError:
            return True
        except PermissionError:
            os.kill(target.pid, sig)
        deadline = time.time() + grace_s
        while time.time() < deadline:
            if not group_members(target.pid):
                return True
            time.sleep(0.1)
    return True


FORWARDED = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


def run_foreground(
    argv: list[str], env: dict[str, str] | None = None, cwd: Path | None = None, grace_s=10.0
) -> int:
    """Run `argv` as a child in the foreground, passing SIGTERM, SIGINT and SIGHUP on to it
    (SIGKILL if it has not ended `grace_s` after the first), and return its exit code, so
    stopping the parent stops the child and nothing is left holding a port."""
    proc = subprocess.Popen(argv, env=env, cwd=cwd)
    asked: list[float] = []

    def forward(signum, _frame) -> None:
        asked.append(time.time())
        try:
            proc.send_signal(signum)
        except ProcessLookupError:
            pass

    previous = {sig: signal.signal(sig, forward) for sig in FORWARDED}
    try:
        while True:
            try:
                code = proc.wait(timeout=0.5)
                break
            except subprocess.TimeoutExpired:
                if asked and time.time() - asked[0] > grace_s:
                    proc.kill()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 128 - code if code < 0 else code  # killed by signal N: 128+N, as a shell reports
