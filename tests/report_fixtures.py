"""Finished runs of the real shapes (train, compress, export, tune), written straight into a
store without TensorFlow, for report, Runs page and learn-mode tests."""

from __future__ import annotations

import json
from pathlib import Path

from core.runs.status import RunStatus
from core.runs.store import Run, RunStore
from core.workspace import Workspace

CLASSES = ["setosa", "versicolor", "virginica"]
# Validation loss falls to epoch 12, then rises while training loss keeps falling.
OVERFIT_HISTORY = {
    "loss": [1.0 - 0.05 * i for i in range(20)],
    "val_loss": [1.0 - 0.05 * i for i in range(12)] + [0.45 + 0.04 * i for i in range(8)],
    "accuracy": [0.5 + 0.025 * i for i in range(20)],
    "val_accuracy": [0.5 + 0.02 * i for i in range(12)] + [0.72] * 8,
}
EVALUATION = {
    "task": "classification",
    "metrics": {"accuracy": 28 / 30, "macro_f1": 0.933},
    "classes": CLASSES,
    "confusion_matrix": [[10, 0, 0], [0, 9, 1], [0, 1, 9]],
    "per_class": {
        c: {"precision": 0.9, "recall": 0.9, "f1-score": 0.9, "support": 10.0} for c in CLASSES
    },
}


def _finish(store: RunStore, ws: Workspace, kind: str, spec, result, files, name="") -> Run:
    run = store.create_run(kind, spec, name=name or f"{kind} fixture")
    store.set_status(run.id, RunStatus.RUNNING)
    folder = ws.run_dir(run.id)
    folder.mkdir(parents=True, exist_ok=True)
    for fname, payload in files.items():
        path = folder / fname
        if isinstance(payload, bytes):
            path.write_bytes(payload)
        else:
            path.write_text(json.dumps(payload))
        store.add_artifact(run.id, fname, path)
    return store.finish_run(run.id, result)


def make_train_run(store: RunStore, ws: Workspace, history=None, data="sample:iris") -> Run:
    spec = {
        "data": data,
        "target": "species",
        "epochs": 20,
        "batch_size": 32,
        "learning_rate": 0.01,
        "early_stopping": 0,
        "optimizer": "adam",
    }
    result = {
        "task": "classification",
        "model": "mlp",
        "target": "species",
        "data": {"sample": data, "sha256": "b6b8efc86732bc48c9fb"},
        "rows": {"train": 90, "validation": 30, "test": 30},
        "classes": CLASSES,
        "metrics": {"val_accuracy": 0.72},
        "test_metrics": EVALUATION["metrics"],
        "tflite_parity": {"max_abs_diff": 1.5e-7, "rows": 30, "agreement": 1.0},
        "parameters": 739,
        "model_bytes": 81413,
    }
    files = {
        "history.json": history or OVERFIT_HISTORY,
        "evaluation.json": EVALUATION,
        "model.keras": b"k" * 100,
        "features.json": {
            "task": "classification",
            "target": "species",
            "features": [
                {"column": c, "input": c, "dtype": "float32"}
                for c in ("sepal_length_cm", "sepal_width_cm", "petal_length_cm", "petal_width_cm")
            ],
            "classes": CLASSES,
            "input_kind": "table",
            "details": {},
        },
    }
    return _finish(store, ws, "train", spec, result, files, name="fixture · mlp · species")


def make_compress_run(store: RunStore, ws: Workspace, source: Run) -> Run:
    folder = ws.run_dir("x")
    base = {
        "method": "float",
        "size_bytes": 38_000,
        "gzip_bytes": 30_000,
        "metric_name": "accuracy",
        "metric": 0.95,
        "latency_ms": 0.10,
        "batch_latency_ms": 0.9,
        "batch_rows": 32,
        "keras_latency_ms": 0.4,
        "keras_batch_ms": 1.8,
        "keras_batch_rows": 32,
        "path": str(folder / "model_float.tflite"),
    }
    int8 = {
        **base,
        "method": "int8",
        "size_bytes": 10_000,
        "gzip_bytes": 8_000,
        "metric": 0.946,
        "latency_ms": 0.05,
        "agreement": 0.98,
        "path": str(folder / "model_int8.tflite"),
    }
    report = {
        "source_run": source.id,
        "task": "classification",
        "methods": ["int8"],
        "test_rows": 30,
        "notes": [],
        "baseline": base,
        "variants": [int8],
    }
    spec = {"source_run": source.id, "method": "int8"}
    files = {"compression_report.json": report}
    return _finish(store, ws, "compress", spec, report, files, name="compress int8")


def _bundle(out: Path, fmt: str, model: str, sizes: tuple[int, int], diff: float, rows: int):
    """A checked bundle of `fmt` in a result: its model file, zip, sizes and parity."""
    return {
        "format": fmt,
        "ok": True,
        "path": str(out / model),
        "bundle": str(out / f"{fmt}.zip"),
        "model_bytes": sizes[0],
        "size_bytes": sizes[1],
        "parity": {"max_abs_diff": diff, "rows": rows, "agreement": 1.0},
    }


def make_export_run(store: RunStore, ws: Workspace, source: Run) -> Run:
    out = ws.run_dir(source.id)
    bundles = {
        "tflite": _bundle(out, "tflite", "model.tflite", (13060, 9000), 6e-8, 30),
        "tfjs": _bundle(out, "tfjs", "tfjs", (20000, 400000), 2e-7, 8),
    }
    result = {
        "source_run": source.id,
        "formats": ["tflite", "tfjs"],
        "serving_name": "iris",
        "version": 1,
        "bundles": bundles,
    }
    spec = {"source_run": source.id, "format": "all"}
    return _finish(store, ws, "export", spec, result, {}, name="export all")


def make_tune_run(store: RunStore, ws: Workspace) -> Run:
    trials = [
        {
            "trial_id": f"t{i}",
            "number": i,
            "status": "COMPLETED",
            "score": s,
            "epochs": 3,
            "hyperparameters": {"units": u, "learning_rate": lr},
        }
        for i, (s, u, lr) in enumerate([(0.6, 8, 0.0001), (0.93, 64, 0.01), (0.8, 32, 0.001)])
    ]
    result = {
        "engine": "keras-tuner",
        "tuner": "random",
        "objective": {"name": "val_accuracy", "direction": "max"},
        "model": "mlp",
        "best": {"trial_id": "t1", "score": 0.93},
        "completed": 3,
        "failed": 0,
        "trials": trials,
    }
    files = {f"trials/{t['trial_id']}.json": t for t in trials}
    run = store.create_run("tune", {"tuner": "random", "max_trials": 3}, name="search random")
    store.set_status(run.id, RunStatus.RUNNING)
    folder = ws.run_dir(run.id)
    (folder / "trials").mkdir(parents=True, exist_ok=True)
    for fname, payload in files.items():
        (folder / fname).write_text(json.dumps(payload))
    return store.finish_run(run.id, result)


def instant_submit(store: RunStore):
    """A stand-in for `launcher.submit` that records the run and marks it SUCCEEDED at once,
    for tests of what pages and the demo submit (no worker process, so no TensorFlow)."""

    def submit(ws, _store, spec, kind=None, name=""):
        kind = kind or spec.kind
        spec_dict = spec.to_dict() if hasattr(spec, "to_dict") else dict(spec)
        run = store.create_run(kind, spec_dict, name=name)
        store.set_status(run.id, RunStatus.RUNNING)
        return store.finish_run(run.id, {"metrics": {}})

    return submit
