"""Worker entry point: `python -m core.runs.worker RUN_ID --home DIR`.

Claims the run, heartbeats, runs the handler for the run's kind with a StoreReporter, and maps
the outcome to a final status in one place. A watchdog enforces cancellation: a job that has not
stopped within the grace period after a cancel request is marked CANCELED and the process exits.

The worker log gets a time stamp for each phase, counted from the submit (the click) and from
this process's start, so a slow start shows where it went (interpreter, TensorFlow import, data,
model, first epoch). The same code runs in a cold worker and in a warm one (core.runs.warm).
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
from core.runs.context import JobContext, call_handler
from core.runs.handlers import resolve_handler, uses_tensorflow
from core.runs.liveness import process_started_at
from core.runs.reporter import Reporter, StoreReporter
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


# CPU seconds a warm worker spent before it was given its job (importing TensorFlow while
# nobody waited); set by core.runs.warm, reported apart from the job's own CPU time.
PRELOAD_CPU_S = 0.0


def cpu_seconds() -> float:
    own, kids = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def job_resources() -> dict[str, float]:
    """What this worker process has cost so far: CPU seconds (user + system, this process and
    the children it waited for) and peak resident memory in MiB, from the kernel's accounting.
    A warm worker's import before the job is left out of `cpu_s` and given as `preload_cpu_s`."""
    own, kids = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    out = {
        "cpu_s": round(cpu_seconds() - PRELOAD_CPU_S, 3),
        "peak_rss_mib": round(max(own.ru_maxrss, kids.ru_maxrss) / 1024, 1),
    }
    if PRELOAD_CPU_S:
        out["preload_cpu_s"] = round(PRELOAD_CPU_S, 3)
    return out


class Clock:
    """Prints time-stamped lines to the worker log, in seconds since the submit (the click):
    the first line's figure is the interpreter's start-up (or a warm worker's hand-over)."""

    def __init__(self, submitted_at: float) -> None:
        self.submitted_at = submitted_at

    def stamp(self, text: str) -> None:
        print(f"[{time.time() - self.submitted_at:7.2f} s since submit] {text}", flush=True)


class LoggedReporter(StoreReporter):
    """A StoreReporter that also stamps each new phase or message into the worker log."""

    def __init__(self, store: RunStore, run_id: str, clock: Clock) -> None:
        super().__init__(store, run_id)
        self.clock = clock
        self._last: tuple[str, str] | None = None

    def progress(self, phase: str, done: float, total: float, message: str = "") -> None:
        super().progress(phase, done, total, message)
        if (phase, message) != self._last:
            self._last = (phase, message)
            self.clock.stamp(f"{phase}: {message}" if message else phase)


def import_tensorflow(reporter: Reporter, clock: Clock) -> None:
    """Import TensorFlow under its own phase, so the page says what the first seconds are."""
    if "tensorflow" in sys.modules:
        clock.stamp("TensorFlow already imported (warm worker)")
        return
    reporter.progress("starting TensorFlow", 0, 0, "importing TensorFlow")
    import tensorflow  # noqa: F401  (the job's own imports then find it loaded)

    clock.stamp("TensorFlow imported")


def run_job(ws: Workspace, run_id: str) -> RunStatus:
    store = RunStore(ws.db_path)
    run = store.get_run(run_id)
    clock = Clock(run.created_at)
    clock.stamp(f"worker {os.getpid()} claims run {run_id} ({run.kind})")
    store.set_pid(run_id, os.getpid(), process_started_at(os.getpid()))
    store.set_status(run_id, RunStatus.RUNNING)
    print(f"worker {os.getpid()} running {run.kind} run {run_id}", flush=True)
    done = threading.Event()
    threading.Thread(target=_watchdog, args=(store, run_id, done), daemon=True).start()
    reporter = LoggedReporter(store, run_id, clock)
    try:
        if uses_tensorflow(run.kind):
            import_tensorflow(reporter, clock)
        handler = resolve_handler(run.kind)
        spec = spec_from_dict(run.kind, run.spec) if run.kind in SPEC_TYPES else run.spec
        context = JobContext(ws, run_id, ws.run_dir(run_id))
        result = call_handler(handler, spec, reporter, context)
        done.set()
        store.finish_run(run_id, {**(result or {}), "resources": job_resources()})
        clock.stamp("finished")
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
    env = dict(os.environ)  # before the job: a job may set variables (TF_CONFIG, tfmot's)
    try:
        status = run_job(ws, args.run_id)
    except InvalidTransition as exc:  # e.g. canceled before the worker started
        print(f"worker: {exc}", file=sys.stderr)
        return 1
    finally:
        _replenish(ws, env)
    print(f"worker finished: {status.value}", flush=True)
    return 0 if status is RunStatus.SUCCEEDED else 1


def _replenish(ws: Workspace, env: dict[str, str]) -> None:
    """After a job, start the next warm worker (when the pool is on and nothing else runs)."""
    from core.runs import warm

    if not warm.wanted(env, ws.root):
        return
    try:
        started = warm.ensure(ws.root, env, RunStore(ws.db_path))
    except Exception as exc:  # the job's outcome is recorded; a missing warm worker is not fatal
        print(f"worker: could not start a warm worker: {exc}", file=sys.stderr)
        return
    if started:
        print(f"worker: started {started} warm worker(s) for the next job", flush=True)


if __name__ == "__main__":
    sys.exit(main())
