"""Click -> first epoch point and click -> evaluation, TF Studio against a plain Keras script.

    .venv/bin/python benchmarks/latency.py --pairs 5            # iris + penguins-sized, ABAB
    .venv/bin/python benchmarks/latency.py --pairs 5 --tables iris --sides warm
    .venv/bin/python benchmarks/latency.py --pairs 5 --sides app   # the app in Chromium

"Click" is the moment the command starts (the CLI process is spawned, as a shell user's Enter);
the first epoch point is the first metric row's time stamp in the run store (what the page
polls); evaluation is when evaluation.json is written. The floor is a plain Keras script that
reads the same CSV, trains the same network (Dense 32-16, Adam 0.01, batch 32, 8 epochs,
60/20/20 split) and evaluates, timed from its own spawn, TensorFlow import included.

Sides of TF Studio:
  warm  `tfstudio train` with a warm worker ready (`tfstudio warm --count 1`; the benchmark
        waits, unmeasured, until the next one is ready: the app has one ready at all times when
        idle). Its CPU excludes the warm worker's TensorFlow import, given apart as preload.
  cold  `tfstudio train` starting a new worker process (TensorFlow imported after the click).
  app   the Streamlit app (one warm worker, as `tfstudio app` keeps) in headless Chromium:
        the click on the Train page's Train button (its defaults: the iris sample) to the first
        epoch point in the store, and to the first curve drawn on the page (iris only).

Tables: iris (150 rows, 4 numeric columns, sample:iris written to CSV) and a penguins-sized
table (344 rows: 4 numeric columns with missing values and 2 categorical ones, 3 classes),
generated with a fixed seed, since the real penguins file is not shipped here.

Each comparison alternates plain and TF Studio (ABAB, at least 5 pairs) and prints the median
ratio with its spread (benchmarks/abab.py), CPU beside wall. Not a test: nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.abab import Sample, alternate  # noqa: E402

EPOCHS = 8

PLAIN = r"""
import sys, time, json
t0 = float(sys.argv[2])
import numpy as np, pandas as pd, keras
df = pd.read_csv(sys.argv[1])
y_names = sorted(df["species"].unique())
y = np.array([y_names.index(v) for v in df.pop("species")], dtype="int32")
cats = [c for c in df.columns if not pd.api.types.is_numeric_dtype(df[c])]
df = pd.get_dummies(df, columns=cats, dummy_na=True, dtype="float32")
df = df.fillna(df.mean())
x = df.to_numpy("float32")
rng = np.random.default_rng(0)
order = rng.permutation(len(x))
n_tr, n_va = int(0.6 * len(x)), int(0.2 * len(x))
tr, va, te = order[:n_tr], order[n_tr:n_tr + n_va], order[n_tr + n_va:]
keras.utils.set_random_seed(0)
norm = keras.layers.Normalization()
norm.adapt(x[tr])
model = keras.Sequential([keras.Input((x.shape[1],)), norm,
    keras.layers.Dense(32, activation="relu"), keras.layers.Dense(16, activation="relu"),
    keras.layers.Dense(len(y_names), activation="softmax")])
model.compile(keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy",
              metrics=["accuracy"])
