"""What a job handler is given besides its spec: the workspace it runs in, its store and run.

The worker builds one per run and passes it as `context=` to handlers that take it, so a job
never has to find its workspace through the environment; a handler called directly (tests, a
notebook, `core.training.multiworker`) gets None and falls back to `Workspace.resolve()`.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.workspace import Workspace


@dataclass(frozen=True)
class JobContext:
    ws: Workspace
    run_id: str
    run_dir: Path


def workspace_of(context: JobContext | None) -> Workspace:
    """The job's workspace: its context's, else the one the environment names."""
    return context.ws if context is not None else Workspace.resolve()


def call_handler(handler, spec: Any, reporter, context: JobContext) -> Any:
    """`handler(spec, reporter, run_dir)`, with `context=` when the handler takes it (plug-in
    and test handlers keep the three-argument form)."""
    try:
        takes = "context" in inspect.signature(handler).parameters
    except (TypeError, ValueError):  # a builtin or C callable: no signature to read
        takes = False
    if takes:
        return handler(spec, reporter, context.run_dir, context=context)
    return handler(spec, reporter, context.run_dir)
