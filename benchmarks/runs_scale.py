"""A store with 1,000 runs: `tfstudio runs list` and the Runs page, timed.

    .venv/bin/python benchmarks/runs_scale.py [--runs 1000] [--repeat 5]

Fills a temporary workspace through the store's own API (`create_run`, `set_status`,
`log_metrics`, `finish_run`: every run gets its folder, run.json and a few metric points, as a
worker leaves them), then times, each `--repeat` times in a fresh process:
- `tfstudio runs list` (the table) and `runs list --json`: wall time from spawn to exit, and the
  child's CPU time (user + system, from `wait4`);
- the Runs page through Streamlit's AppTest: the app's first page, then the switch to the Runs
  page (its first render) and a rerun (what each poll costs).
Goals (issue 19): `runs list` < 0.5 s, the Runs page < 2 s. Medians; nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

PAGE = r"""
import json, os, sys, time
from streamlit.testing.v1 import AppTest
at = AppTest.from_file(os.path.join(sys.argv[1], "dashboard", "app.py"), default_timeout=120)
t0 = time.perf_counter(); at.run(); home = time.perf_counter() - t0
at.switch_page("../pages/runs.py")
t0 = time.perf_counter(); at.run(); first = time.perf_counter() - t0
t0 = time.perf_counter(); at.run(); again = time.perf_counter() - t0
rows = len(at.dataframe[0].value) if at.dataframe else 0
print(json.dumps({"home": home, "first": first, "again": again, "rows": rows,
                  "errors": [str(e.value)[:200] for e in at.exception]}))
"""


def fill(home: Path, n: int) -> float:
    sys.path.insert(0, str(REPO))
    from core.runs.status import RunStatus
    from core.runs.store import RunStore
    from core.workspace import Workspace

    ws = Workspace.resolve(home)
    store = RunStore(ws.db_path)
    rng = random.Random(19)
    kinds = ["train"] * 6 + ["tune", "export", "compress", "pipeline"]
    t0 = time.perf_counter()
    for i in range(n):
        kind = rng.choice(kinds)
        run = store.create_run(kind, {"data": "sample:iris", "epochs": 2}, name=f"run {i}")
        store.set_status(run.id, RunStatus.RUNNING)
        for step in range(3):
            store.log_metrics(run.id, step, {"loss": 1.0 / (step + 1), "val_loss": 1.1})
        if i % 10 == 9:
            store.fail_run(run.id, "a made-up failure")
        else:
            store.finish_run(run.id, {"metrics": {"val_accuracy": rng.random()}})
    return time.perf_counter() - t0


def child_cpu(cmd: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Wall and CPU seconds (user + system, the kernel's accounting of reaped children)."""
    before = os.times()
    t0 = time.perf_counter()
    out = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    wall = time.perf_counter() - t0
    after = os.times()
    cpu = (after.children_user - before.children_user) + (
        after.children_system - before.children_system
    )
    if out.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{out.stderr[-2000:]}")
    return wall, cpu, out.stdout


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        fill_s = fill(home, args.runs)
        print(f"filled {args.runs} runs through the store API in {fill_s:.1f} s")
        env = {
            **os.environ,
            "TFSTUDIO_HOME": str(home),
            "TFSTUDIO_WARM_WORKERS": "0",
            "PYTHONPATH": str(REPO),
        }
        cli = [sys.executable, "-m", "core.cli.main", "runs", "list"]
        results = {}
        for label, cmd in (("runs list", cli), ("runs list --json", [*cli, "--json"])):
            samples = [child_cpu(cmd, env) for _ in range(args.repeat)]
            wall = statistics.median(s[0] for s in samples)
            cpu = statistics.median(s[1] for s in samples)
            results[label] = wall
            extra = ""
            if label.endswith("--json"):
                payload = json.loads(samples[-1][2])
                extra = f"  ({len(payload['runs'])} of {payload['total']} runs listed)"
            print(
                f"{label:<18} wall median {wall:.3f} s (range {min(s[0] for s in samples):.3f}-"
                f"{max(s[0] for s in samples):.3f}), CPU median {cpu:.3f} s{extra}"
            )
        pages = [
            json.loads(child_cpu([sys.executable, "-c", PAGE, str(REPO)], env)[2].splitlines()[-1])
            for _ in range(args.repeat)
        ]
        med = {k: statistics.median(p[k] for p in pages) for k in ("home", "first", "again")}
        print(
            f"Runs page          first render median {med['first']:.3f} s, rerun "
            f"{med['again']:.3f} s (app's first page {med['home']:.3f} s), "
            f"{pages[-1]['rows']} rows shown"
            + (
                f", errors {pages[-1]['errors']}" if any(p["errors"] for p in pages) else ""
            )  # fmt: skip
        )
        for label, value, goal in (
            ("runs list < 0.5 s", results["runs list"], 0.5),
            ("Runs page < 2 s", med["first"], 2.0),
        ):
            print(f"{'PASS' if value < goal else 'MISS'}  {label}: {value:.3f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
