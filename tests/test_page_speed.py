"""Pages draw first and import later: the app imports the pages' modules in the background after
its first page, never TensorFlow; the training split's scikit-learn import waits for its use."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import REPO

CHILD = r"""
import sys, threading
from streamlit.testing.v1 import AppTest
from tests.test_pages import TF_MODULES
import core.training.split  # what the Train page imports: no scikit-learn yet
assert "sklearn" not in sys.modules, "core.training.split imports scikit-learn at import time"
at = AppTest.from_file("dashboard/app.py", default_timeout=60)
at.run()
assert not at.exception, at.exception
(thread,) = [t for t in threading.enumerate() if t.name == "tfstudio-preload"]
thread.join(120)
from dashboard.preload import page_imports
missing = [m for m in page_imports() if m not in sys.modules]
assert not missing, missing
assert "sklearn" in sys.modules  # the Train page's pre-check, ready before its first visit
loaded = [m for m in TF_MODULES if m in sys.modules]
assert not loaded, loaded
at.run()
assert len([t for t in threading.enumerate() if t.name == "tfstudio-preload"]) == 0  # once
print("ok")
"""


def test_app_preloads_page_modules_once_and_never_tensorflow(ws):
    out = subprocess.run(
        [sys.executable, "-c", CHILD], capture_output=True, text=True, cwd=REPO, timeout=300
    )
    assert out.returncode == 0 and out.stdout.strip().endswith("ok"), out.stderr[-3000:]
