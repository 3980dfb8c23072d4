"""Errors that decide how a failure is reported.

`BadInput` means the user gave something we cannot use: the CLI exits 2 with one line, a page
shows the message, and no run is created. Anything else raised inside a job marks the run FAILED.
"""

from __future__ import annotations


class TFStudioError(Exception):
    """Base class for errors the engine raises on purpose."""


class BadInput(TFStudioError):
    """The input (file, column, option) cannot be used; the message says why and what to do."""


class JobCanceled(TFStudioError):
    """Raised inside a job when the user asked it to stop; the run ends CANCELED."""


class NotFound(TFStudioError):
    """A run, dataset or artifact that was asked for does not exist."""


class StoreDamaged(BadInput):
    """The run store file is not a readable SQLite database (overwritten, truncated).

    `finding` says what is wrong without the remedy, so each front end offers its own: the
    CLI's message names `tfstudio doctor --repair`, the app shows a Repair button instead.
    """

    def __init__(self, message: str, finding: str | None = None) -> None:
        super().__init__(message)
        self.finding = finding or message


class WorkspaceReadOnly(BadInput):
    """The workspace cannot be written: it can be listed and shown, not changed."""


class DiskFull(BadInput):
    """A write failed for lack of space; nothing half-written was kept."""


# errno values that name a storage fault the user can fix (not a bug): read-only, full, quota.
STORAGE_ERRNOS = {30: "read-only", 28: "full", 122: "full"}


def storage_fault(exc: OSError) -> BadInput | None:
    """The named fault behind an OSError (read-only file system, disk full), as one clear
    message; None for any other OSError."""
    kind = STORAGE_ERRNOS.get(exc.errno or 0)
    where = exc.filename or "the workspace"
    if kind == "read-only":
        return WorkspaceReadOnly(
            f"cannot write {where}: the file system is read-only; runs and datasets can still "
            "be listed and shown — make the workspace writable or choose another with --home"
        )
    if kind == "full":
        return DiskFull(
            f"cannot write {where}: the disk is full; nothing half-written was kept — free "
            "some space and try again"
        )
    return None
