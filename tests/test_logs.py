"""One logging setup (core.logs): level from TFSTUDIO_LOG_LEVEL, one handler however often it
is called, and `core.*` diagnostics on stderr."""

from __future__ import annotations

import logging
import os
import subprocess
import sys

from core.logs import LEVEL_ENV, setup_logging
from tests.conftest import REPO


def _ours():
    return [h for h in logging.getLogger("core").handlers if getattr(h, "_tfstudio", False)]


def test_level_from_the_environment_and_one_handler(monkeypatch):
    monkeypatch.setenv(LEVEL_ENV, "debug")
    setup_logging()
    setup_logging()
    assert logging.getLogger("core").level == logging.DEBUG
    assert len(_ours()) == 1
    monkeypatch.setenv(LEVEL_ENV, "no-such-level")  # falls back to the default, no traceback
    setup_logging("ERROR")
    assert logging.getLogger("core").level == logging.ERROR
    assert len(_ours()) == 1


def test_a_core_warning_reaches_stderr_and_info_does_not_by_default():
    code = (
        "import logging; from core.logs import setup_logging; setup_logging();"
        "log = logging.getLogger('core.tuning.remote');"
        "log.info('quiet'); log.warning('chief %s unreachable', 'h:1')"
    )
    env = {k: v for k, v in os.environ.items() if k != LEVEL_ENV}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, env=env
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout == ""
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].endswith("WARNING core.tuning.remote: chief h:1 unreachable")
