"""Local tool servers (TensorBoard, later xprof) started on demand beside the app.

`start_tool` starts one detached server on 127.0.0.1 and a free port, waits until it answers
HTTP, and records it in `<workspace>/tools.json`; asking again for the same tool and log folder
returns the server already running. `list_tools` drops servers whose process is gone, and
`stop_tool` ends one (by pid) or every server of a name. No TensorFlow is imported here: the
server is a separate process.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from core import util
from core.errors import TFStudioError
from core.runs import supervisor
from core.runs.liveness import is_alive
from core.util import write_json_atomic
from core.workspace import Workspace

HOST = "127.0.0.1"
REGISTRY = "tools.json"
LOG_DIR = "tools"
START_TIMEOUT_S = 30.0
STOP_GRACE_S = supervisor.STOP_GRACE_S

# `{logdir}`, `{host}` and `{port}` are filled in; another tool passes its own command.
TENSORBOARD_COMMAND = (
    sys.executable,
    "-m",
    "tensorboard.main",
    "--logdir",
    "{logdir}",
    "--host",
    "{host}",
    "--port",
    "{port}",
)


class ToolError(TFStudioError):
    """A tool server did not start (its log tail says why)."""


@dataclass(frozen=True)
class ToolServer:
    name: str
    pid: int
    port: int
    url: str
    logdir: Path
    started_at: float | None = None  # the process's creation time, so a reused pid does not count
    command: tuple[str, ...] = field(default_factory=tuple)
    log: str = ""

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["logdir"] = str(self.logdir)
        d["command"] = list(self.command)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ToolServer:
        return cls(
            name=d["name"],
            pid=int(d["pid"]),
            port=int(d["port"]),
            url=d["url"],
            logdir=Path(d["logdir"]),
            started_at=d.get("started_at"),
            command=tuple(d.get("command", ())),
            log=d.get("log", ""),
        )

    @property
    def alive(self) -> bool:
        return is_alive(self.pid, self.started_at)


# -- the registry: <workspace>/tools.json, read and written under a lock ------------------------


@contextlib.contextmanager
def _locked(ws: Workspace, what: str = "registry") -> Iterator[None]:
    """`registry`: held briefly around each read-modify-write of tools.json; `start`: held
    while a server starts, so two sessions asking at once start one server."""
    with open(ws.root / f".tools-{what}.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _read(ws: Workspace) -> list[ToolServer]:
    path = ws.root / REGISTRY
    try:
        entries = json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return []
    out = []
    for d in entries if isinstance(entries, list) else []:
        try:
            out.append(ToolServer.from_dict(d))
        except (KeyError, TypeError, ValueError):
            continue  # an entry from another version: ignore it
    return out


def _write(ws: Workspace, tools: list[ToolServer]) -> None:
    path = ws.root / REGISTRY
    # atomic: readers see the old list or the new one
    write_json_atomic(path, [t.to_dict() for t in tools], indent=2)


def _live(ws: Workspace) -> list[ToolServer]:
    """The registered servers still running; rewrites the registry if some are gone."""
    tools = _read(ws)
    live = [t for t in tools if t.alive]
    if len(live) != len(tools):
        _write(ws, live)
    return live


def list_tools(ws: Workspace) -> list[ToolServer]:
    """Tool servers that are running now (dead ones are dropped from the registry)."""
    with _locked(ws):
        return _live(ws)


def find_tool(ws: Workspace, name: str, logdir: str | Path) -> ToolServer | None:
    """The running `name` server on `logdir`, if any."""
    target = Path(logdir).resolve()
    return next((t for t in list_tools(ws) if t.name == name and t.logdir == target), None)


# -- starting and stopping ----------------------------------------------------------------------


def free_port(host: str = HOST) -> int:
    return util.free_port(host)


def answers_http(url: str, timeout_s: float = 1.0) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:
            return response.status < 500
    except urllib.error.HTTPError as exc:
        return exc.code < 500
    except (urllib.error.URLError, OSError):
        return False


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def _kill_group(pid: int, started_at: float | None = None, grace_s: float = STOP_GRACE_S) -> None:
    """Stop the server's whole process group (the supervisor: SIGTERM, SIGKILL after a grace;
    never a reused pid)."""
    supervisor.stop(supervisor.Supervised(pid, started_at), grace_s)


def _launch(
    ws: Workspace, name: str, logdir: Path, template: tuple[str, ...], timeout_s: float
) -> ToolServer:
    port = free_port()
    url = f"http://{HOST}:{port}/"
    argv = [a.format(logdir=str(logdir), host=HOST, port=port) for a in template]
    log_path = ws.root / LOG_DIR / f"{name}-{port}.log"
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    # its own session: it outlives the app's server and is stopped as a process group
    proc, supervised = supervisor.spawn(argv, log_path, env=env, cwd=ws.root)
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        if proc.poll() is not None:
            raise ToolError(
                f"{name} exited with code {proc.returncode} before answering:\n{_tail(log_path)}"
            )
        if answers_http(url):
            return ToolServer(
                name,
                proc.pid,
                port,
                url,
                logdir,
                supervised.started_at,
                tuple(argv),
                str(log_path),
            )
        time.sleep(0.25)
    _kill_group(proc.pid, supervised.started_at)
    raise ToolError(f"{name} did not answer on {url} within {timeout_s:.0f} s:\n{_tail(log_path)}")


def start_tool(
    ws: Workspace,
    name: str,
    logdir: str | Path,
    command: list[str] | None = None,
    timeout_s: float = START_TIMEOUT_S,
) -> ToolServer:
    """Start the `name` server on `logdir` (or return the one already running on it).

    `command` is the argv with `{logdir}`, `{host}` and `{port}` placeholders (default:
    TensorBoard). Returns once the server answers HTTP; ToolError if it does not within
    `timeout_s` (the process is then stopped).
    """
    logdir = Path(logdir).resolve()
    if not logdir.is_dir():
        raise ToolError(f"there is no log folder {logdir}")
    template = tuple(command) if command else TENSORBOARD_COMMAND
    with _locked(ws, "start"):
        running = find_tool(ws, name, logdir)
        if running is not None:
            return running
        try:
            server = _launch(ws, name, logdir, template, timeout_s)
        except ToolError as first:
            if "exited" not in str(first):
                raise
            server = _launch(ws, name, logdir, template, timeout_s)  # e.g. the port was taken
        with _locked(ws):
            _write(ws, [*_live(ws), server])
        return server


def stop_tool(ws: Workspace, name_or_pid: str | int) -> list[ToolServer]:
    """Stop the server with this pid, or every server with this name; returns those stopped."""
    with _locked(ws):
        tools = _live(ws)
        if isinstance(name_or_pid, int):
            chosen = [t for t in tools if t.pid == name_or_pid]
        else:
            chosen = [t for t in tools if t.name == name_or_pid]
        for t in chosen:
            _kill_group(t.pid, t.started_at)
        _write(ws, [t for t in tools if t not in chosen])
        return chosen
