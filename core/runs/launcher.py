"""Start jobs as detached worker processes and wait for them.

`submit` writes a PENDING row and starts `python -m core.runs.worker RUN_ID` in a new session:
never a thread of the caller and never a fork (TensorFlow and fork() do not mix), and detached so
that stopping the Streamlit server or the CLI does not stop the job. When a warm worker (a
process of the same kind with TensorFlow already imported, core.runs.warm) is ready, a job that
uses TensorFlow goes to it instead of a new process: same pid bookkeeping, log and reconcile.
"""

from __future__ import annotations

import functools
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import core
from core.runs import supervisor, warm
from core.runs.handlers import warm_kinds
from core.runs.store import Run, RunStore
from core.specs import Spec
from core.util import KERASTUNER_ENV
from core.workspace import Workspace

LOG_NAME = "worker.log"
# Variables a worker must never inherit: KerasTuner's distributed mode (which would also switch
# AutoKeras into it) is opted into per job, not leaked from the parent's environment.
SCRUBBED_ENV = KERASTUNER_ENV


def worker_env(ws: Workspace) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in SCRUBBED_ENV}
    repo_root = str(Path(core.__file__).resolve().parent.parent)
    paths = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p and p != repo_root]
    env["PYTHONPATH"] = os.pathsep.join([repo_root, *paths])  # the same however often applied
    env["PYTHONUNBUFFERED"] = "1"
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env["TFSTUDIO_HOME"] = str(ws.root)
    env.update(bytecode_env(env))
    return env


def bytecode_env(env: dict[str, str]) -> dict[str, str]:
    """Keep a bytecode cache for workers where Python would otherwise recompile TensorFlow's
    ~1,800 modules at every start (measured here: its import took 18 s instead of 4.5 s).

    That happens when PYTHONDONTWRITEBYTECODE is set (containers, this project's sandboxes) and
    the environment was installed without compiled bytecode (`uv sync` without
    `--compile-bytecode`). Then workers write their cache under ~/.cache/tfstudio/pycache
    (PYTHONPYCACHEPREFIX), never beside the installed sources; otherwise nothing changes.
    """
    if not env.get("PYTHONDONTWRITEBYTECODE") or env.get("PYTHONPYCACHEPREFIX"):
        return {}
    if _tensorflow_has_bytecode():
        return {}
    cache = Path(env.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "tfstudio" / "pycache"
    return {"PYTHONPYCACHEPREFIX": str(cache), "PYTHONDONTWRITEBYTECODE": ""}


@functools.cache
def _tensorflow_has_bytecode() -> bool:
    import importlib.util

    spec = importlib.util.find_spec("tensorflow")
    if spec is None or not spec.origin:
        return True  # nothing to cache for
    return any((Path(spec.origin).parent / "__pycache__").glob("__init__.*.pyc"))


def submit(
    ws: Workspace, store: RunStore, spec: Spec | dict, kind: str | None = None, name: str = ""
) -> Run:
    """Record a run and start its worker; returns the run (PENDING, with its pid recorded)."""
    if isinstance(spec, Spec):
        kind, spec_dict = spec.kind, spec.to_dict()
    else:
        if not kind:
            raise ValueError("a plain-dict spec needs an explicit kind")
        spec_dict = dict(spec)
    run = store.create_run(kind, spec_dict, name=name)
    return _start_worker(ws, store, run.id)


def resume(ws: Workspace, store: RunStore, run_id: str) -> Run:
    """Continue an interrupted run of a resumable kind under the same id, in the same folder."""
    from core.errors import BadInput
    from core.runs.handlers import resumable_kinds
    from core.runs.recovery import reconcile

    reconcile(store)  # a killed worker is LOST before it can be resumed
    run = store.get_run(run_id)
    kinds = resumable_kinds()
    if run.kind not in kinds:
        raise BadInput(
            f"run {run_id} is a {run.kind} run, which starts over rather than resumes: start a "
            f"new one (resumable kinds: {', '.join(sorted(kinds)) or 'none'})"
        )
    if run.status.is_active:
        raise BadInput(f"run {run_id} is still {run.status.value}: nothing to resume")
    if run.status.value == "SUCCEEDED":
        raise BadInput(f"run {run_id} already succeeded: nothing to resume")
    store.reopen_run(run_id)
    store.add_event(run_id, "resumed: a new worker continues from the saved state")
    return _start_worker(ws, store, run_id)


def _start_worker(ws: Workspace, store: RunStore, run_id: str) -> Run:
    run_dir = ws.run_dir(run_id)
    run_dir.mkdir(parents=True, exist_ok=True)
    log_path = run_dir / LOG_NAME
    env = worker_env(ws)
    # Said before the worker exists (it overwrites this with its own phases from its first
    # second), so the page never shows a bare PENDING.
    store.set_progress(run_id, "starting", 0, 0, "starting a worker process")
    if store.get_run(run_id).kind in warm_kinds():
        taken = warm.claim(ws.root, run_id, env)
        if taken is not None:  # a warm worker has TensorFlow imported already
            store.set_pid(run_id, taken["pid"], taken["started_at"])
            store.add_artifact(run_id, "log", _touch(log_path))
            store.add_event(run_id, f"started in warm worker {taken['pid']}")
            return store.get_run(run_id)
    # Detached, in its own session, reaped when it exits (supervisor.spawn)
    _, worker = supervisor.spawn(
        [sys.executable, "-m", "core.runs.worker", run_id, "--home", str(ws.root)],
        log_path,
        env=env,
        cwd=run_dir,
    )
    store.set_pid(run_id, worker.pid, worker.started_at)
    store.add_artifact(run_id, "log", log_path)
    return store.get_run(run_id)


def _touch(path: Path) -> Path:
    path.touch()
    return path


def wait(
    store: RunStore,
    run_id: str,
    poll_s: float = 0.5,
    on_update: Callable[[Run], None] | None = None,
    timeout_s: float | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> Run:
    """Block until the run is finalized, calling `on_update` on each progress change.

    `should_stop` (checked on every poll) returns the run early, not yet finalized: a parent
    job that was asked to stop stops waiting for its child.
    """
    from core.runs.recovery import reconcile

    start, last = time.time(), None
    while True:
        run = store.get_run(run_id)
        key = (run.status, run.phase, run.done, run.message)
        if on_update and key != last:
            on_update(run)
            last = key
        if run.status.is_finalized or (should_stop is not None and should_stop()):
            return run
        if timeout_s is not None and time.time() - start > timeout_s:
            raise TimeoutError(f"run {run_id} still {run.status.value} after {timeout_s:.0f} s")
        reconcile(store)
        time.sleep(poll_s)
