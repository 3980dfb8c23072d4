"""Profiler overhead and conversion time, on a bundled model.

Goals (issue: profiler): the steps being profiled run at most 1.5x slower than unprofiled steps
of the same run; turning a 10-step trace into the overview and top-ops views takes under 3 s.

Trains the `diabetes` sample's MLP (2 epochs, batch 16: 17 steps per epoch), then profiles
training steps 2-11 through the real path (CLI -> worker -> profile job) several times. The job
times every step of an unprofiled pass over steps 1-11 and of the profiled pass over the same
steps (same data, same order, weights carried on); the overhead is the median profiled step over
the median unprofiled step of each repeat, and the verdict is the median of those per-repeat
ratios (at least 5), printed with their range. The step timer wraps the trace annotation, so the
profiler's own per-step cost is counted. Conversion is timed again here, fresh,
on each captured 10-step trace (`core.profiling.convert.summarize`: trace viewer, framework op
stats, input pipeline, memory).
Prints PASS/MISS and always exits 0.

    .venv/bin/python benchmarks/profiler_overhead.py [--repeats 5] [--sample diabetes]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TARGETS = {"diabetes": "progression", "iris": "species", "wine": "cultivar"}


def cli(*args: str) -> dict:
    out = subprocess.run(
        [sys.executable, "-m", "core.cli.main", *args, "--json"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=900,
    )
    if out.returncode != 0:
        raise SystemExit(f"tfstudio {' '.join(args)} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--sample", default="diabetes", choices=sorted(TARGETS))
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--steps", default="2-11")
    args = parser.parse_args()
    args.repeats = max(5, args.repeats)

    from core.profiling.convert import summarize

    with tempfile.TemporaryDirectory(prefix="tfstudio-profbench-") as home:
        train = cli(
            "train", "--home", home, "--data", f"sample:{args.sample}",
            "--target", TARGETS[args.sample], "--epochs", "2", "--batch-size", str(args.batch),
        )  # fmt: skip
        run_id = train["run_id"]
        print(f"trained {args.sample} ({train['result']['rows']}) as run {run_id}")
        rows = []
        for i in range(args.repeats):
            prof = cli("profile", run_id, "--home", home, "--steps", args.steps)
            summary = json.loads(
                (Path(home) / "runs" / prof["run_id"] / "profile_summary.json").read_text()
            )
            timing = summary["timing"]
            started = time.perf_counter()
            again = summarize(prof["trace"])
            fresh_s = time.perf_counter() - started
            rows.append(
                {
                    "repeat": i + 1,
                    "profiled_ms_median": statistics.median(timing["profiled_ms"]),
                    "unprofiled_ms_median": statistics.median(timing["unprofiled_ms"]),
                    "ratio_median": timing["overhead_ratio"],
                    "ratio_mean": statistics.fmean(timing["profiled_ms"])
                    / statistics.fmean(timing["unprofiled_ms"]),
                    "steps_in_trace": len(again["trace"]),
                    "xprof_step_ms": summary["step_time_ms"],
                    "conversion_in_job_s": summary["conversion_s"],
                    "conversion_fresh_s": fresh_s,
                    "trace_kb": Path(prof["trace"]).stat().st_size / 1024,
                    "profiled_ms": timing["profiled_ms"],
                    "unprofiled_ms": timing["unprofiled_ms"],
                }
            )
            r = rows[-1]
            print(
                f"repeat {i + 1}: profiled {r['profiled_ms_median']:.3f} ms vs unprofiled "
                f"{r['unprofiled_ms_median']:.3f} ms per step (median) -> {r['ratio_median']:.2f}x "
                f"(mean {r['ratio_mean']:.2f}x); {r['steps_in_trace']} steps, "
                f"{r['trace_kb']:.0f} KB trace converted in {r['conversion_fresh_s']:.2f} s "
                f"(in the job {r['conversion_in_job_s']:.2f} s)"
            )
    # Each repeat is one A-B-A triple inside the job (unprofiled, profiled, unprofiled: the
    # reference is the mean of the passes either side). The verdict is the median of the
    # per-repeat ratios (at least 5 repeats), given with its spread.
    ratios = sorted(r["ratio_median"] for r in rows if r["ratio_median"])
    ratio = statistics.median(ratios)
    conversion = statistics.median(r["conversion_fresh_s"] for r in rows)
    print(json.dumps({"sample": args.sample, "steps": args.steps, "runs": rows}, indent=1))
    print(
        f"overhead per repeat: {', '.join(f'{x:.2f}' for x in ratios)}; median {ratio:.2f}x "
        f"(range {ratios[0]:.2f}-{ratios[-1]:.2f}, {len(ratios)} repeats)  goal <= 1.5  "
        f"{'PASS' if ratio <= 1.5 else 'MISS'}"
    )
    print(
        f"conversion of a 10-step trace: median {conversion:.2f} s (range "
        f"{min(r['conversion_fresh_s'] for r in rows):.2f}-"
        f"{max(r['conversion_fresh_s'] for r in rows):.2f}; in the job "
        f"{statistics.median(r['conversion_in_job_s'] for r in rows):.2f} s)  goal < 3 s  "
        f"{'PASS' if conversion < 3 else 'MISS'}"
    )


if __name__ == "__main__":
    main()
