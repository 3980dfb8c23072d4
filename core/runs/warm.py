"""Warm workers: pre-started worker processes with TensorFlow already imported.

A cold job spends its first seconds importing TensorFlow (see benchmarks/README.md for the
figures on this machine). A warm worker pays that before the click: `python -m core.runs.warm`
imports the heavy third-party modules, announces itself in `<workspace>/warm/`, and waits for a
run id. The launcher claims it (an atomic rename, so two launchers never get the same one),
hands over the run id and the submitter's environment, and the warm worker then runs
`core.runs.worker.run_job` exactly as a cold worker would: same pid bookkeeping, heartbeat,
cancel watchdog, and reconcile (a warm worker that dies holding a run leaves it LOST).

One job per process life: after its job the process exits, so a crash or a forced cancel loses
that one job and nothing else, and no state leaks from one job into the next (tfmot flips
`TF_USE_LEGACY_KERAS` for its process, a job may set a global Keras policy). A replacement is
started when the machine is idle (`ensure`): never while a run is active, so it never competes
with a training for the CPU.

Files in `<workspace>/warm/`, one set per worker token T:
  T.starting  written by the spawner (pid, start time) while the worker imports TensorFlow
  T.ready     the worker is waiting; its JSON also holds the environment fingerprint
  T.claimed   a launcher took it (renamed from T.ready); T.job then carries the run id
Only third-party modules are preloaded, never `core.*`, so an idle worker never runs stale
project code after an edit; it also retires after `TFSTUDIO_WARM_IDLE_S` seconds idle.

Off unless asked for: `tfstudio app` keeps one ready (`TFSTUDIO_WARM_WORKERS=1` in its
environment), `tfstudio warm --count N` keeps N for a workspace used from the command line;
tests and notebooks do not pay for an idle TensorFlow process.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import json
import os
import sys
import time
import uuid
from pathlib import Path

ENV_COUNT = "TFSTUDIO_WARM_WORKERS"
ENV_IDLE = "TFSTUDIO_WARM_IDLE_S"
ENV_PRELOAD = "TFSTUDIO_WARM_PRELOAD"
DEFAULT_PRELOAD = "numpy,pandas,tensorflow,keras"
DEFAULT_IDLE_S = 1200.0
POLL_S = 0.05
# A claimed worker that gets no run id within this long (its claimer died) exits.
HANDOFF_TIMEOUT_S = 30.0
# A spawned worker that never announced itself within this long is treated as dead.
STARTING_TIMEOUT_S = 600.0
# Environment variables read when TensorFlow or Python starts: a warm worker that started under
# different values cannot honour them, so a launcher only claims one whose values match.
IMPORT_TIME_PREFIXES = ("TF_", "CUDA_", "KERAS_", "XLA_", "OMP_", "MKL_", "LD_", "PYTHON")
IMPORT_TIME_KEYS = (ENV_PRELOAD,)


def pool_dir(root: Path) -> Path:
    return Path(root) / "warm"


def wanted(env: dict[str, str] | None = None, root: Path | None = None) -> int:
    """How many warm workers to keep ready: `TFSTUDIO_WARM_WORKERS` when set (the app sets 1),
    else the workspace's own setting (`tfstudio warm --count N`), else 0."""
    value = (env if env is not None else os.environ).get(ENV_COUNT)
    if value is None and root is not None:
        value = str((_read_json(pool_dir(root) / "pool.json") or {}).get("count", 0))
    try:
        return max(0, int(value or 0))
    except ValueError:
        return 0


def set_pool_size(root: Path, count: int) -> None:
    """Remember how many warm workers this workspace keeps (every worker's end tops it up)."""
    pool_dir(root).mkdir(parents=True, exist_ok=True)
    _write_json(pool_dir(root) / "pool.json", {"count": int(count)})


def fingerprint(env: dict[str, str]) -> str:
    """A digest of what a process fixes when it starts: interpreter and import-time variables."""
    keys = sorted(k for k in env if k.startswith(IMPORT_TIME_PREFIXES) or k in IMPORT_TIME_KEYS)
    text = json.dumps([sys.executable, [(k, env[k]) for k in keys]])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _write_json(path: Path, data: dict) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:6]}.tmp")
    tmp.write_text(json.dumps(data))
    os.replace(tmp, path)


def _read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


