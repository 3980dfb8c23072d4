"""Helpers for the registry and pipeline tests: finished training runs without TensorFlow.

`fake_train` is a job handler (`TFSTUDIO_HANDLERS=train=tests.test_pipeline_fakes:fake_train`)
that behaves like a training run on the outside: it reads its data through the real loader
(so a dataset version is resolved and hashed), sleeps `FAKE_TRAIN_S` seconds in steps (so a test
can kill the pipeline while it runs), writes the files a training run leaves and returns a result
of the same shape, with a made-up accuracy. `finished_train_run` records such a run directly.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from core.runs.status import RunStatus


def fake_train(spec, reporter, run_dir: Path):
    from core.data.resolve import load_data

    loaded = load_data(spec.data)
    steps = 4
    for step in range(1, steps + 1):
        reporter.progress("training", step, steps, f"epoch {step}/{steps}")
        time.sleep(float(os.environ.get("FAKE_TRAIN_S", "0.2")) / steps)
    return _write_outputs(run_dir, spec.target, loaded.lineage, accuracy=0.9)


def _write_outputs(run_dir: Path, target: str, lineage: dict, accuracy: float) -> dict:
    run_dir.mkdir(parents=True, exist_ok=True)
    for name in ("model.keras", "network.keras"):
        (run_dir / name).write_bytes(b"not a real model")
    metrics = {"accuracy": accuracy, "macro_f1": accuracy - 0.05}
    (run_dir / "evaluation.json").write_text(json.dumps({"metrics": metrics}))
    return {
        "task": "classification",
        "model": "mlp",
        "target": target,
        "data": lineage,
        "metrics": {"val_accuracy": accuracy},
        "test_metrics": metrics,
    }


def finished_train_run(ws, store, data: str, target: str = "species", accuracy: float = 0.9):
    """A SUCCEEDED training run on `data` (a dataset id), recorded as a worker would."""
    from core.data.datasets import DatasetStore

    version = DatasetStore(ws).get(data)
    spec = {"data": data, "target": target, "epochs": 2}
    run = store.create_run("train", spec)
    store.set_status(run.id, RunStatus.RUNNING)
    result = _write_outputs(
        ws.run_dir(run.id), target, {"dataset": version.id, "sha256": version.sha256}, accuracy
    )
    store.add_artifact(run.id, "model.keras", ws.run_dir(run.id) / "model.keras")
    return store.finish_run(run.id, result)
