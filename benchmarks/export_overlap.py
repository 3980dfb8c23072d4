"""Export-all wall time: the code before #14's sharing, the shared steps in line, and with overlap.

    .venv/bin/python benchmarks/export_overlap.py --rounds 5     # under the heavy lock

One process (TensorFlow imported once, unmeasured) trains a tiny iris run through the CLI, then
exports every format of it (`format=all`: Keras, SavedModel, TFLite, TF.js with its Chromium
check, TFLite Micro) again and again, rotating three sides so all see the same load:

  before      core/export/job.py as of commit 74f04e6 (a SavedModel written twice, the TFLite
              re-converted, Chromium launched when the TF.js step reaches its check)
  sequential  today's job with TFSTUDIO_EXPORT_OVERLAP=0 (one SavedModel, the training run's
              .tflite reused, the check in line)
  overlap     today's default (Chromium started while the model loads, the TF.js page running
              while TFLite Micro converts)

Each job gets a fresh run folder; reported are the medians and the per-round ratios to
`sequential` (benchmarks/abab.py's Comparison, median ratio with its spread). Not a test.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.abab import Comparison, Sample  # noqa: E402

BEFORE_COMMIT = "74f04e6"


def train(home: Path) -> str:
    cmd = [str(REPO / ".venv/bin/tfstudio"), "train", "--data", "sample:iris", "--target",
           "species", "--epochs", "5", "--json", "--home", str(home)]  # fmt: skip
    env = {**os.environ, "TFSTUDIO_WARM_WORKERS": "0"}
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True)
    return json.loads(out.stdout)["run_id"]


def old_job():
    """The export job module as it was before the split (its micro step reads the shared
    preprocessing through the context, so the old context loads it each time, as it did)."""
    source = subprocess.run(
        ["git", "show", f"{BEFORE_COMMIT}:core/export/job.py"],
        cwd=REPO, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    path = Path(tempfile.mkdtemp()) / "export_job_before.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("export_job_before", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    from core.models.io import load_run_model

    module._Context.preprocessing = lambda self: load_run_model(self.source, "preprocessing.keras")
    return module


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", type=Path, help="write the samples here")
    args = parser.parse_args()

    home = Path(tempfile.mkdtemp(prefix="export-bench-"))
    os.environ["TFSTUDIO_HOME"] = str(home)
    run_id = train(home)
    import core.export.job as job
    from core.runs.reporter import NullReporter
    from core.specs import ExportSpec

    before = old_job()
    spec = ExportSpec(source_run=run_id, format="all")

    def side(fn, overlap: str):
        def run() -> Sample:
            os.environ["TFSTUDIO_EXPORT_OVERLAP"] = overlap
            run_dir = Path(tempfile.mkdtemp(prefix="export-", dir=home / "runs"))
            t0, c0 = time.perf_counter(), time.process_time()
            result = fn(spec, NullReporter(), run_dir)
            wall, cpu = time.perf_counter() - t0, time.process_time() - c0
            bad = [f for f, b in result["bundles"].items() if not b.get("ok")]
            if bad:
                raise SystemExit(f"formats failed their check: {bad}")
            return Sample(wall, cpu)

        return run

    sides = {
        "before": side(before.run_export_job, "0"),
        "sequential": side(job.run_export_job, "0"),
        "overlap": side(job.run_export_job, "1"),
    }
    for run in sides.values():  # warm-up: file caches, first-call tracing
        run()
    samples: dict[str, list[Sample]] = {name: [] for name in sides}
    for i in range(args.rounds):
        for name, run in sides.items():
            s = run()
            samples[name].append(s)
            print(f"round {i + 1}/{args.rounds} {name}: wall {s.wall_s:.2f} s cpu {s.cpu_s:.2f} s")
    load = os.getloadavg()[0]
    print(f"\nload average at the end: {load:.1f} ({os.cpu_count()} cores)")
    for other in ("before", "overlap"):
        cmp = Comparison("sequential", other, samples["sequential"], samples[other])
        print(cmp.line("wall"))
        print(cmp.line("cpu"))
    if args.json:
        args.json.write_text(
            json.dumps({k: [vars(s) for s in v] for k, v in samples.items()}, indent=2)
        )


if __name__ == "__main__":
    main()
