"""Fake job handlers that exercise the job system without TensorFlow.

Each takes (spec, reporter, run_dir) like a real handler; `spec` is the plain dict it was given.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from core.errors import BadInput
from core.runs.reporter import raise_if_canceled


def _param(spec, name: str, default):
    """Fake jobs take plain dicts, or real specs (a `train` run) that lack their fields."""
    return spec.get(name, default) if isinstance(spec, dict) else getattr(spec, name, default)


def succeed(spec, reporter, run_dir: Path):
    steps = int(_param(spec, "steps", 3))
    for step in range(1, steps + 1):
        reporter.metrics(step, {"loss": 1.0 / step, "val_loss": 1.5 / step})
        reporter.progress("training", step, steps, f"epoch {step}/{steps}")
        time.sleep(float(_param(spec, "sleep", 0.05)))
    out = run_dir / "result.txt"
    out.write_text("done")
    reporter.artifact("result.txt", out)
    return {"metrics": {"val_loss": 1.5 / steps}}


def fail(spec, reporter, run_dir: Path):
    reporter.progress("training", 1, 2, "about to fail")
    raise ValueError("the fake job failed on purpose")


def bad_input(spec, reporter, run_dir: Path):
    raise BadInput("column 'x' does not exist")


def slow(spec, reporter, run_dir: Path):
    """Runs for a long time but checks for cancellation at each 'epoch'."""
    for step in range(1, 10_000):
        reporter.progress("training", step, 10_000, f"epoch {step}")
        raise_if_canceled(reporter)
        time.sleep(0.1)
    return {}


def stubborn(spec, reporter, run_dir: Path):
    """Never checks for cancellation: only the watchdog's forced stop ends it."""
    reporter.progress("training", 0, 1, "not listening")
    time.sleep(600)
    return {}


def counter(spec, reporter, run_dir: Path):
    """A resumable job: counts to `steps`, saving its count after each step in the run folder,
    and picks up from the saved count when resumed."""
    state = run_dir / "count.txt"
    start = int(state.read_text()) if state.exists() else 0
    steps = int(_param(spec, "steps", 40))
    for step in range(start + 1, steps + 1):
        time.sleep(float(_param(spec, "sleep", 0.1)))
        tmp = state.with_suffix(".tmp")  # atomic, as real resumable jobs save their state:
        tmp.write_text(str(step))  # a reader (or a SIGKILL) never sees an empty file
        os.replace(tmp, state)
        reporter.progress("counting", step, steps, f"step {step}")
        raise_if_canceled(reporter)
    return {"started_from": start, "count": steps}


def where(spec, reporter, run_dir: Path, context=None):
    """Says what context the worker handed it (core.runs.context.JobContext)."""
    return {
        "workspace": str(context.ws.root) if context else None,
        "run_id": context.run_id if context else None,
        "same_dir": context is not None and context.run_dir == run_dir,
    }
