"""Reporters: how an engine function tells the world about progress, metrics and artifacts.

Engine functions take a `Reporter` and never know where the reports go: `StoreReporter` writes
to the run store (inside a worker), `NullReporter` drops them (notebooks, tests), and
`PrintReporter` writes progress lines to stderr (a notebook that wants to watch).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Protocol

from core.errors import JobCanceled
from core.runs.store import RunStore


class Reporter(Protocol):
    def progress(self, phase: str, done: float, total: float, message: str = "") -> None: ...
    def metrics(self, step: int, values: dict[str, float]) -> None: ...
    def event(self, message: str, level: str = "info") -> None: ...
    def artifact(self, name: str, path: str | Path) -> None: ...
    def should_stop(self) -> bool: ...


def raise_if_canceled(reporter: Reporter) -> None:
    """Call at a safe boundary (between epochs, trials, stages)."""
    if reporter.should_stop():
        raise JobCanceled("canceled by the user")


class NullReporter:
    """Accepts every report and keeps the artifacts it was told about (for notebooks, tests)."""

    def __init__(self) -> None:
        self.artifacts: dict[str, str] = {}
        self.history: list[tuple[int, dict[str, float]]] = []

    def progress(self, phase: str, done: float, total: float, message: str = "") -> None:
        pass

    def metrics(self, step: int, values: dict[str, float]) -> None:
        self.history.append((step, dict(values)))

    def event(self, message: str, level: str = "info") -> None:
        pass

    def artifact(self, name: str, path: str | Path) -> None:
        self.artifacts[name] = str(path)

    def should_stop(self) -> bool:
        return False


class PrintReporter(NullReporter):
    def progress(self, phase: str, done: float, total: float, message: str = "") -> None:
        print(f"[{phase}] {done:g}/{total:g} {message}", file=sys.stderr)


class StoreReporter:
    """Writes every report to the run store; `should_stop` reads the run's cancel flag."""

    def __init__(self, store: RunStore, run_id: str) -> None:
        self.store = store
        self.run_id = run_id

    def progress(self, phase: str, done: float, total: float, message: str = "") -> None:
        self.store.set_progress(self.run_id, phase, done, total, message)

    def metrics(self, step: int, values: dict[str, float]) -> None:
        self.store.log_metrics(self.run_id, step, values)

    def event(self, message: str, level: str = "info") -> None:
        self.store.add_event(self.run_id, message, level)

    def artifact(self, name: str, path: str | Path) -> None:
        self.store.add_artifact(self.run_id, name, path)

    def should_stop(self) -> bool:
        return self.store.get_run(self.run_id).cancel_requested_at is not None
