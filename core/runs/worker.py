"""Worker entry point: `python -m core.runs.worker RUN_ID --home DIR`.

Claims the run, heartbeats, runs the handler for the run's kind with a StoreReporter, and maps
the outcome to a final status in one place. A watchdog enforces cancellation: a job that has not
stopped within the grace period after a cancel request is marked CANCELED and the process exits.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import threading
import time
import traceback

from core.errors import BadInput, JobCanceled
from core.runs.handlers import resolve_handler
from core.runs.liveness import process_started_at
from core.runs.reporter import StoreReporter
from core.runs.status import InvalidTransition, RunStatus
from core.runs.store import RunStore
from core.specs import SPEC_TYPES, spec_from_dict
from core.workspace import Workspace

HEARTBEAT_S = float(os.environ.get("TFSTUDIO_HEARTBEAT_S", "2"))
CANCEL_GRACE_S = float(os.environ.get("TFSTUDIO_CANCEL_GRACE_S", "30"))


def _watchdog(store: RunStore, run_id: str, done: threading.Event) -> None:
    while not done.wait(HEARTBEAT_S):
        try:
            store.heartbeat(run_id)
            run = store.get_run(run_id)
        except Exception:  # a locked or briefly unavailable store must not kill the job
            continue
        asked = run.cancel_requested_at
        if asked is not None and time.time() - asked > CANCEL_GRACE_S and not done.is_set():
            try:
                store.fail_run(
                    run_id,
                    f"forced stop: the job did not stop within {CANCEL_GRACE_S:.0f} s of the "
                    "cancel request",
                    status=RunStatus.CANCELED,
                )
            except InvalidTransition:
                return
            print("watchdog: forced stop after cancel grace period", flush=True)
            os._exit(3)


def describe_failure(exc: BaseException) -> str:
    """One line for the run's error; out-of-memory says what to change (TF is not imported here,
    so its error classes are recognised by name)."""
    name = type(exc).__name__
    if (
        name == "ResourceExhaustedError"
        or "out of memory" in str(exc).lower()
        or isinstance(exc, MemoryError)
    ):
        return (
            "out of memory: try a smaller batch size, a smaller image size or window, or a "
            "smaller model"
        )
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{name}: {first}"[:2000]


def job_resources() -> dict[str, float]:
    """What this worker process has cost so far: CPU seconds (user + system, this process and
    the children it waited for) and peak resident memory in MiB, from the kernel's accounting."""
    own, kids = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return {
        "cpu_s": round(own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime, 3),
        "peak_rss_mib": round(max(own.ru_maxrss, kids.ru_maxrss) / 1024, 1),
    }


def run_job(ws: Workspace, run_id: str) -> RunStatus:
    store = RunStore(ws.db_path)
    run = store.get_run(run_id)
    store.set_pid(run_id, os.getpid(), process_started_at(os.getpid()))
    store.set_status(run_id, RunStatus.RUNNING)
    print(f"worker {os.getpid()} running {run.kind} run {run_id}", flush=True)
    done = threading.Event()
    threading.Thread(target=_watchdog, args=(store, run_id, done), daemon=True).start()
    reporter = StoreReporter(store, run_id)
    try:
        handler = resolve_handler(run.kind)
        spec = spec_from_dict(run.kind, run.spec) if run.kind in SPEC_TYPES else run.spec
        result = handler(spec, reporter, ws.run_dir(run_id))
        done.set()
        store.finish_run(run_id, {**(result or {}), "resources": job_resources()})
        return RunStatus.SUCCEEDED
    except JobCanceled as exc:
        done.set()
        store.fail_run(run_id, str(exc), status=RunStatus.CANCELED)
        return RunStatus.CANCELED
    except BadInput as exc:
        done.set()
        store.fail_run(run_id, str(exc))
        return RunStatus.FAILED
    except Exception as exc:
        done.set()
        traceback.print_exc()
        store.fail_run(run_id, describe_failure(exc))
        return RunStatus.FAILED


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m core.runs.worker")
    parser.add_argument("run_id")
    parser.add_argument("--home")
    args = parser.parse_args(argv)
    ws = Workspace.resolve(args.home)
    try:
        status = run_job(ws, args.run_id)
    except InvalidTransition as exc:  # e.g. canceled before the worker started
        print(f"worker: {exc}", file=sys.stderr)
        return 1
    print(f"worker finished: {status.value}", flush=True)
    return 0 if status is RunStatus.SUCCEEDED else 1


if __name__ == "__main__":
    sys.exit(main())