@contextlib.contextmanager
def _pool_lock(root: Path):
    folder = pool_dir(root)
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield folder
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _alive(info: dict | None) -> bool:
    from core.runs.liveness import is_alive

    if not info:
        return False
    return is_alive(info.get("pid"), info.get("started_at"))


def _prune(folder: Path) -> dict[str, list[dict]]:
    """Drop the files of dead workers; returns the live ones by state."""
    live: dict[str, list[dict]] = {"starting": [], "ready": []}
    now = time.time()
    for state in live:
        for path in folder.glob(f"*.{state}"):
            info = _read_json(path)
            stale = (
                state == "starting"
                and info
                and now - info.get("spawned_at", now) > (STARTING_TIMEOUT_S)
            )
            if _alive(info) and not stale:
                live[state].append({**(info or {}), "token": path.stem})
            else:
                path.unlink(missing_ok=True)
    # Leftovers of workers that are gone: hand-over files after an hour, logs after a day
    # (a worker that crashed while importing explains itself there).
    for pattern, age_s in (("*.claimed", 3600), ("*.retired", 3600), ("*.job", 3600)):
        for path in folder.glob(pattern):
            with contextlib.suppress(OSError):
                if now - path.stat().st_mtime > age_s:
                    path.unlink()
    for path in folder.glob("*.log"):
        with contextlib.suppress(OSError):
            if now - path.stat().st_mtime > 86400:
                path.unlink()
    return live


def status(root: Path) -> dict[str, int]:
    """How many warm workers are starting and ready (dead ones are cleaned up on the way)."""
    folder = pool_dir(root)
    if not folder.exists():
        return {"starting": 0, "ready": 0}
    with _pool_lock(root) as folder:
        live = _prune(folder)
    return {k: len(v) for k, v in live.items()}


def spawn(root: Path, env: dict[str, str]) -> int:
    """Start one warm worker for the workspace at `root` with `env`; returns its pid."""
    from core.runs.supervisor import spawn as spawn_detached

    folder = pool_dir(root)
    folder.mkdir(parents=True, exist_ok=True)
    token = uuid.uuid4().hex[:12]
    # Detached, in its own session, reaped when it exits (supervisor.spawn)
    _, worker = spawn_detached(
        [sys.executable, "-m", "core.runs.warm", "--home", str(root), "--token", token],
        folder / f"{token}.log",
        env=env,
        cwd=folder,
    )
    _write_json(
        folder / f"{token}.starting",
        {"pid": worker.pid, "started_at": worker.started_at, "spawned_at": time.time()},
    )
    return worker.pid


def ensure(root: Path, env: dict[str, str], store=None) -> int:
    """Top the pool up to `wanted(env)` workers; returns how many it started.

    Nothing starts while a run of this workspace is active (when `store` is given): importing
    TensorFlow takes a core for seconds, which a running job would feel.
    """
    target = wanted(env, root)
    if target == 0:
        return 0
    if store is not None:
        from core.runs.status import RunStatus

        if store.list_runs(statuses={RunStatus.PENDING, RunStatus.RUNNING}, limit=1):
            return 0
    started = 0
    with _pool_lock(root) as folder:
        live = _prune(folder)
        mine = fingerprint(env)
        # Ready workers of another environment cannot serve this one: retire them.
        for info in live["ready"]:
            if info.get("fingerprint") != mine:
                _retire(folder, info)
        count = len(live["starting"]) + sum(
            1 for info in live["ready"] if info.get("fingerprint") == mine
        )
        for _ in range(target - count):
            spawn(root, env)
            started += 1
    return started


def _retire(folder: Path, info: dict) -> None:
    """Take a ready worker out of the pool; it notices its file is gone and exits."""
    with contextlib.suppress(FileNotFoundError):
        os.replace(folder / f"{info['token']}.ready", folder / f"{info['token']}.retired")


def shutdown(root: Path) -> int:
    """Retire every ready worker of the workspace (busy ones finish their job); returns how many."""
    folder = pool_dir(root)
    if not folder.exists():
        return 0
    with _pool_lock(root) as folder:
        live = _prune(folder)
        for info in live["ready"]:
            _retire(folder, info)
    return len(live["ready"])


