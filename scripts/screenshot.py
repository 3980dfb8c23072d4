"""Headless screenshot of a running TF Studio page (Debian's Chromium through Playwright).

    python scripts/screenshot.py http://127.0.0.1:8501/tune out.png [--wait 8] [--height 2400]

Start the app first (`tfstudio app --home DIR --port N`). Waits for Streamlit to finish running,
then captures the full page, so a reviewer can look at what a user would see.
"""

from __future__ import annotations

import argparse
import time

from core.browser import CHROMIUM_ARGS


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("out")
    parser.add_argument("--wait", type=float, default=8.0, help="extra seconds after loading")
    parser.add_argument("--height", type=int, default=2400)
    parser.add_argument("--width", type=int, default=1400)
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=args.chromium, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": args.width, "height": args.height})
        page.goto(args.url)
        page.wait_for_selector("[data-testid='stApp']", timeout=60_000)
        time.sleep(args.wait)
        page.screenshot(path=args.out, full_page=True)
        browser.close()
    print(args.out)


if __name__ == "__main__":
    main()