first = []
class First(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        if not first:
            first.append(time.time())
model.fit(x[tr], y[tr], validation_data=(x[va], y[va]), epochs=EPOCHS_, batch_size=32, verbose=0,
          callbacks=[First()])
loss, acc = model.evaluate(x[te], y[te], verbose=0)
print(json.dumps({"first_epoch_s": first[0] - t0, "evaluation_s": time.time() - t0,
                  "accuracy": acc}))
""".replace("EPOCHS_", str(EPOCHS))


def write_tables(folder: Path) -> dict[str, Path]:
    """iris as shipped (scikit-learn), and a penguins-sized table with a fixed seed."""
    from sklearn.datasets import load_iris

    b = load_iris(as_frame=True)
    iris = b.frame.rename(columns=lambda c: c.replace(" (cm)", "_cm").replace(" ", "_"))
    iris["species"] = [b.target_names[i] for i in b.target]
    iris = iris.drop(columns=["target"])
    rng = np.random.default_rng(7)
    n, species = 344, np.array(["Adelie", "Chinstrap", "Gentoo"])
    kind = rng.choice(3, size=n, p=[0.44, 0.2, 0.36])
    centre = np.array([[38.8, 18.3, 190, 3700], [48.8, 18.4, 196, 3730], [47.5, 15.0, 217, 5076]])
    spread = np.array([2.7, 1.2, 6.5, 460])
    values = centre[kind] + rng.normal(size=(n, 4)) * spread
    penguins = pd.DataFrame(
        values.round(1),
        columns=["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"],
    )
    islands = np.array([["Torgersen", "Biscoe", "Dream"], ["Dream"] * 3, ["Biscoe"] * 3])
    penguins["island"] = [islands[k][rng.integers(3)] for k in kind]
    penguins["sex"] = rng.choice(["male", "female"], size=n)
    for col, missing in (("bill_length_mm", 2), ("body_mass_g", 2), ("sex", 11)):
        penguins.loc[rng.choice(n, missing, replace=False), col] = None
    penguins["species"] = species[kind]
    out = {}
    for name, frame in (("iris", iris), ("penguins", penguins)):
        out[name] = folder / f"{name}.csv"
        frame.to_csv(out[name], index=False)
    return out


def plain_side(csv: Path):
    def side() -> Sample:
        from benchmarks.abab import run_child

        t0 = time.time()
        done, sample = run_child([sys.executable, "-c", PLAIN, str(csv), repr(t0)], cwd=REPO)
        if done.returncode:
            raise RuntimeError(done.stderr[-2000:])
        got = json.loads(done.stdout.strip().splitlines()[-1])
        return Sample(
            got["first_epoch_s"],
            sample.cpu_s,
            {"evaluation_s": got["evaluation_s"], "accuracy": got["accuracy"]},
        )

    return side


def studio_side(csv: Path, home: Path, warm: bool, env: dict[str, str]):
    from core.runs import warm as warm_pool

    def side() -> Sample:
        from benchmarks.abab import run_child

        if warm:  # unmeasured: the app keeps one ready while idle
            deadline = time.time() + 300
            while warm_pool.status(home)["ready"] < 1:
                if time.time() > deadline:
                    raise RuntimeError("no warm worker became ready in 300 s")
                time.sleep(0.2)
        t0 = time.time()
        cmd = [sys.executable, "-m", "core.cli.main", "train", "--data", str(csv)]
        cmd += ["--target", "species", "--epochs", str(EPOCHS), "--json", "--home", str(home)]
        # like the plain script: every epoch, no refit (the defaults since #30 add both)
        cmd += ["--early-stopping", "0", "--no-refit"]
        done, sample = run_child(cmd, cwd=REPO, env=env)
        if done.returncode:
            raise RuntimeError(done.stderr[-2000:])
        out = json.loads(done.stdout)
        run_id = out["run_id"]
        with sqlite3.connect(home / "runs.sqlite") as db:
            (first_ts,) = db.execute(
                "SELECT MIN(ts) FROM metrics WHERE run_id = ?", (run_id,)
            ).fetchone()
        evaluation = (home / "runs" / run_id / "evaluation.json").stat().st_mtime
        resources = out["result"].get("resources", {})
        return Sample(
            first_ts - t0,
            sample.cpu_s + resources.get("cpu_s", 0.0),
            {
                "evaluation_s": evaluation - t0,
                "total_s": sample.wall_s,
                "accuracy": out["test_metrics"].get("accuracy"),
                "worker_cpu_s": resources.get("cpu_s"),
                "preload_cpu_s": resources.get("preload_cpu_s", 0.0),
            },
        )

    return side


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class AppInBrowser:
    """`streamlit run dashboard/app.py` with one warm worker (as `tfstudio app` starts it),
    driven by headless Chromium (Playwright over Debian's chromium, core.browser's flags)."""

    def __init__(self, home: Path) -> None:
        from playwright.sync_api import sync_playwright

        from core.browser import CHROMIUM_ARGS
        from core.export.tfjs_check import chromium_path

        self.home, self.port = home, free_port()
        env = {**os.environ, "TFSTUDIO_HOME": str(home), "TFSTUDIO_WARM_WORKERS": "1"}
        env.pop("TFSTUDIO_HANDLERS", None)
        cmd = [sys.executable, "-m", "streamlit", "run", str(REPO / "dashboard" / "app.py")]
        cmd += ["--server.port", str(self.port), "--server.headless", "true"]
        self.proc = subprocess.Popen(
            cmd, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip
        self.pw = sync_playwright().start()
        self.browser = self.pw.chromium.launch(
            executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS
        )
        self.page = self.browser.new_page(viewport={"width": 1400, "height": 1000})
        self.url = f"http://127.0.0.1:{self.port}"
        deadline = time.time() + 120
        while True:  # the server answers once Streamlit has started
            try:
                self.page.goto(self.url, timeout=5_000)
                break
            except Exception:
                if time.time() > deadline:
                    raise
                time.sleep(0.5)

    def close(self) -> None:
        import signal

        self.browser.close()
        self.pw.stop()
        os.killpg(self.proc.pid, signal.SIGTERM)
        self.proc.wait(timeout=30)
        subprocess.run(
            [sys.executable, "-m", "core.cli.main", "warm", "--stop", "--home", str(self.home)],
            cwd=REPO, capture_output=True,
        )  # fmt: skip


def app_side(app: AppInBrowser):
    """Click Train on the Train page (its defaults: the iris sample) -> the first epoch point
    in the store, and -> the first curve drawn on the page; the run then finishes unmeasured."""
    from core.runs import warm as warm_pool

    def side() -> Sample:
        deadline = time.time() + 300
        while warm_pool.status(app.home)["ready"] < 1:  # unmeasured, as the app keeps one ready
            if time.time() > deadline:
                raise RuntimeError("no warm worker became ready in 300 s")
            time.sleep(0.2)
        page = app.page
        page.goto(f"{app.url}/train")
        page.get_by_text("Column to predict (target)").wait_for(timeout=60_000)
        before = page.locator(".js-plotly-plot").count()
        t0 = time.time()
        page.get_by_role("button", name="Train", exact=True).click()
        page.wait_for_url("**/train?run=*", timeout=60_000)
        run_id = page.url.split("run=")[1].split("&")[0]
        first_ts = None
        drawn = None
        db = app.home / "runs.sqlite"
        while time.time() < t0 + 300 and (first_ts is None or drawn is None):
            if first_ts is None:
                with sqlite3.connect(db) as con:
                    (first_ts,) = con.execute(
                        "SELECT MIN(ts) FROM metrics WHERE run_id = ?", (run_id,)
                    ).fetchone()
            if drawn is None and page.locator(".js-plotly-plot").count() > before:
                drawn = time.time() - t0
            time.sleep(0.1)
        if first_ts is None:
            raise RuntimeError(f"run {run_id}: no epoch point in 300 s")
        while True:  # let it finish, unmeasured, before the next click
            with sqlite3.connect(db) as con:
                (status,) = con.execute(
                    "SELECT status FROM runs WHERE id = ?", (run_id,)
                ).fetchone()
            if status not in ("PENDING", "RUNNING"):
                break
            time.sleep(0.5)
        return Sample(first_ts - t0, None, {"page_curve_s": drawn, "status": status})

    return side


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=5)
    parser.add_argument("--tables", default="iris,penguins")
    parser.add_argument(
        "--sides", default="warm,cold", help="TF Studio sides: warm, cold, app (Chromium)"
    )
    parser.add_argument("--json-out", help="also write every sample here")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="tfstudio-latency-"))
    tables = write_tables(work)
    results = {}
    print(f"machine: {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f} at start")
    try:
        if "app" in args.sides.split(","):
            app = AppInBrowser(work / "home-app")
            try:
                name = "iris: plain Keras vs the app in Chromium (warm worker)"
                print(f"\n== {name}")
                cmp = alternate(
                    "plain", plain_side(tables["iris"]), "app", app_side(app), pairs=args.pairs
                )
                print("click Train -> first epoch point in the store")
                print(cmp.line("wall"))
                drawn = [x.extra["page_curve_s"] for x in cmp.b if x.extra["page_curve_s"]]
                if drawn:  # the plain script draws nothing: its first epoch is the reference
                    print(
                        "click Train -> first curve drawn on the page: median "
                        f"{statistics.median(drawn):.2f} s (range {min(drawn):.2f}-"
                        f"{max(drawn):.2f}, {len(drawn)} runs)"
                    )
                print(cmp.verdict("wall", 2.0))
                results[name] = cmp.to_dict()
            finally:
                app.close()
        for side_name in args.sides.split(","):
            if side_name == "app":
                continue
            warm = side_name == "warm"
            home = work / f"home-{side_name}"
            env = {**os.environ, "TFSTUDIO_HOME": str(home)}
            env.pop("TFSTUDIO_WARM_WORKERS", None)  # the workspace setting decides
            if warm:
                subprocess.run(
                    [sys.executable, "-m", "core.cli.main", "warm", "--count", "1"],
                    cwd=REPO, env=env, check=True, capture_output=True,
                )  # fmt: skip
            for table in args.tables.split(","):
                name = f"{table}: plain Keras vs tfstudio ({side_name} worker)"
                print(f"\n== {name}")
                cmp = alternate(
                    "plain",
                    plain_side(tables[table]),
                    side_name,
                    studio_side(tables[table], home, warm, env),
                    pairs=args.pairs,
                )
                print("click -> first epoch point")
                print(cmp.line("wall"))
                print(cmp.line("cpu"))
                print("click -> evaluation")
                print(cmp.line("evaluation_s"))
                print(cmp.verdict("wall", 2.0))
                results[name] = cmp.to_dict()
            if warm:
                subprocess.run(
                    [sys.executable, "-m", "core.cli.main", "warm", "--stop"],
                    cwd=REPO, env=env, capture_output=True,
                )  # fmt: skip
    finally:
        if args.json_out:
            Path(args.json_out).write_text(json.dumps(results, indent=2, default=str))
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
