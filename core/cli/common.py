"""What every `tfstudio` command shares: the parser class, output, workspace and run reporting.

Command modules (`core/cli/cmd_*.py`, each with `register(sub, common)`) import from here, so a
new command family is a new file, found by `core.cli.main` without editing it.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from core.runs import launcher
from core.runs.liveness import live_workers
from core.runs.status import RunStatus
from core.runs.store import Run, RunStore
from core.workspace import Workspace

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2


class CliParser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, exit 2, as for any other bad input
        print(f"error: {message} (see {self.prog} --help)", file=sys.stderr)
        sys.exit(EXIT_BAD_INPUT)


def emit(args: argparse.Namespace, payload: dict[str, Any], text: str) -> None:
    if args.json:
        print(json.dumps(payload, indent=2, default=str))
    else:
        print(text)


def progress(run: Run) -> None:
    total = f" {run.done:g}/{run.total:g}" if run.total else ""
    print(
        f"[{run.status.value.lower()}] {run.phase}{total} {run.message}".rstrip(),
        file=sys.stderr,
        flush=True,
    )


def open_workspace(args: argparse.Namespace) -> tuple[Workspace, RunStore]:
    ws = Workspace.resolve(args.home)
    return ws, RunStore(ws.db_path)


def run_payload(store: RunStore, run: Run) -> dict[str, Any]:
    result = run.result or {}
    return {
        "run_id": run.id,
        "kind": run.kind,
        "status": run.status.value,
        "error": run.error,
        "spec": run.spec,
        "progress": {
            "phase": run.phase,
            "done": run.done,
            "total": run.total,
            "message": run.message,
        },
        "metrics": result.get("metrics", {}),
        "test_metrics": result.get("test_metrics", {}),
        "result": result,
        "artifacts": {n: a.path for n, a in store.get_artifacts(run.id).items()},
        "created_at": run.created_at,
        "finished_at": run.finished_at,
        # where the worker runs, and every live process of the run (empty once it ended)
        "pid": run.pid,
        "host": run.host,
        "workers": live_workers(run.pid, run.pid_started_at, run.host),
        "parent_id": run.parent_id,
        "role": run.role,
    }


def watch(store: RunStore, run: Run, label: str = "run") -> Run:
    """Wait for a run with progress on stderr; Ctrl-C asks it to stop and waits for that."""
    print(f"{label} {run.id} started (worker pid {run.pid})", file=sys.stderr)
    try:
        return launcher.wait(store, run.id, on_update=progress)
    except KeyboardInterrupt:
        store.request_cancel(run.id)
        print(f"cancel requested for {run.id}; waiting for it to stop", file=sys.stderr)
        return launcher.wait(store, run.id, on_update=progress)


def data_arg(data: str) -> str:
    """A data argument as workers need it: an existing path made absolute (workers run in their
    run folder); `sample:NAME` and dataset ids unchanged."""
    from pathlib import Path

    if not data.startswith("sample:") and Path(data).expanduser().exists():
        return str(Path(data).expanduser().resolve())
    return data


def warn(warnings) -> None:
    """A precheck's warnings, one `warning:` line each on stderr (stdout stays the result)."""
    for w in warnings:
        print(f"warning: {w}", file=sys.stderr)


def launch(args, ws: Workspace, store: RunStore, spec, name: str, payload=None) -> Run | None:
    """Submit a run. With --detach print its id (its payload with --json; `payload(run)` or the
    run's) and return None: the caller is done; else the run, to watch."""
    run = launcher.submit(ws, store, spec, name=name)
    if not args.detach:
        return run
    emit(args, (payload or (lambda r: run_payload(store, r)))(run), run.id)
    return None


def watch_result(args, store: RunStore, run: Run, error_line: bool = False) -> dict | None:
    """Watch a run to its end. Succeeded: its result with `run_id` and `status`, for the caller
    to print; else None once its payload (--json) or `ID STATUS: error` is printed
    (`error_line`: also an `error:` line on stderr)."""
    run = watch(store, run)
    if run.status is RunStatus.SUCCEEDED:
        return {"run_id": run.id, "status": run.status.value, **(run.result or {})}
    if error_line:
        print(f"error: {run.error}", file=sys.stderr)
    emit(args, run_payload(store, run), f"{run.id} {run.status.value}: {run.error}")
    return None


def _exit(run: Run) -> int:
    return EXIT_OK if run.status is RunStatus.SUCCEEDED else EXIT_FAILED


def wait_and_report(args, store: RunStore, run: Run, extra=None) -> int:
    """Watch a run and print its test metrics (`extra`: more keys for --json)."""
    run = watch(store, run)
    payload = {**run_payload(store, run), **(extra or {})}
    metrics = ", ".join(
        f"{k} {v:.4g}" for k, v in payload["test_metrics"].items() if isinstance(v, (int, float))
    )
    text = f"{run.id} {run.status.value} {metrics}{run.error or ''}".strip()
    emit(args, payload, text + baselines_text(payload["result"]))
    return _exit(run)


def baselines_text(result: dict) -> str:
    """The run's comparison with the simple baselines, as lines for a terminal ('' if none)."""
    comparison = result.get("baselines") or {}
    lines = []
    if comparison.get("chance_warning"):
        lines.append(f"warning: {comparison['chance_warning']}")
    if comparison.get("sentence"):
        lines.append(f"baselines: {comparison['sentence']}")
    return "".join("\n" + line for line in lines)


def submit_and_watch(args, ws: Workspace, store: RunStore, spec, name: str, payload, text) -> int:
    """Submit a run; with --detach print its id at once, else watch it and print `text(run,
    payload)` (or the payload with --json). `payload(run)` builds what --json prints."""
    run = launch(args, ws, store, spec, name, payload)
    if run is None:
        return EXIT_OK
    run = watch(store, run)
    body = payload(run)
    emit(args, body, (text(run, body) + (f" {run.error}" if run.error else "")).strip())
    return _exit(run)


def search_payload(ws: Workspace, store: RunStore, run: Run, summaries: bool) -> dict[str, Any]:
    """A search run's payload with its best trial and its trials. A failed or canceled search
    has no result, but its trial records are still on disk (`summaries`: short rows)."""
    payload = run_payload(store, run)
    result = run.result or {}
    payload["best"] = result.get("best")
    payload["trials"] = result.get("trials", [])
    if not payload["trials"] and ws.run_dir(run.id).exists():
        from core.tuning.trials import read_trials, summary

        trials = read_trials(ws.run_dir(run.id))
        payload["trials"] = [summary(t) for t in trials] if summaries else trials
    return payload
