"""How good are TF Studio's default models? Public data sets against the simple baselines (#30).

    .venv/bin/python benchmarks/quality.py                 # every case, defaults; ~30-40 min
    .venv/bin/python benchmarks/quality.py --cases iris,nile --out /tmp/q.json

Each case is a real public data set that ships inside a PyPI package (scikit-learn, plotly) or
was taken unchanged from a public repository into tests/corpus or benchmarks/data (sources in
benchmarks/README.md); none is a bundled sample. Each is trained the way a user would:
`tfstudio train --data FILE --target T --json` with the defaults and the fixed seed 42, so the
split is fixed before anything is looked at and nothing is chosen on the test rows. The run
itself fits the baselines on the same training + validation rows and scores everything on the
same test rows with paired 95% bootstrap intervals (core/training/baselines.py); this script
only collects those numbers and says, per case, whether the default model is inside or above the
best baseline's interval (the goal), and for forecasters whether it beats seasonal naive.

Prints one Markdown table (the cases we lose as plainly as those we win) and writes the raw
comparisons as JSON with --out. Not a test; exits 0.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import json
import os
import shutil
import sys
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.abab import run_child  # noqa: E402

TFSTUDIO = str(REPO / ".venv/bin/tfstudio")
CORPUS = REPO / "tests" / "corpus"
HERE = REPO / "benchmarks" / "data"
SEED = "42"


def _site(package: str) -> Path:
    import importlib.util

    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(f"{package} is not installed: run `make setup` first")
    return Path(next(iter(spec.submodule_search_locations)))


# -- data preparation: each writes a file the CLI reads, from the public original -------------


def _drop_columns(src: Path, dst: Path, drop: list[str]) -> None:
    import pandas as pd

    pd.read_csv(src).drop(columns=drop).to_csv(dst, index=False)


def _sklearn_csv(name: str, columns: list[str]):
    """scikit-learn's own CSV (first row: counts and class names) with readable headers."""

    def write(dst: Path) -> None:
        rows = list(
            csv.reader(io.StringIO((_site("sklearn") / "datasets/data" / name).read_text()))
        )
        with dst.open("w", newline="") as f:
            w = csv.writer(f)
            w.writerow(columns)
            w.writerows(rows[1:])

    return write


def _diabetes(dst: Path) -> None:
    base = _site("sklearn") / "datasets/data"
    x = gzip.decompress((base / "diabetes_data_raw.csv.gz").read_bytes()).decode().split("\n")
    y = gzip.decompress((base / "diabetes_target.csv.gz").read_bytes()).decode().split("\n")
    with dst.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6", "progression"])
        for xs, ys in zip(x, y, strict=False):
            if xs.strip() and ys.strip():
                w.writerow([*xs.split(), ys.strip()])


def _plotly(name: str, drop: list[str]):
    def write(dst: Path) -> None:
        import pandas as pd

        frame = pd.read_csv(_site("plotly") / "package_data/datasets" / f"{name}.csv.gz")
        frame.drop(columns=drop).to_csv(dst, index=False)

    return write


