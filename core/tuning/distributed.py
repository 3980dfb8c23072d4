"""Distributed search: KerasTuner's chief/worker mode on this machine. The chief runs the oracle
over gRPC and starts local workers (`core.tuning.remote`); more can join from other machines.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from core.errors import JobCanceled
from core.runs.reporter import NullReporter
from core.specs import TuneSpec
from core.tuning import trials as tr
from core.tuning.context import Context, prepare_context
from core.tuning.kt_ext import make_tuner, search_args, start_search
from core.tuning.records import mark_stopped, result_payload, retain, write_search
from core.util import KERASTUNER_ENV, free_port

ENV_KEYS = KERASTUNER_ENV


def run_chief(ctx: Context) -> dict[str, Any]:
    from concurrent import futures

    import grpc
    from keras_tuner.src import protos
    from keras_tuner.src.distribute import oracle_chief

    port = int(os.environ.get("TFSTUDIO_TUNE_PORT", "0")) or free_port()
    os.environ.update(
        KERASTUNER_ORACLE_IP="127.0.0.1",
        KERASTUNER_ORACLE_PORT=str(port),
        KERASTUNER_TUNER_ID="chief",
    )
    procs: list[subprocess.Popen] = []
    server = None
    try:
        tuner = start_search(ctx)
        oracle = tuner.oracle
        server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        servicer = oracle_chief.OracleServicer(oracle)
        protos.get_service_grpc().add_OracleServicer_to_server(servicer, server)
        bind = os.environ.get("TFSTUDIO_TUNE_BIND", "127.0.0.1")
        server.add_insecure_port(f"{bind}:{port}")
        server.start()
        search = tr.read_search(ctx.run_dir)
        search["chief"] = f"{socket.gethostname()}:{port}"
        tr.write_search(ctx.run_dir, search)
        ctx.reporter.event(
            f"{ctx.spec.tuner} search, distributed: chief oracle on port {port}, starting "
            f"{ctx.spec.workers} local worker(s) (tuner0..tuner{ctx.spec.workers - 1}); more "
            f"can join with `tfstudio tune-worker --chief HOST:{port} --run RUN_ID`"
        )
        shutil.rmtree(ctx.search_dir / "ready", ignore_errors=True)
        procs = [
            start_local_worker(ctx.run_dir, f"tuner{i}", port, ctx.spec.workers)
            for i in range(ctx.spec.workers)
        ]
        restarts = [0] * len(procs)
        while True:
            time.sleep(0.5)
            _restart_dead_workers(ctx, oracle, procs, restarts, port)
            if ctx.should_stop():
                stop_workers(procs)
                mark_stopped(ctx, "canceled by the user; this trial runs again on resume")
                write_search(ctx, tr.read_trials(ctx.run_dir), state="canceled")
                raise JobCanceled("canceled by the user; resume continues the search")
            if servicer.stop_triggered and oracle_chief.exit_chief(oracle):
                break
            codes = [p.poll() for p in procs]
            if all(c is not None for c in codes):
                if not oracle.ongoing_trials and not oracle._retry_queue:
                    break
                bad = [f"tuner{i} exited with {c}" for i, c in enumerate(codes) if c]
                raise RuntimeError(
                    "the tuning workers stopped before the search finished ("
                    + ", ".join(bad or ["all exited"])
                    + "): "
                    + _log_tail(ctx.run_dir / "search" / "tuner0.log")
                )
        stop_workers(procs, grace=30)
        retain(oracle, ctx, final=True)
        return result_payload(ctx)
    except BaseException:
        stop_workers(procs)
        raise
    finally:
        if server is not None:
            server.stop(0)
        for key in ENV_KEYS:
            os.environ.pop(key, None)


# A local worker killed by a signal (kill -9, the OOM killer) is started again this many times;
# KerasTuner hands the same trial to a tuner id that asks again, so only that trial repeats.
WORKER_RESTARTS = 2


def _restart_dead_workers(
    ctx: Context, oracle, procs: list, restarts: list[int], port: int
) -> None:
    for i, proc in enumerate(procs):
        code = proc.poll()
        if code is None or code >= 0:  # running, done, or failed on its own (reported below)
            continue
        tuner_id = f"tuner{i}"
        trial_id = oracle.requeue(tuner_id)  # another live worker may take it meanwhile
        if restarts[i] >= WORKER_RESTARTS:
            continue  # restarted enough: the loop's own checks decide
        # Also between trials: a worker killed by a signal has not seen the search end.
        restarts[i] += 1
        where = f"during trial {trial_id}" if trial_id else "between trials"
        ctx.reporter.event(
            f"worker {tuner_id} exited with {code} {where}; starting it again "
            f"({restarts[i]}/{WORKER_RESTARTS}): only a trial in flight runs again",
            "warning",
        )
        procs[i] = start_local_worker(ctx.run_dir, tuner_id, port)


def worker_command(run_dir: Path, chief: str, tuner_id: str, *extra: str) -> list[str]:
    """The command line of a worker (`core/tuning/remote.py`) of the search in `run_dir`."""
    return [sys.executable, "-m", "core.tuning.remote", "--run-dir", str(run_dir)] + [
        "--chief",
        chief,
        "--tuner-id",
        tuner_id,
        *extra,
    ]


def worker_env(base: dict[str, str]) -> dict[str, str]:
    """`base` with the repository on PYTHONPATH, so the worker finds `core` from any folder."""
    env = dict(base)
    repo_root = str(Path(__file__).resolve().parent.parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [repo_root, env.get("PYTHONPATH", "")]))
    return env


def start_local_worker(
    run_dir: Path, tuner_id: str, port: int, workers: int = 0
) -> subprocess.Popen:
    """One worker process: same search, trials from the chief on this machine."""
    env = worker_env({k: v for k, v in os.environ.items() if k not in ENV_KEYS})
    env.update(
        KERASTUNER_ORACLE_IP="127.0.0.1",
        KERASTUNER_ORACLE_PORT=str(port),
        KERASTUNER_TUNER_ID=tuner_id,
    )
    log = open(run_dir / "search" / f"{tuner_id}.log", "ab")  # noqa: SIM115 (the child keeps it)
    try:
        return subprocess.Popen(
            worker_command(
                run_dir,
                f"127.0.0.1:{port}",
                tuner_id,
                "--parent-pid",
                str(os.getpid()),
                "--wait-for",
                str(workers),
            ),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
    finally:
        log.close()


def stop_workers(procs: list[subprocess.Popen], grace: float = 5.0) -> None:
    for p in procs:
        if p.poll() is None:
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except OSError:
                p.terminate()
    deadline = time.time() + grace
    for p in procs:
        try:
            p.wait(timeout=max(0.1, deadline - time.time()))
        except subprocess.TimeoutExpired:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except OSError:
                p.kill()
            p.wait()


def _log_tail(path: Path, lines: int = 5) -> str:
    try:
        return " | ".join(path.read_text(errors="replace").strip().splitlines()[-lines:])[-1500:]
    except OSError:
        return "(no log)"


def run_worker(spec: TuneSpec, run_dir: Path, tuner_id: str, wait_for: int = 0) -> int:
    """A worker's search (KERASTUNER_* already set): trials come from the chief's oracle.

    `wait_for`: the local workers started together wait (up to 2 minutes) until all of them are
    ready, so a worker that imports TensorFlow faster does not take every trial of a small search.
    """
    ctx = prepare_context(
        spec, NullReporter(), run_dir, tuner_id, run_dir / "search" / f"data-{tuner_id}"
    )
    tuner = make_tuner(ctx)
    args, kwargs = search_args(ctx)
    if wait_for > 1:
        ready = run_dir / "search" / "ready"
        ready.mkdir(parents=True, exist_ok=True)
        (ready / tuner_id).touch()
        deadline = time.time() + 120
        while len(list(ready.iterdir())) < wait_for and time.time() < deadline:
            time.sleep(0.2)
    tuner.search(*args, **kwargs)
    return 0
