"""Per-step training time through the engine vs a plain `model.fit` script, side by side.

Goal (issue: models and training): engine / plain <= 1.10, where the engine path is the real one
(CLI -> detached worker -> reporter -> tf.data pipeline) and the plain path is the same MLP on the
same preprocessed features, fitted from in-memory NumPy arrays. Epoch 1 (tracing, cache fill) is
left out of both. The sides alternate (plain, engine, plain, ... --pairs times, at least 5); the
verdict is on the median per-pair ratio, printed with its spread, and CPU time (the whole process,
TensorFlow import included) is reported beside wall time. Always exits 0.

    .venv/bin/python benchmarks/train_overhead.py [--rows 200000] [--epochs 5] [--batch 256]
        [--pairs 5]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PLAIN = r"""
import json, sys, time
import numpy as np, pandas as pd, keras
from core.models.builders import build_mlp
frame = pd.read_csv(sys.argv[1]); epochs, batch = int(sys.argv[2]), int(sys.argv[3])
x = frame.drop(columns=["label"]).to_numpy("float32")
x = (x - x.mean(0)) / x.std(0)
y = frame["label"].to_numpy("int32")
keras.utils.set_random_seed(0)
model = build_mlp({"hidden_units": (32, 16)}, (x.shape[1],), "classification", 2)
model.compile(optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy",
              metrics=["accuracy"])
ends = []
class T(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        ends.append(time.time())
start = time.time()
a, b = int(len(x) * 0.6), int(len(x) * 0.8)
model.fit(x[:a], y[:a], batch_size=batch, epochs=epochs, validation_data=(x[a:b], y[a:b]),
          verbose=0, callbacks=[T()])
print(json.dumps({"ends": ends, "start": start}))
"""


def make_csv(path: Path, rows: int) -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(rows, 20)).astype("float32")
    frame = pd.DataFrame(x, columns=[f"f{i}" for i in range(20)])
    frame["label"] = (x[:, 0] + x[:, 1] * x[:, 2] > 0).astype(int)
    frame.to_csv(path, index=False)


def per_epoch(ends: list[float]) -> float:
    """Mean seconds per epoch after the first (tracing and cache filling excluded)."""
    return float(np.mean(np.diff(ends)))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--pairs", type=int, default=5)
    args = parser.parse_args()
    from benchmarks.abab import Sample, alternate, run_child
    from core.runs.store import RunStore

    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "bench.csv"
        make_csv(csv, args.rows)
        steps = int(args.rows * 0.6 / args.batch)
        home = Path(tmp) / "home"

        def plain() -> Sample:
            cmd = [sys.executable, "-c", PLAIN, str(csv), str(args.epochs), str(args.batch)]
            out, sample = run_child(cmd, cwd=ROOT)
            times = json.loads(out.stdout.strip().splitlines()[-1])
            return Sample(per_epoch(times["ends"]), sample.cpu_s, {"total_s": sample.wall_s})

        def engine() -> Sample:
            cmd = [
                sys.executable, "-m", "core.cli.main", "train", "--data", str(csv),
                "--target", "label", "--epochs", str(args.epochs),
                "--batch-size", str(args.batch), "--learning-rate", "0.01",
                "--json", "--home", str(home),
            ]  # fmt: skip
            out, sample = run_child(cmd, cwd=ROOT)
            run_id = json.loads(out.stdout)["run_id"]
            store = RunStore(home / "runs.sqlite")
            points = store.get_metrics(run_id).points
            ends = [ts for _, ts in sorted({p.step: p.ts for p in points}.items())]
            # The CLI only waits; the detached worker did the work and reports its own CPU.
            cpu = (store.get_run(run_id).result or {}).get("resources", {}).get("cpu_s")
            return Sample(per_epoch(ends), cpu, {"total_s": sample.wall_s})

        cmp = alternate("plain", plain, "engine", engine, pairs=args.pairs)

    print(
        f"rows {args.rows:,} · batch {args.batch} · {steps} steps/epoch · epochs 2..{args.epochs}"
    )
    print("wall = seconds per epoch (epochs 2..N); cpu = the whole process (import included)")
    print(cmp.line("wall"))
    print(cmp.line("cpu"))
    print(cmp.line("total_s"))
    print(cmp.verdict("wall", 1.10))
    print(json.dumps(cmp.to_dict()))


if __name__ == "__main__":
    main()
