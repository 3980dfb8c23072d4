"""`make demo`, timed as a stakeholder sees it: from the command to the app's first page, to the
Home page's demo banner, to "demo story: 4 of 4 ready", in headless Chromium.

    flock /tmp/tfstudio-heavy.lock .venv/bin/python benchmarks/demo_story.py [--shots DIR]

Starts `tfstudio app --demo` on a new temporary workspace (what `make demo` runs after its
`uv sync`), reads the Home page every half second, prints the times and the load average, then
stops the app. `--shots DIR` also saves a screenshot of each page with the story's runs open.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from core.browser import CHROMIUM_ARGS  # noqa: E402

CHROMIUM = os.environ.get("TFSTUDIO_CHROMIUM", "/usr/bin/chromium")


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=1) as r:
            return r.status == 200
    except OSError:
        return False


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--shots", type=Path, help="save a screenshot of each page here")
    parser.add_argument("--timeout", type=float, default=300)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    home, port = Path(tempfile.mkdtemp(prefix="tfstudio-demo-")) / "home", _port()
    url = f"http://127.0.0.1:{port}"
    load = os.getloadavg()
    t0 = time.time()
    app = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "core.cli.main",
            "app",
            "--demo",
            "--home",
            str(home),
            "--port",
            str(port),
        ],
        cwd=REPO,
        env={**os.environ, "DISPLAY": "", "WAYLAND_DISPLAY": ""},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    times: dict[str, float] = {}
    try:
        while not _healthy(url):
            if time.time() - t0 > args.timeout:
                raise TimeoutError("the app did not answer")
            time.sleep(0.1)
        times["server answers"] = time.time() - t0
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1100})
            page.goto(url)
            page.get_by_text("demo story:").first.wait_for(timeout=60_000)
            times["Home shows the banner"] = time.time() - t0
            if args.shots:
                args.shots.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(args.shots / "home-during.png"), full_page=True)
            seen = None
            while time.time() - t0 < args.timeout:
                text = page.inner_text("body")
                count = next((ln for ln in text.splitlines() if "demo story:" in ln), "")
                if count != seen:
                    seen = count
                    times[count.strip()] = time.time() - t0
                if "4 of 4 ready" in count or "FAILED" in text or "LOST" in text:
                    break
                time.sleep(0.5)
            if args.shots:
                _shots(page, url, home, args.shots)
            browser.close()
    finally:
        os.killpg(app.pid, signal.SIGTERM)
        app.wait(timeout=30)
    print(f"load average at start: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    for what, at in times.items():
        print(f"{at:6.1f} s  {what}")
    print(f"load average at end:   {os.getloadavg()[0]:.2f}")
    return 0


def _shots(page, url: str, home: Path, folder: Path) -> None:
    ids = json.loads((home / "demo.json").read_text())["runs"]
    train, compress, export, tune = ids
    pages = {
        "home": "",
        "data": "data",
        "models": "models",
        "train-run": f"train?run={train}",
        "train-new": "train",
        "tune-run": f"tune?run={tune}",
        "profile": "profile",
        "compress-run": f"compress?compress={compress}",
        "export": "export",
        "registry": "registry",
        "pipelines": "pipelines",
        "runs-export": f"runs?run={export}",
    }
    for name, path in pages.items():
        page.goto(f"{url}/{path}")
        page.wait_for_timeout(4000)  # the page's script has run and drawn
        page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


if __name__ == "__main__":
    sys.exit(main())