def _sentences(name: str):
    """UCI 'Sentiment Labelled Sentences' (Kotzias et al., KDD 2015): sentence TAB 0|1."""

    def write(dst: Path) -> None:
        lines = (HERE / f"uci_{name}_labelled.txt").read_text(encoding="utf-8").splitlines()
        with dst.open("w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(["text", "sentiment"])
            for line in lines:
                text, _, label = line.rpartition("\t")
                if text.strip():
                    w.writerow([text.strip(), "positive" if label.strip() == "1" else "negative"])

    return write


def _digits(dst: Path) -> None:
    """scikit-learn's 8x8 handwritten digits (UCI), as a zip of one folder of PNGs per class."""
    import numpy as np
    from PIL import Image

    raw = gzip.decompress((_site("sklearn") / "datasets/data/digits.csv.gz").read_bytes())
    table = np.loadtxt(io.StringIO(raw.decode()), delimiter=",")
    with zipfile.ZipFile(dst, "w") as z:
        for i, row in enumerate(table):
            pixels = (row[:64].reshape(8, 8) * (255 / 16)).astype("uint8")
            buf = io.BytesIO()
            Image.fromarray(pixels, mode="L").save(buf, format="PNG")
            z.writestr(f"digits/{int(row[64])}/{i:04d}.png", buf.getvalue())


@dataclass
class Case:
    name: str
    kind: str  # table | series | text | images
    source: str  # where the file comes from, for the README
    suffix: str
    write: object  # (dst: Path) -> None
    args: list[str] = field(default_factory=list)


def _copy(src: Path):
    return lambda dst: shutil.copyfile(src, dst)


CASES = [
    # tables: classification
    Case("iris", "table", "scikit-learn", ".csv",
         _sklearn_csv("iris.csv", ["sepal_length", "sepal_width", "petal_length",
                                   "petal_width", "species"]),
         ["--target", "species"]),
    Case("wine", "table", "scikit-learn", ".csv",
         _sklearn_csv("wine_data.csv", [f"x{i}" for i in range(13)] + ["cultivar"]),
         ["--target", "cultivar", "--task", "classification"]),
    Case("breast-cancer", "table", "scikit-learn", ".csv",
         _sklearn_csv("breast_cancer.csv", [f"x{i}" for i in range(30)] + ["malignant"]),
         ["--target", "malignant", "--task", "classification"]),
    Case("penguins", "table", "seaborn-data (tests/corpus)", ".csv",
         _copy(CORPUS / "sb_penguins.csv"), ["--target", "species"]),
    Case("titanic", "table", "seaborn-data (tests/corpus)", ".csv",
         lambda d: _drop_columns(CORPUS / "sb_titanic.csv", d, ["alive"]),  # alive == survived
         ["--target", "survived", "--task", "classification"]),
    # tables: regression
    Case("diabetes", "table", "scikit-learn", ".csv", _diabetes,
         ["--target", "progression"]),
    Case("tips", "table", "seaborn-data (tests/corpus)", ".csv",
         _copy(CORPUS / "sb_tips.csv"), ["--target", "tip"]),
    Case("mpg", "table", "seaborn-data (tests/corpus)", ".csv",
         lambda d: _drop_columns(CORPUS / "sb_mpg.csv", d, ["name"]),
         ["--target", "mpg"]),
    Case("gapminder", "table", "plotly", ".csv",
         _plotly("gapminder", ["iso_alpha", "iso_num", "country"]),
         ["--target", "lifeExp"]),
    # series
    Case("air-passengers", "series", "Rdatasets (tests/corpus)", ".csv",
         lambda d: _drop_columns(CORPUS / "rd_AirPassengers.csv", d, ["rownames"]),
         ["--task", "forecasting", "--target", "value", "--time-column", "time"]),
    Case("nile", "series", "statsmodels (tests/corpus)", ".csv", _copy(CORPUS / "sm_nile.csv"),
         ["--task", "forecasting", "--target", "volume", "--time-column", "year"]),
    Case("sunspots", "series", "statsmodels (tests/corpus)", ".csv",
         _copy(CORPUS / "sm_sunspots.csv"),
         ["--task", "forecasting", "--target", "SUNACTIVITY", "--time-column", "YEAR"]),
    Case("co2", "series", "statsmodels (tests/corpus)", ".csv", _copy(CORPUS / "sm_co2.csv"),
         ["--task", "forecasting", "--target", "co2", "--time-column", "date"]),
    # text
    Case("yelp-sentences", "text", "UCI sentiment sentences (benchmarks/data)", ".csv",
         _sentences("yelp"), ["--target", "sentiment", "--text-column", "text"]),
    Case("imdb-sentences", "text", "UCI sentiment sentences (benchmarks/data)", ".csv",
         _sentences("imdb"), ["--target", "sentiment", "--text-column", "text"]),
    # images
    Case("digits", "images", "scikit-learn", ".zip", _digits, []),
]  # fmt: skip


def judged(comparison: dict) -> dict:
    """The goal per case: the network inside or above the best baseline's 95% interval."""
    if not comparison.get("baselines"):
        return {"goal": None}
    best = comparison["best_baseline"]
    b, net = comparison["baselines"][best], comparison["network"]
    up = comparison["direction"] == "max"
    goal = net["value"] >= b["low"] if up else net["value"] <= b["high"]
    out = {"goal": bool(goal)}
    naive = comparison["baselines"].get("seasonal naive")
    if naive is not None:
        out["beats_seasonal_naive"] = bool(net["value"] < naive["value"])
    return out


def run_case(case: Case, home: Path, work: Path, timeout: float) -> dict:
    data = work / f"{case.name}{case.suffix}"
    case.write(data)
    cmd = [TFSTUDIO, "train", "--data", str(data), *case.args, "--seed", SEED, "--json",
           "--home", str(home), "--name", f"quality-{case.name}"]  # fmt: skip
    env = {**os.environ, "TFSTUDIO_WARM_WORKERS": "0", "TFSTUDIO_HOME": str(home)}
    done, sample = run_child(cmd, env=env, timeout=timeout)
    row = {"case": case.name, "kind": case.kind, "source": case.source, "wall_s": sample.wall_s}
    try:
        payload = json.loads(done.stdout)
    except json.JSONDecodeError:
        tail = (done.stderr or done.stdout)[-600:].strip().splitlines()
        return {**row, "status": "ERROR", "error": tail[-1] if tail else f"exit {done.returncode}"}
    result = payload.get("result") or {}
    row.update(status=payload.get("status"), run_id=payload.get("run_id"),
               error=payload.get("error"), comparison=result.get("baselines") or {},
               refit_epochs=result.get("refit_epochs"))  # fmt: skip
    row.update(judged(row["comparison"]))
    return row


def _ci(m: dict) -> str:
    return f"{m['value']:.3f} ({m['low']:.3f}-{m['high']:.3f})"


def table(rows: list[dict]) -> str:
    lines = [
        "| case | kind | metric | default network (95% CI) | best baseline (95% CI) "
        "| gap (95% CI) | verdict | goal | wall |",
        "|---|---|---|---|---|---|---|---|---:|",
    ]
    for r in rows:
        c = r.get("comparison") or {}
        if r.get("status") != "SUCCEEDED" or not c.get("baselines"):
            why = r.get("error") or "no baselines"
            lines.append(f"| {r['case']} | {r['kind']} | | **{r.get('status')}**: {why} "
                         f"| | | | MISS | {r['wall_s']:.0f} s |")  # fmt: skip
            continue
        best = c["best_baseline"]
        gap = c["difference"]
        metric = c["metric"] + (" (lower wins)" if c["direction"] == "min" else "")
        extra = ""
        if "beats_seasonal_naive" in r:
            extra = (
                "; beats seasonal naive"
                if r["beats_seasonal_naive"]
                else "; **loses to seasonal naive**"
            )
        lines.append(
            f"| {r['case']} | {r['kind']} | {metric} | {_ci(c['network'])} "
            f"| {best} {_ci(c['baselines'][best])} "
            f"| {gap['value']:+.3f} ({gap['low']:+.3f}-{gap['high']:+.3f}) | {c['verdict']}{extra} "
            f"| {'PASS' if r['goal'] else '**MISS**'} | {r['wall_s']:.0f} s |"
        )
    passed = sum(1 for r in rows if r.get("goal"))
    lines.append("")
    share = passed / max(1, len(rows))
    lines.append(f"Default inside or above the best baseline's 95% interval: {passed} of "
                 f"{len(rows)} ({share:.0%}; goal: at least 80%).")  # fmt: skip
    series = [r for r in rows if "beats_seasonal_naive" in r]
    if series:
        ahead = sum(r["beats_seasonal_naive"] for r in series)
        lines.append(f"Forecasters ahead of seasonal naive: {ahead} of {len(series)} (goal: all).")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", default="", help="comma-separated case names (default: all)")
    parser.add_argument("--out", default="", help="write the raw rows as JSON here")
    parser.add_argument("--timeout", type=float, default=1200, help="seconds per case")
    args = parser.parse_args()
    chosen = [c for c in CASES if not args.cases or c.name in args.cases.split(",")]
    if not chosen:
        raise SystemExit(f"no such case; cases: {', '.join(c.name for c in CASES)}")
    home = Path(tempfile.mkdtemp(prefix="quality-home-"))
    work = Path(tempfile.mkdtemp(prefix="quality-data-"))
    rows = []
    for case in chosen:
        row = run_case(case, home, work, args.timeout)
        rows.append(row)
        c = row.get("comparison") or {}
        print(f"{case.name}: {row.get('status')} {row.get('error') or c.get('sentence', '')} "
              f"({row['wall_s']:.0f} s)", flush=True)  # fmt: skip
        if args.out:
            Path(args.out).write_text(json.dumps(rows, indent=1, default=str))
    print(f"\nload average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores\n")
    print(table(rows))


if __name__ == "__main__":
    main()
