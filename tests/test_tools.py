"""Tool servers on demand (core.runs.tools): start, reuse, list, stop; TensorBoard for real."""

from __future__ import annotations

import json
import os
import signal
import sys
import urllib.request

import pytest

from core.runs.tools import ToolError, list_tools, start_tool, stop_tool
from tests.conftest import pid_alive, wait_until

HTTP_SERVER = [sys.executable, "-m", "http.server", "--bind", "{host}", "{port}"]


def get(url: str) -> int:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status


def test_a_server_is_started_reused_listed_and_stopped(ws, tmp_path):
    logs = tmp_path / "logs"
    logs.mkdir()
    server = start_tool(ws, "web", logs, command=HTTP_SERVER)
    try:
        assert server.url == f"http://127.0.0.1:{server.port}/"
        assert get(server.url) == 200
        assert start_tool(ws, "web", logs, command=HTTP_SERVER).pid == server.pid  # reused
        assert list_tools(ws) == [server]
        saved = json.loads((ws.root / "tools.json").read_text())
        assert saved[0]["pid"] == server.pid and saved[0]["logdir"] == str(logs.resolve())
        other = start_tool(ws, "web", ws.root, command=HTTP_SERVER)  # another folder: another
        assert other.pid != server.pid and len(list_tools(ws)) == 2
        assert stop_tool(ws, other.pid) == [other]
        assert [t.pid for t in list_tools(ws)] == [server.pid]
        wait_until(lambda: not pid_alive(other.pid), timeout=10)
    finally:
        stopped = stop_tool(ws, "web")
    assert [t.pid for t in stopped] == [server.pid]
    wait_until(lambda: not pid_alive(server.pid), timeout=10)
    assert list_tools(ws) == []


def test_a_dead_server_is_dropped_from_the_list(ws, tmp_path):
    server = start_tool(ws, "web", tmp_path, command=HTTP_SERVER)
    os.killpg(server.pid, signal.SIGKILL)
    wait_until(lambda: not pid_alive(server.pid), timeout=10)
    assert list_tools(ws) == []
    assert json.loads((ws.root / "tools.json").read_text()) == []


def test_a_server_that_does_not_start_is_an_error_with_its_log(ws, tmp_path):
    with pytest.raises(ToolError, match="exited with code 3"):
        start_tool(ws, "broken", tmp_path, command=[sys.executable, "-c", "print('nope'); exit(3)"])
    with pytest.raises(ToolError, match="did not answer"):
        start_tool(
            ws,
            "silent",
            tmp_path,
            command=[sys.executable, "-c", "import time; time.sleep(60)"],
            timeout_s=1,
        )
    with pytest.raises(ToolError, match="no log folder"):
        start_tool(ws, "web", tmp_path / "missing", command=HTTP_SERVER)
    assert list_tools(ws) == []


@pytest.mark.slow
def test_tensorboard_starts_on_an_empty_logdir_and_stops(ws, tmp_path):
    logs = tmp_path / "tensorboard"
    logs.mkdir()
    server = start_tool(ws, "tensorboard", logs, timeout_s=90)
    try:
        assert get(server.url) == 200
        assert "tensorboard.main" in server.command
        assert [t.pid for t in list_tools(ws)] == [server.pid]
    finally:
        assert [t.pid for t in stop_tool(ws, server.pid)] == [server.pid]
    wait_until(lambda: not pid_alive(server.pid), timeout=15)
    assert list_tools(ws) == []
