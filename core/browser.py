"""Headless Chromium, as every part that drives a browser starts it (Playwright over Debian's
chromium: the TF.js bundle check, the report's PDF, the screenshots)."""

from __future__ import annotations

# No sandbox (root in containers), no GPU, nothing fetched in the background: offline-safe.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
