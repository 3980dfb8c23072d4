"""Read + profile a large CSV: TF Studio against plain pandas, side by side.

Generates a seeded CSV (default 1,000,000 rows x 20 columns: 14 float, 3 integer, 2 categorical
strings with ~10 values, 1 timestamp string) in a temporary folder that is deleted afterwards,
then measures in separate child processes (so neither pollutes the other's memory):

  (a) pandas:     pd.read_csv(path) + df.describe(include="all")
  (b) TF Studio:  read_table(path) + profile_table(result.frame)

The sides alternate (pandas, TF Studio, pandas, ... --pairs times, at least 5); wall and CPU time
are counted from the start of the read to the end of the profile (interpreter start and imports
are not), and the verdict is on the median per-pair ratio, printed with its spread. Peak memory is
the child's peak resident set size (ru_maxrss, imports included): median and largest of the runs,
judged on the median.

Goals (from the issue): time ours/pandas <= 1.5 and our peak memory <= 2x the file's size.
Prints PASS/MISS per goal and always exits 0.

    .venv/bin/python benchmarks/profile_csv.py            # 1,000,000 rows
    .venv/bin/python benchmarks/profile_csv.py --rows 100000
    .venv/bin/python benchmarks/profile_csv.py --quoted    # header and strings in quotes
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

TIME_GOAL = 1.5  # ours / pandas
MEMORY_GOAL = 2.0  # our peak RSS / file size
N_FLOAT, N_INT, N_CAT = 14, 3, 2
CATEGORIES = ("red", "green", "blue", "amber", "violet", "cyan", "black", "white", "grey", "pink")
REGIONS = ("north", "south", "east", "west", "centre", "islands", "coast", "hills", "valley")


def generate(path: Path, rows: int, seed: int, quoted: bool = False) -> None:
    """Write the seeded benchmark CSV with pyarrow's (fast) writer.

    Like `DataFrame.to_csv`, values are not quoted (none holds a comma, quote or line break;
    pyarrow quotes the header anyway); `quoted` quotes every string too, as some exporters do.
    """
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv

    rng = np.random.default_rng(seed)
    columns: dict[str, pa.Array] = {}
    for i in range(N_FLOAT):
        values = rng.normal(loc=i * 10.0, scale=1.0 + i, size=rows)
        if i % 2:  # half the columns as measured values with 4 decimals, half at full precision
            values = np.round(values, 4)
        missing = rng.random(rows) < 0.01 if i % 5 == 0 else None  # ~1% missing in 3 columns
        columns[f"f{i}"] = pa.array(values, mask=missing)
    columns["count"] = pa.array(rng.poisson(20, size=rows))
    columns["quantity"] = pa.array(rng.integers(0, 1_000_000, size=rows))
    columns["code"] = pa.array(rng.integers(-500, 500, size=rows))
    columns["colour"] = pa.array(np.asarray(CATEGORIES)[rng.integers(0, len(CATEGORIES), rows)])
    columns["region"] = pa.array(np.asarray(REGIONS)[rng.integers(0, len(REGIONS), rows)])
    start = np.datetime64("2020-01-01T00:00:00", "s")
    stamps = start + np.arange(rows, dtype="int64") * np.timedelta64(60, "s")
    columns["timestamp"] = pa.array(np.datetime_as_string(stamps).astype(object)).cast(pa.string())
    # "2020-01-01T00:00:00" -> "2020-01-01 00:00:00", as most exports write it
    columns["timestamp"] = pc.replace_substring(columns["timestamp"], "T", " ")
    table = pa.table(columns)
    pacsv.write_csv(table, path, pacsv.WriteOptions(quoting_style="needed" if quoted else "none"))


def child(which: str, path: str) -> None:
    """One measurement in this (fresh) process; prints a JSON line with seconds and peak RSS."""
    if which == "pandas":
        import pandas as pd
    else:
        from core.data.profile import profile_table
        from core.data.sources import read_table
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    c0 = time.process_time()
    t0 = time.perf_counter()
    if which == "pandas":
        frame = pd.read_csv(path)
        t1 = time.perf_counter()
        read_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        frame.describe(include="all")
    else:
        frame = read_table(path).frame
        t1 = time.perf_counter()
        read_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        profile_table(frame)
    t2 = time.perf_counter()
    cpu = time.process_time() - c0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    print(
        json.dumps(
            {
                "read": t1 - t0,
                "profile": t2 - t1,
                "total": t2 - t0,
                "cpu": cpu,
                "peak": peak,
                "read_peak": read_peak,
                "base": base,
            }
        )
    )


def measure(which: str, path: Path) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", which, str(path)],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--pairs", type=int, default=5)
    parser.add_argument(
        "--quoted", action="store_true", help="quote the header and every string value"
    )
    parser.add_argument("--child", nargs=2, metavar=("WHICH", "PATH"), help=argparse.SUPPRESS)
    parser.add_argument("--generate", metavar="PATH", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    if args.generate:
        generate(Path(args.generate), args.rows, args.seed, args.quoted)
        return

    with tempfile.TemporaryDirectory(prefix="tfstudio-bench-") as tmp:
        path = Path(tmp) / "bench.csv"
        t0 = time.perf_counter()
        # in a child too: a child's ru_maxrss starts from its parent's RSS at fork time, so the
        # parent must stay small for the measurements to be clean
        subprocess.run(
            [sys.executable, __file__, "--generate", str(path), "--rows", str(args.rows)]
            + ["--seed", str(args.seed)]
            + (["--quoted"] if args.quoted else []),
            check=True,
            cwd=ROOT,
        )
        size = path.stat().st_size
        print(
            f"CSV: {args.rows:,} rows x {N_FLOAT + N_INT + N_CAT + 1} columns"
            f"{', strings quoted' if args.quoted else ''}, "
            f"{size / 1e6:.1f} MB (generated in {time.perf_counter() - t0:.1f}s)"
        )
        from benchmarks.abab import Sample, alternate

        def side(which: str):
            def go() -> Sample:
                r = measure(which, path)
                return Sample(r["total"], r["cpu"], r)

            return go

        cmp = alternate("pandas", side("pandas"), "tfstudio", side("tfstudio"), pairs=args.pairs)

    def peaks_mib(samples: list) -> list[float]:
        return sorted(s.extra["peak"] / 1024 for s in samples)

    ours = peaks_mib(cmp.b)
    mem_ratio = statistics.median(ours) * 2**20 / size  # judged on the median, like the times
    ratio = cmp.summary("wall")["median"]
    print()
    print(f"file size: {size / 1e6:.1f} MB ({size / 2**20:.1f} MiB)")
    print("wall and cpu: from the start of the read to the end of the profile / describe")
    print(cmp.line("wall"))
    print(cmp.line("cpu"))
    for name, samples in (("pandas", cmp.a), ("tfstudio", cmp.b)):
        runs = peaks_mib(samples)
        print(
            f"peak RSS {name:<9}: median {statistics.median(runs):4.0f} MiB, largest "
            f"{runs[-1]:4.0f} (runs: {', '.join(f'{v:.0f}' for v in runs)})"
        )
    print(f"our peak / file size: median {mem_ratio:.2f}, largest {ours[-1] * 2**20 / size:.2f}")
    print()
    print(
        f"{'PASS' if ratio <= TIME_GOAL else 'MISS'}: time ratio median {ratio:.2f} <= {TIME_GOAL}"
    )
    print(
        f"{'PASS' if mem_ratio <= MEMORY_GOAL else 'MISS'}: "
        f"peak memory median {mem_ratio:.2f}x file size <= {MEMORY_GOAL}x"
    )


if __name__ == "__main__":
    main()
