"""Run a TF.js bundle's `index.html` in headless Chromium and read the predictions it computed.

The bundle folder is served on a free loopback port by `http.server` (in a thread), Debian's
Chromium is driven by Playwright (no browser download), and the page's own `@tensorflow/tfjs`
(`tf.min.js` in the bundle) computes the predictions on the example rows it carries.

A job checks through one `BrowserSession`: Chromium is launched once (it can be started early,
while the job still converts) and every check of the job opens a page in it.
"""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import threading
from concurrent.futures import Future, ThreadPoolExecutor
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


class BrowserSession:
    """One headless Chromium for all the TF.js checks of a job.

    Playwright's sync API belongs to the thread that started it, so one worker thread owns the
    browser; `start()` launches it in the background and `check()` returns a Future, so the
    caller can go on converting while the page runs. `launches` counts Chromium starts.
    """

    def __init__(self, timeout_s: float = 120.0) -> None:
        self.timeout_s = timeout_s
        self.launches = 0
        self.checks = 0
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="chromium")
        self._playwright = None
        self._browser = None

    def start(self) -> Future:
        """Launch Chromium now, in the background (a failure is raised again by `check`)."""
        return self._pool.submit(self._ensure)

    def check(self, bundle: str | Path) -> Future:
        """Open `bundle/index.html`; the Future holds what `run_in_browser` returns."""
        return self._pool.submit(self._check, Path(bundle))

    def close(self) -> None:
        self._pool.submit(self._shutdown).result()
        self._pool.shutdown()

    def __enter__(self) -> BrowserSession:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _ensure(self):
        if self._browser is not None:
            return self._browser
        try:
            from playwright.sync_api import sync_playwright
        except ImportError as exc:
            raise BrowserUnavailable("playwright is not installed (uv sync --all-groups)") from exc
        executable = chromium_path()
        if self._playwright is None:
            self._playwright = sync_playwright().start()
        self._browser = self._playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_ARGS
        )
        self.launches += 1
        return self._browser

    def _check(self, bundle: Path) -> dict[str, Any]:
        browser = self._ensure()
        self.checks += 1
        handler = functools.partial(_Quiet, directory=str(bundle))
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        console: list[str] = []
        try:
            page = browser.new_page()
            try:
                page.on(
                    "console",
                    lambda m: console.append(m.text) if m.type == "error" else None,
                )
                page.on("pageerror", lambda e: console.append(str(e)))
                port = server.server_address[1]
                page.goto(f"http://127.0.0.1:{port}/index.html")
                page.wait_for_function(
                    "() => window.TFSTUDIO_RESULT !== undefined", timeout=self.timeout_s * 1000
                )
                result = page.evaluate("() => window.TFSTUDIO_RESULT")
                result["status_text"] = page.inner_text("#status")
            finally:
                page.close()
        finally:
            server.shutdown()
            server.server_close()
        result["console"] = console[:20]
        return result

    def _shutdown(self) -> None:
        try:
            if self._browser is not None:
                self._browser.close()
        finally:
            if self._playwright is not None:
                self._playwright.stop()
            self._browser = self._playwright = None


def run_in_browser(bundle: str | Path, timeout_s: float = 120.0) -> dict[str, Any]:
    """Open `bundle/index.html` over http://127.0.0.1 and return `window.TFSTUDIO_RESULT`.

    The result holds `predictions` (nested lists), `backend` and `version`, or `error`; `console`
    holds the page's console errors. Raises BrowserUnavailable when it cannot run at all.
    A job with several checks keeps one BrowserSession instead.
    """
    with BrowserSession(timeout_s) as session:
        return session.check(bundle).result()
