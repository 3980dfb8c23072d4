"""Print the report's HTML to PDF with headless Chromium (Playwright driving Debian's chromium).

The same file a person opens is what gets printed, so the PDF and the HTML never disagree.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from core.browser import CHROMIUM_ARGS
from core.errors import BadInput


def chromium_path() -> str:
    """$TFSTUDIO_CHROMIUM, else /usr/bin/chromium, else `chromium` on the PATH."""
    given = os.environ.get("TFSTUDIO_CHROMIUM", "/usr/bin/chromium")
    if Path(given).is_file():
        return given
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        raise BadInput(
            "a PDF needs Chromium: install Debian's chromium package (make browser-deps) or "
            "set TFSTUDIO_CHROMIUM; the HTML report needs nothing"
        )
    return found


def html_to_pdf(html: str, out: str | Path) -> Path:
    """Write `html` as an A4 PDF at `out` (atomically: a temporary file is renamed over)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:  # pragma: no cover - playwright is a project dependency
        raise BadInput("a PDF needs the playwright package") from exc
    out = Path(out)
    tmp = out.with_name(f".{out.name}.tmp")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.set_content(html, wait_until="load")
            page.pdf(
                path=str(tmp),
                format="A4",
                print_background=True,
                margin={"top": "14mm", "bottom": "14mm", "left": "12mm", "right": "12mm"},
            )
        finally:
            browser.close()
    os.replace(tmp, out)
    return out
