"""One Chromium for every TF.js check of a job: two bundles checked through one BrowserSession
launch the browser once and each page's own result comes back (no TensorFlow needed)."""

from __future__ import annotations

import pytest

from core.export.tfjs_check import BrowserSession

pytestmark = [pytest.mark.slow, pytest.mark.browser]

PAGE = """<!doctype html><html><body><p id="status">{label}</p>
<script>window.TFSTUDIO_RESULT = {{predictions: [[{value}]], backend: "test",
version: navigator.userAgent.includes("Chrome") ? "chromium" : "other"}};</script>
</body></html>"""


def bundle(folder, label: str, value: float):
    folder.mkdir()
    (folder / "index.html").write_text(PAGE.format(label=label, value=value))
    return folder


def test_two_checks_share_one_browser_launch(tmp_path):
    first = bundle(tmp_path / "a", "first page", 0.25)
    second = bundle(tmp_path / "b", "second page", 0.75)
    with BrowserSession(timeout_s=60) as session:
        session.start()
        a = session.check(first)
        b = session.check(second)
        results = a.result(), b.result()
    assert session.launches == 1 and session.checks == 2
    assert [r["predictions"] for r in results] == [[[0.25]], [[0.75]]]
    assert [r["status_text"] for r in results] == ["first page", "second page"]
    assert all(r["version"] == "chromium" for r in results)


def test_a_session_that_never_checks_launches_nothing():
    with BrowserSession() as session:
        pass
    assert session.launches == 0 and session.checks == 0
