"""Run status values and the transitions allowed between them."""

from __future__ import annotations

from enum import StrEnum


class RunStatus(StrEnum):
    PENDING = "PENDING"  # row written, worker process not yet started or not yet checked in
    RUNNING = "RUNNING"  # a worker claimed the run and heartbeats
    SUCCEEDED = "SUCCEEDED"  # the job returned; its result and artifacts are complete
    FAILED = "FAILED"  # the job raised; `error` says why, the log is kept
    CANCELED = "CANCELED"  # the user asked it to stop, and it stopped (or was stopped)
    LOST = "LOST"  # the worker vanished (killed, machine restart) without reporting an end

    @property
    def is_finalized(self) -> bool:
        return self in FINAL

    @property
    def is_active(self) -> bool:
        return not self.is_finalized


FINAL = frozenset({RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELED, RunStatus.LOST})

ALLOWED: dict[RunStatus, frozenset[RunStatus]] = {
    RunStatus.PENDING: frozenset(
        {RunStatus.RUNNING, RunStatus.FAILED, RunStatus.CANCELED, RunStatus.LOST}
    ),
    RunStatus.RUNNING: FINAL,
    RunStatus.SUCCEEDED: frozenset(),
    RunStatus.FAILED: frozenset(),
    RunStatus.CANCELED: frozenset(),
    RunStatus.LOST: frozenset(),
}

# A resumable job (see core.runs.handlers.RESUMABLE) interrupted in one of these states can be
# reopened: PENDING again, same id, same folder, the job picking up its own saved state.
RESUMABLE_FROM = frozenset({RunStatus.FAILED, RunStatus.CANCELED, RunStatus.LOST})


class InvalidTransition(RuntimeError):
    """A status change that the state machine forbids (for example SUCCEEDED -> RUNNING)."""
