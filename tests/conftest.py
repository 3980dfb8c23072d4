"""Shared fixtures: a throwaway workspace per test, its store, and fake job handlers."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core.runs.store import RunStore
from core.workspace import Workspace

REPO = Path(__file__).resolve().parent.parent
# No warm worker pool (an idle TensorFlow process) unless a test asks for one: the CLI turns
# it on by default for people, and tests run the CLI.
os.environ["TFSTUDIO_WARM_WORKERS"] = "0"
FAKE_HANDLERS = ",".join(
    f"{kind}=tests.fake_jobs:{kind}"
    for kind in ("succeed", "fail", "bad_input", "slow", "stubborn", "counter", "where")
)


@pytest.fixture
def ws(tmp_path, monkeypatch) -> Workspace:
    home = tmp_path / "home"
    monkeypatch.setenv("TFSTUDIO_HOME", str(home))
    monkeypatch.setenv("TFSTUDIO_HANDLERS", FAKE_HANDLERS)
    monkeypatch.setenv("TFSTUDIO_RESUMABLE", "counter")
    monkeypatch.setenv("TFSTUDIO_HEARTBEAT_S", "0.2")
    return Workspace.resolve(home)


@pytest.fixture
def store(ws) -> RunStore:
    return RunStore(ws.db_path)


def wait_until(predicate, timeout: float = 30.0, interval: float = 0.1):
    """Poll `predicate` until it returns something truthy; fail the test on timeout."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout} s")


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def tfstudio(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    """Run the CLI as a user would, in a fresh process (the test's environment applies)."""
    return subprocess.run(
        [sys.executable, "-m", "core.cli.main", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=timeout,
    )
