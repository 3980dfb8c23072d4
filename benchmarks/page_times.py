"""Each page's render time through the real entry point (Streamlit's AppTest, no browser).

    .venv/bin/python benchmarks/page_times.py [--repeat 3]

For every page, in a fresh process (a just-started server): the Home page's first run (the
first page after start-up: the app's own imports included), the app's background import of the
pages' modules (dashboard/preload.py, waited for: a person reads Home meanwhile), then the switch
to the page (its first visit after the app has started), then the same page again. Run on an
empty workspace. Seconds of wall time; nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

CHILD = r"""
import json, os, sys, time
import streamlit  # the server's own start-up, before any page runs
from streamlit.testing.v1 import AppTest
name = sys.argv[1]
at = AppTest.from_file(os.path.join(sys.argv[2], "dashboard", "app.py"), default_timeout=60)
t0 = time.perf_counter(); at.run(); home = time.perf_counter() - t0
import threading  # the app imports the pages' modules in the background after its first page
t0 = time.perf_counter()
for t in threading.enumerate():
    if t.name == "tfstudio-preload":
        t.join()
settle = time.perf_counter() - t0
first = again = None
if name != "home":
    at.switch_page(f"../pages/{name}.py")
    t0 = time.perf_counter(); at.run(); first = time.perf_counter() - t0
    t0 = time.perf_counter(); at.run(); again = time.perf_counter() - t0
else:
    t0 = time.perf_counter(); at.run(); again = time.perf_counter() - t0
print(json.dumps({"home_first": home, "settle": settle,
                  "first": first if first is not None else home,
                  "again": again, "errors": [str(e.value)[:200] for e in at.exception]}))
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--pages", default="")
    args = parser.parse_args()
    sys.path.insert(0, str(REPO))
    from dashboard.navigation import PAGES

    names = args.pages.split(",") if args.pages else list(PAGES)
    print(
        f"{'page':<10} {'first visit':>12} {'later visit':>12} {'home first':>11} "
        f"{'preload':>8}  (s, median)"
    )
    rows = {}
    for name in names:
        samples = []
        for _ in range(args.repeat):
            with tempfile.TemporaryDirectory() as home:
                env = {"TFSTUDIO_HOME": home, "TFSTUDIO_WARM_WORKERS": "0"}
                out = subprocess.run(
                    [sys.executable, "-c", CHILD, name, str(REPO)],
                    capture_output=True, text=True, cwd=REPO, timeout=300,
                    env={**__import__("os").environ, **env},
                )  # fmt: skip
            if out.returncode:
                print(f"{name}: failed\n{out.stderr[-1500:]}")
                break
            samples.append(json.loads(out.stdout.strip().splitlines()[-1]))
        if not samples:
            continue
        keys = ("first", "again", "home_first", "settle")
        med = {k: statistics.median(s[k] for s in samples) for k in keys}
        rows[name] = med
        errors = samples[-1]["errors"]
        print(
            f"{name:<10} {med['first']:12.2f} {med['again']:12.2f} {med['home_first']:11.2f} "
            f"{med['settle']:8.2f}" + (f"  errors: {errors}" if errors else "")
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
