"""What each job costs on this machine: one CLI command per kind of job, timed end to end.

    .venv/bin/python benchmarks/job_costs.py            # under the heavy lock; ~2-4 minutes

Each command is what a person types (no warm worker: the CLI starts a cold worker, TensorFlow
import included), timed from spawn to exit on a fresh workspace: train the iris table (8
epochs), a 2-trial random search, compression int8 + pruning (the command's default
fine-tuning), export of every format (TF.js checked in Chromium), a profile of the training run.
The job's own seconds (RUNNING to finished, from the run store) are given beside the command's.
Prints a Markdown table and the load average. Not a test.
"""

from __future__ import annotations

import json
import os
import sqlite3
import sys
import tempfile
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.abab import run_child  # noqa: E402

TFSTUDIO = str(REPO / ".venv/bin/tfstudio")


def job_seconds(home: Path, run_id: str) -> float | None:
    """started -> finished of the run, as the store recorded it."""
    with sqlite3.connect(home / "runs.sqlite") as db:
        cols = [r[1] for r in db.execute("PRAGMA table_info(runs)")]
        start = next((c for c in ("started_at", "started") if c in cols), None)
        end = next((c for c in ("finished_at", "ended_at", "finished") if c in cols), None)
        if not (start and end):
            return None
        row = db.execute(f"SELECT {start}, {end} FROM runs WHERE id = ?", (run_id,)).fetchone()
    if not row or row[0] is None or row[1] is None:
        return None

    def t(v):
        return float(v) if isinstance(v, int | float) else datetime.fromisoformat(v).timestamp()

    return t(row[1]) - t(row[0])


def main() -> None:
    home = Path(tempfile.mkdtemp(prefix="job-costs-"))
    env = {**os.environ, "TFSTUDIO_WARM_WORKERS": "0", "TFSTUDIO_HOME": str(home)}
    rows = []

    def run(what: str, *args: str) -> dict:
        done, sample = run_child([TFSTUDIO, *args, "--json", "--home", str(home)], env=env)
        if done.returncode != 0:
            raise SystemExit(f"{what} failed: {done.stderr[-2000:]}")
        payload = json.loads(done.stdout)
        own = job_seconds(home, payload.get("run_id", ""))
        rows.append((what, sample.wall_s, own))
        print(f"{what}: {sample.wall_s:.1f} s (job {own if own is None else round(own, 1)} s)")
        return payload

    train = run("train iris, 8 epochs", "train", "--data", "sample:iris", "--target",
                "species", "--epochs", "8")  # fmt: skip
    rid = train["run_id"]
    search = ["--tuner", "random", "--max-trials", "2", "--epochs", "8"]
    run("search, 2 trials (random, 8 epochs each)", "tune", "--data", "sample:iris",
        "--target", "species", *search)  # fmt: skip
    run("compress int8 + pruning", "compress", rid, "--method", "int8,prune")
    out = tempfile.mkdtemp()
    run("export all 5 formats", "export", rid, "--format", "all", "--out", out)
    run("profile (train steps 1-10)", "profile", rid)
    print(f"\nload average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores\n")
    print("| job (CLI command, cold worker) | command wall | the job itself |")
    print("|---|---:|---:|")
    for what, wall, own in rows:
        print(f"| {what} | {wall:.0f} s | {'' if own is None else f'{own:.0f} s'} |")


if __name__ == "__main__":
    main()
