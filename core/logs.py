"""The one logging setup: diagnostics from core/ go to stderr through `logging`.

Modules take `log = logging.getLogger(__name__)` and never configure handlers; each process entry
point (the CLI, a remote tuner worker) calls `setup_logging()` once. What a command prints for
people (results on stdout, progress and `error:` lines on stderr) stays `print`: it is output,
not diagnostics. TFSTUDIO_LOG_LEVEL (DEBUG, INFO, WARNING...) sets the level; WARNING by default.
"""

from __future__ import annotations

import logging
import os
import sys

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
LEVEL_ENV = "TFSTUDIO_LOG_LEVEL"


def setup_logging(default: str = "WARNING") -> None:
    """Send the `core` loggers to stderr at TFSTUDIO_LOG_LEVEL (or `default`). Idempotent."""
    name = (os.environ.get(LEVEL_ENV) or default).upper()
    level = logging.getLevelName(name)
    if not isinstance(level, int):  # an unknown name: the default rather than a traceback
        level = logging.getLevelName(default.upper())
    root = logging.getLogger("core")
    root.setLevel(level)
    if not any(getattr(h, "_tfstudio", False) for h in root.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter(FORMAT))
        handler._tfstudio = True  # type: ignore[attr-defined]
        root.addHandler(handler)
