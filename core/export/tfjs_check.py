"""Run a TF.js bundle's `index.html` in headless Chromium and read the predictions it computed.

The bundle folder is served on a free loopback port by `http.server` (in a thread), Debian's
Chromium is driven by Playwright (no browser download), and the page's own `@tensorflow/tfjs`
(`tf.min.js` in the bundle) computes the predictions on the example rows it carries.
"""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import threading
from pathlib import Path
from typing import Any

from core.browser import CHROMIUM_ARGS

CHROMIUM = os.environ.get("TFSTUDIO_CHROMIUM", "/usr/bin/chromium")


class BrowserUnavailable(RuntimeError):
    """Chromium or Playwright is missing: the TF.js bundle cannot be checked here."""


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 (http.server's signature)
        pass


def chromium_path() -> str:
    if Path(CHROMIUM).exists():
        return CHROMIUM
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        raise BrowserUnavailable(
            f"Chromium not found at {CHROMIUM}: install Debian's chromium package "
            "(make browser-deps)"
        )
    return found


def run_in_browser(bundle: str | Path, timeout_s: float = 120.0) -> dict[str, Any]:
    """Open `bundle/index.html` over http://127.0.0.1 and return `window.TFSTUDIO_RESULT`.

    The result holds `predictions` (nested lists), `backend` and `version`, or `error`; `console`
    holds the page's console errors. Raises BrowserUnavailable when it cannot run at all.
    """
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        raise BrowserUnavailable("playwright is not installed (uv sync --all-groups)") from exc
    executable = chromium_path()
    handler = functools.partial(_Quiet, directory=str(bundle))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    console: list[str] = []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=executable, headless=True, args=CHROMIUM_ARGS
            )
            try:
                page = browser.new_page()
                page.on(
                    "console",
                    lambda m: console.append(m.text) if m.type == "error" else None,
                )
                page.on("pageerror", lambda e: console.append(str(e)))
                port = server.server_address[1]
                page.goto(f"http://127.0.0.1:{port}/index.html")
                page.wait_for_function(
                    "() => window.TFSTUDIO_RESULT !== undefined", timeout=timeout_s * 1000
                )
                result = page.evaluate("() => window.TFSTUDIO_RESULT")
                result["status_text"] = page.inner_text("#status")
            finally:
                browser.close()
    finally:
        server.shutdown()
        server.server_close()
    result["console"] = console[:20]
    return result
