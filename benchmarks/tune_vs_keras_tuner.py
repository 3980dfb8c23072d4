"""The same KerasTuner search through TF Studio's tuning job and as a plain KerasTuner script.

Goal (issue 5): wall time TF Studio / plain <= 1.05, and the same best score.

Same search on both sides: RandomSearch (or --tuner), seed 42, the MLP's declared space
(hidden_units choice, dropout 0..0.5 step 0.1, learning_rate 1e-4..1e-1 log), objective
val_accuracy, N trials of E epochs, on the iris (or wine) sample. Both sides get their data from
the same table preprocessing (`core.training.families.tabular.prepare`), so the comparison
isolates the search: TF Studio's side is `run_tune_job` (oracle subclasses, trial records after
every epoch, retention, search.json, atomic state files); the plain side is a KerasTuner script
with a hand-written model function. Each run is its own child process; time is from the start
of the data preparation to the end of the search (imports, the same modules on both sides, are
not counted). Sides alternate
(plain, TF Studio, plain, ... --pairs times, at least 5); the verdict is the median per-pair ratio,
printed with its spread, for wall time and for CPU time (all threads). Always exits 0.

    .venv/bin/python benchmarks/tune_vs_keras_tuner.py [--trials 8] [--epochs 5] [--data iris]
        [--pairs 5]   (--repeats N is the same as --pairs N; there is no best-of-N)
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

COMMON = r"""
import json, sys, time
from pathlib import Path
import keras
args = json.loads(sys.argv[1])
work = Path(args["dir"]); work.mkdir(parents=True, exist_ok=True)
from core.specs import TrainSpec
from core.data.resolve import load_data
from core.runs.reporter import NullReporter
"""

OURS = (
    COMMON
    + r"""
import keras_tuner
from core.specs import TuneSpec
from core.training import job as training_job
from core.training.families import tabular
from core.tuning.job import run_tune_job
spec = TuneSpec(
    base=TrainSpec(data=f"sample:{args['data']}", target=args["target"], epochs=args["epochs"],
                   batch_size=16, seed=42).to_dict(),
    tuner=args["tuner"], objective="val_accuracy", max_trials=args["trials"],
    trial_early_stopping=0, keep_best=3,
)
start, cpu = time.perf_counter(), time.process_time()
result = run_tune_job(spec, NullReporter(), work)
elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
print(json.dumps({"seconds": elapsed, "cpu": cpu, "best": result["best"]["score"],
                  "best_hp": result["best"]["hyperparameters"],
                  "scores": [t["score"] for t in result["trials"]]}))
"""
)

PLAIN = (
    COMMON
    + r"""
import keras_tuner as kt
from core.training.families import tabular
start, cpu = time.perf_counter(), time.process_time()
base = TrainSpec(data=f"sample:{args['data']}", target=args["target"], epochs=args["epochs"],
                 batch_size=16, seed=42, task="classification")
keras.utils.set_random_seed(42)
prepared = tabular.prepare(base, load_data(base.data), work, NullReporter())
classes = prepared.outputs

def build(hp):
    units = hp.Choice("hidden_units", ["16", "32-16", "64-32", "128-64-32"], default="32-16")
    dropout = hp.Float("dropout", 0.0, 0.5, step=0.1, default=0.0)
    rate = hp.Float("learning_rate", 1e-4, 1e-1, sampling="log", default=0.01)
    inputs = keras.Input(shape=prepared.network_input_shape, name="features")
    x = inputs
    for i, width in enumerate(int(w) for w in units.split("-")):
        x = keras.layers.Dense(width, activation="relu", name=f"dense_{i}")(x)
        if dropout > 0:
            x = keras.layers.Dropout(dropout, name=f"dropout_{i}")(x)
    out = keras.layers.Dense(int(classes), activation="softmax", name="probabilities")(x)
    model = keras.Model(inputs, out, name="mlp")
    model.compile(keras.optimizers.Adam(rate), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model

tuner_cls = {"random": kt.RandomSearch, "grid": kt.GridSearch,
             "bayesian": kt.BayesianOptimization}[args["tuner"]]
tuner = tuner_cls(build, objective=kt.Objective("val_accuracy", "max"),
                  max_trials=args["trials"], seed=42, directory=str(work), project_name="kt")
tuner.search(prepared.train, validation_data=prepared.validation, epochs=args["epochs"],
             verbose=0)
elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
trials = sorted(tuner.oracle.trials.values(), key=lambda t: int(t.trial_id))
best = tuner.oracle.get_best_trials(1)[0]
print(json.dumps({"seconds": elapsed, "cpu": cpu, "best": best.score,
                  "best_hp": best.hyperparameters.values, "scores": [t.score for t in trials]}))
"""
)


def run(code: str, args: dict) -> dict:
    proc = subprocess.run(
        [sys.executable, "-c", code, json.dumps(args)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**__import__("os").environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    if proc.returncode != 0:
        raise SystemExit(f"child failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=8)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--data", default="iris", choices=["iris", "wine"])
    parser.add_argument("--tuner", default="random", choices=["random", "grid", "bayesian"])
    # --repeats is the older name (it meant best-of-N); it now sets the number of pairs.
    parser.add_argument("--pairs", "--repeats", dest="pairs", type=int, default=5)
    opts = parser.parse_args()
    from benchmarks.abab import Sample, alternate

    target = {"iris": "species", "wine": "cultivar"}[opts.data]
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        counter = iter(range(10_000))

        def side(name: str):
            def go() -> Sample:
                args = {
                    "dir": str(Path(tmp) / f"{name}{next(counter)}"),
                    "data": opts.data,
                    "target": target,
                    "epochs": opts.epochs,
                    "trials": opts.trials,
                    "tuner": opts.tuner,
                }
                out = run(OURS if name == "tfstudio" else PLAIN, args)
                results[name] = out
                return Sample(out["seconds"], out["cpu"], {"best": out["best"]})

            return go

        cmp = alternate("plain", side("plain"), "tfstudio", side("tfstudio"), pairs=opts.pairs)
    same = abs(results["plain"]["best"] - results["tfstudio"]["best"]) < 1e-6
    same_scores = all(
        (a is None and b is None) or (a is not None and b is not None and abs(a - b) < 1e-6)
        for a, b in zip(results["plain"]["scores"], results["tfstudio"]["scores"], strict=False)
    )
    print(f"\n{opts.tuner} search, {opts.trials} trials x {opts.epochs} epochs on {opts.data}")
    print(cmp.line("wall"))
    print(cmp.line("cpu"))
    print(cmp.verdict("wall", 1.05))
    print(cmp.verdict("cpu", 1.05))
    print(
        f"best val_accuracy: plain {results['plain']['best']:.4f}, TF Studio "
        f"{results['tfstudio']['best']:.4f} -> {'PASS (same)' if same else 'MISS (differ)'}; "
        f"every trial's score identical: {same_scores}"
    )
    print(f"best hyperparameters: plain {results['plain']['best_hp']}")
    print(f"                      TF Studio {results['tfstudio']['best_hp']}")
    print(json.dumps(cmp.to_dict()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
