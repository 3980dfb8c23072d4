"""Start, find and stop a `tfstudio serve` process from the app (no TensorFlow here).

One local server per workspace, recorded in `serving.json` (pid, port, model, name); its log is
`serving.log`. Requests go through `urllib`, as any client's would.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from core.errors import NotFound
from core.runs import supervisor
from core.serving.ports import SERVE_PORT
from core.training.features import ModelContract
from core.workspace import Workspace

REPO = Path(__file__).resolve().parents[2]


def _state_path(ws: Workspace) -> Path:
    return ws.root / "serving.json"


def _process(state: dict[str, Any]) -> supervisor.Supervised:
    # `started_at` (the process's creation time) guards against a reused pid; a state file
    # from before it was recorded is checked by pid alone.
    return supervisor.Supervised(int(state["pid"]), state.get("started_at"))


def current(ws: Workspace) -> dict[str, Any] | None:
    """The recorded server when its process is still alive (else None)."""
    path = _state_path(ws)
    if not path.is_file():
        return None
    state = json.loads(path.read_text())
    if not _process(state).alive:
        path.unlink(missing_ok=True)
        return None
    state["url"] = f"http://127.0.0.1:{state['port']}/v1/models/{state['name']}"
    return state


def free_serve_port(taken: int | None = None, tries: int = 50) -> int:
    """SERVE_PORT, or the first free port after it (never `taken`, the app's own)."""
    for port in range(SERVE_PORT, SERVE_PORT + tries):
        if port != taken and port_free(port):
            return port
    return SERVE_PORT


def port_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def start(
    ws: Workspace, model: str, port: int, name: str, token: str = "", max_body_mb: float = 10.0
) -> dict[str, Any]:
    """Start `tfstudio serve` detached (it survives the app); returns its recorded state.

    `token`: require `Authorization: Bearer TOKEN` (passed to the server in its environment,
    not on its command line; kept in the owner-only state file for the page's test requests).
    `max_body_mb`: the request size limit.
    """
    if current(ws):
        raise RuntimeError("a server is already running: stop it first")
    if not max_body_mb > 0:
        raise RuntimeError(f"the request size limit must be positive, got {max_body_mb}")
    if not name:
        from core.export.job import serving_name

        features = ws.run_dir(model) / "features.json"
        name = serving_name(ModelContract.load(features)) if features.is_file() else "model"
    if not port_free(port):
        raise RuntimeError(f"port {port} is in use: choose another")
    log_path = ws.root / "serving.log"
    log_path.write_text("")  # this server's log only
    cmd = [sys.executable, "-m", "core.cli.main", "serve", model, "--port", str(port),
           "--home", str(ws.root)]  # fmt: skip
    cmd += ["--name", name, "--max-body-mb", str(max_body_mb)]
    env = dict(os.environ)
    env.pop("TFSTUDIO_SERVE_TOKEN", None)
    if token:
        env["TFSTUDIO_SERVE_TOKEN"] = token
    _, proc = supervisor.spawn(cmd, log_path, env=env, cwd=REPO)
    state = {
        "pid": proc.pid,
        "started_at": proc.started_at,
        "port": port,
        "model": model,
        "name": name,
        "started": time.time(),
        "max_body_mb": max_body_mb,
        "token": token,
    }
    path = _state_path(ws)
    path.touch(mode=0o600, exist_ok=True)
    os.chmod(path, 0o600)
    path.write_text(json.dumps(state))
    return state


def examples_dir(ws: Workspace, model: str) -> Path:
    """Where the served run's example inputs are: its own folder, or for an export run the
    training run it came from (test_inputs.npz)."""
    folder = ws.run_dir(model)
    if (folder / "test_inputs.npz").is_file():
        return folder
    try:
        from core.runs.store import RunStore

        result = RunStore(ws.db_path).get_run(model).result or {}
    except NotFound:  # a folder, not a run
        return folder
    train = result.get("train_run") or result.get("source_run") or ""
    return ws.run_dir(train) if train else folder


def ready(state: dict[str, Any]) -> bool:
    url = f"http://127.0.0.1:{state['port']}/v1/models/{state['name']}"
    headers = {"Authorization": f"Bearer {state['token']}"} if state.get("token") else {}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=1) as r:
            return r.status == 200
    except (OSError, urllib.error.URLError):
        return False


def stop(ws: Workspace) -> bool:
    """Stop the server and every process of its group (SIGTERM, then SIGKILL after a grace)."""
    state = current(ws)
    if not state:
        return False
    supervisor.stop(_process(state))
    _state_path(ws).unlink(missing_ok=True)
    return True


def example_request(run_dir: Path, rows: int = 2) -> dict[str, Any]:
    """A row-format body for the first rows of a run's saved test inputs (test_inputs.npz)."""
    import numpy as np

    from core.serving.model import jsonable

    path = run_dir / "test_inputs.npz"
    if not path.is_file():
        return {}
    with np.load(path) as data:
        arrays = {k: data[k][:rows] for k in data.files}
    if list(arrays) == ["input"] and ModelContract.load(run_dir / "features.json").input_kind != (
        "table"
    ):
        return {"instances": jsonable(arrays["input"])}
    n = len(next(iter(arrays.values())))
    return {"instances": [{k: jsonable(v[i]) for k, v in arrays.items()} for i in range(n)]}


def post(url: str, body: dict[str, Any], token: str = "") -> tuple[int, dict[str, Any]]:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")
