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
