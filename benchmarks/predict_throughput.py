"""Batch prediction throughput: `tfstudio predict` against a plain Keras script (#34).

    .venv/bin/python benchmarks/predict_throughput.py --rows 200000 --pairs 5   # ~6 min

Setup (unmeasured): a penguins-shaped table (4 numbers with gaps, 2 categories, 3 classes,
seeded) trains a default model for 3 epochs; a file of `--rows` new rows is written.
Side A, the floor: a plain script a user would write: import TensorFlow, load model.keras,
read the CSV with pandas, `model.predict(batch_size=1024)`, write the class probabilities as a
CSV. Side B: `tfstudio predict RUN --data rows.csv --out out.csv` from a shell, a cold worker
(TensorFlow import included, as on A), which also checks every value and streams in chunks.
Both are timed from spawn to exit, alternately (ABAB), CPU from the kernel's accounting (B's
worker is detached: its CPU comes from its own `resources`). Goal: B's rows/s >= 0.8x A's, i.e.
the wall ratio B/A <= 1.25. Prints the table and the verdict; exits 0.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.abab import Sample, alternate, run_child  # noqa: E402

TFSTUDIO = str(REPO / ".venv/bin/tfstudio")
PYTHON = str(REPO / ".venv/bin/python")

PLAIN = """
import sys, time
sys.path.insert(0, {repo!r})
import numpy as np, pandas as pd, keras, tensorflow as tf
import core.training.layers  # the model's custom layers (the Keras bundle ships them too)
model = keras.models.load_model({model!r})
frame = pd.read_csv({data!r})
inputs = {{}}
for name in [i.name for i in model.inputs]:
    col = frame[name]
    if pd.api.types.is_numeric_dtype(col):
        inputs[name] = tf.constant(col.to_numpy("float32").reshape(-1, 1))
    else:
        inputs[name] = tf.constant(col.fillna("").astype(str).to_numpy(dtype=object).reshape(-1, 1))
p = model.predict(inputs, batch_size=1024, verbose=0)
pd.DataFrame(p, columns={classes!r}).to_csv({out!r}, index=False)
"""


def table(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    species = rng.choice(["Adelie", "Chinstrap", "Gentoo"], n)
    base = {"Adelie": 38.0, "Chinstrap": 48.0, "Gentoo": 47.0}
    frame = pd.DataFrame(
        {
            "bill_length_mm": [base[s] + rng.normal(0, 2.5) for s in species],
            "bill_depth_mm": rng.normal(17, 2, n),
            "flipper_length_mm": rng.normal(200, 14, n),
            "body_mass_g": rng.normal(4200, 800, n),
            "island": rng.choice(["Biscoe", "Dream", "Torgersen"], n),
            "sex": rng.choice(["MALE", "FEMALE"], n),
            "species": species,
        }
    )
    for c in ("bill_length_mm", "body_mass_g"):
        frame.loc[rng.random(n) < 0.02, c] = np.nan
    return frame


def worker_cpu(home: Path, run_id: str) -> float:
    payload = json.loads(
        run_child([TFSTUDIO, "runs", "show", run_id, "--json", "--home", str(home)])[0].stdout
    )
    return float((payload.get("resources") or {}).get("cpu_s") or 0.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--pairs", type=int, default=5)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="predict-bench-"))
    home = work / "home"
    env = {**os.environ, "TFSTUDIO_WARM_WORKERS": "0", "TFSTUDIO_HOME": str(home)}
    train_csv, rows_csv = work / "train.csv", work / "rows.csv"
    table(2000, 0).to_csv(train_csv, index=False)
    table(args.rows, 1).drop(columns=["species"]).to_csv(rows_csv, index=False)
    done, _ = run_child(
        [TFSTUDIO, "train", "--data", str(train_csv), "--target", "species", "--epochs", "3",
         "--json", "--home", str(home)], env=env,
    )  # fmt: skip
    run = json.loads(done.stdout)
    model = home / "runs" / run["run_id"] / "model.keras"
    script = work / "plain.py"
    classes = run["result"]["classes"]
    values = {
        "repo": str(REPO),
        "model": str(model),
        "data": str(rows_csv),
        "out": str(work / "a.csv"),
    }
    script.write_text(PLAIN.format(classes=classes, **values))

    def plain() -> Sample:
        done, sample = run_child([PYTHON, str(script)], env=env)
        assert done.returncode == 0, done.stderr[-2000:]
        return sample

    def studio() -> Sample:
        cmd = [TFSTUDIO, "predict", run["run_id"], "--data", str(rows_csv),
               "--out", str(work / "b.csv"), "--json", "--home", str(home)]  # fmt: skip
        done, sample = run_child(cmd, env=env)
        assert done.returncode == 0, done.stderr[-2000:]
        payload = json.loads(done.stdout)
        sample.cpu_s = (sample.cpu_s or 0.0) + worker_cpu(home, payload["run_id"])
        sample.extra["rows_per_s_in_job"] = payload["rows_per_s"]
        return sample

    cmp = alternate("plain Keras script", plain, "tfstudio predict", studio, pairs=args.pairs)
    a = pd.read_csv(work / "a.csv").to_numpy()
    b = pd.read_csv(work / "b.csv")
    diff = float(np.abs(b[[f"p_{c}" for c in run["result"]["classes"]]].to_numpy() - a).max())
    print(f"\n{args.rows:,} rows; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(cmp.line("wall"))
    print(cmp.line("cpu"))
    print(f"max |probability difference| between the two outputs: {diff:.2g}")
    print(cmp.verdict("wall", goal=1.25))


if __name__ == "__main__":
    main()