def claim(root: Path, run_id: str, env: dict[str, str]) -> dict | None:
    """Hand `run_id` to a ready warm worker whose environment matches `env`.

    Returns the worker's `{"pid", "started_at", ...}`, or None when none is ready (the caller
    then starts a cold worker). The run's environment travels with it, so the job sees the
    submitter's variables exactly as a cold worker would.
    """
    folder = pool_dir(root)
    if not folder.exists():
        return None
    mine = fingerprint(env)
    for path in sorted(folder.glob("*.ready")):
        info = _read_json(path)
        if not info or info.get("fingerprint") != mine or not _alive(info):
            continue
        claimed = path.with_suffix(".claimed")
        try:
            os.replace(path, claimed)  # atomic: exactly one claimer wins
        except FileNotFoundError:
            continue  # another launcher took it, or it retired
        _write_json(path.with_suffix(".job"), {"run_id": run_id, "env": env, "at": time.time()})
        return info
    return None


# -- the warm worker process -------------------------------------------------------------------
def _stamp(t0: float, text: str) -> None:
    print(f"[warm +{time.time() - t0:6.2f} s] {text}", flush=True)


def _wait_for_job(folder: Path, token: str, idle_s: float) -> dict | None:
    ready, job = folder / f"{token}.ready", folder / f"{token}.job"
    idle_until = time.time() + idle_s
    claimed_at = None
    while True:
        if job.exists():
            data = _read_json(job)
            if data is not None:
                job.unlink(missing_ok=True)
                (folder / f"{token}.claimed").unlink(missing_ok=True)
                return data
        elif not ready.exists():
            # Claimed (the run id follows at once) or retired (then exit).
            if not (folder / f"{token}.claimed").exists():
                return None
            claimed_at = claimed_at or time.time()
            if time.time() - claimed_at > HANDOFF_TIMEOUT_S:
                return None
        elif time.time() > idle_until:
            with contextlib.suppress(FileNotFoundError):
                os.replace(ready, folder / f"{token}.retired")
                return None  # retired ourselves; a claim that won the race is served above
        time.sleep(POLL_S)


def serve(root: Path, token: str) -> int:
    """The warm worker's life: preload, announce, wait, run one job, exit."""
    import importlib

    from core.runs.liveness import process_started_at

    t0 = process_started_at(os.getpid()) or time.time()
    folder = pool_dir(root)
    _stamp(t0, f"warm worker {os.getpid()} started")
    for name in filter(None, os.environ.get(ENV_PRELOAD, DEFAULT_PRELOAD).split(",")):
        importlib.import_module(name.strip())
        _stamp(t0, f"imported {name.strip()}")
    starting = folder / f"{token}.starting"
    info = _read_json(starting) or {}
    info.update(
        pid=os.getpid(),
        started_at=process_started_at(os.getpid()),
        fingerprint=fingerprint(dict(os.environ)),
        ready_at=time.time(),
    )
    _write_json(folder / f"{token}.ready", info)
    starting.unlink(missing_ok=True)
    idle_s = float(os.environ.get(ENV_IDLE, DEFAULT_IDLE_S))
    _stamp(t0, f"ready (retires after {idle_s:.0f} s idle)")
    job = _wait_for_job(folder, token, idle_s)
    if job is None:
        _stamp(t0, "retired without a job")
        (folder / f"{token}.retired").unlink(missing_ok=True)
        (folder / f"{token}.log").unlink(missing_ok=True)
        return 0
    return _run(root, folder, token, job, t0)


def _run(root: Path, folder: Path, token: str, job: dict, t0: float) -> int:
    run_id = job["run_id"]
    # From here on this process is the run's worker: its environment, its folder, its log.
    os.environ.clear()
    os.environ.update(job["env"])
    from core.workspace import Workspace

    ws = Workspace.resolve(root)
    run_dir = ws.run_dir(run_id)
    run_dir.mkdir(parents=True, exist_ok=True)
    _stamp(t0, f"took run {run_id} ({time.time() - job['at']:.2f} s after the hand-over)")
    with open(run_dir / "worker.log", "ab") as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
    (folder / f"{token}.log").unlink(missing_ok=True)
    os.chdir(run_dir)
    print(
        f"warm worker {os.getpid()}: TensorFlow was imported before the job "
        f"({job['at'] - t0:.1f} s after this process started)",
        flush=True,
    )
    from core.runs import worker

    worker.PRELOAD_CPU_S = worker.cpu_seconds()
    return worker.main([run_id, "--home", str(ws.root)])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m core.runs.warm")
    parser.add_argument("--home", required=True)
    parser.add_argument("--token", required=True)
    args = parser.parse_args(argv)
    return serve(Path(args.home), args.token)


if __name__ == "__main__":
    sys.exit(main())
