"""Challenger against production on the same held-out rows (imports TensorFlow: jobs only).

The challenger's test split is rebuilt from its own spec (same data, seed and split, so the same
rows); both end-to-end models predict those raw rows and are scored by the evaluation every
training run uses. The production model's class columns are reordered to the challenger's classes
(a class it never saw scores zero probability), so class ids mean the same thing for both.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from core.runs.reporter import NullReporter
from core.workspace import Workspace


def compare_on_test_split(
    ws: Workspace, challenger_run: str, production_run: str | None
) -> dict[str, Any]:
    import keras

    from core.data.resolve import load_data
    from core.models.io import load_run_model
    from core.runs.store import RunStore
    from core.specs import TrainSpec
    from core.training.build import prepare, to_tensors
    from core.training.evaluation import evaluate
    from core.training.features import ModelContract
    from core.training.precheck import plan

    store = RunStore(ws.db_path)
    spec = TrainSpec.from_dict(store.get_run(challenger_run).spec)
    loaded = load_data(spec.data, ws, bounded=True)
    task, _ = plan(spec, loaded)
    keras.utils.set_random_seed(spec.seed)
    with tempfile.TemporaryDirectory() as tmp:
        prepared = prepare(spec, task, loaded, Path(tmp), NullReporter())
    rows = len(prepared.test_y)
    out: dict[str, Any] = {"rows": rows, "data": spec.data, "task": task}
    if loaded.notes:
        out["notes"] = list(loaded.notes)

    def score(run_id: str) -> dict[str, Any]:
        run_dir = ws.run_dir(run_id)
        model = load_run_model(run_dir)
        inputs = prepared.test_inputs
        if isinstance(inputs, dict):
            names = [t.name.split(":")[0] for t in model.inputs]
            missing = [n for n in names if n not in inputs]
            if missing:
                raise ValueError(f"the new data has no input(s) {', '.join(missing)}")
            inputs = {n: inputs[n] for n in names}
        predictions = np.asarray(model.predict(to_tensors(inputs), verbose=0))
        if prepared.is_classification:
            theirs = ModelContract.load(run_dir / "features.json").classes
            ours = prepared.contract.classes
            aligned = np.zeros((len(predictions), len(ours)), dtype=predictions.dtype)
            for j, cls in enumerate(ours):
                if cls in theirs:
                    aligned[:, j] = predictions[:, theirs.index(cls)]
            predictions = aligned
        evaluation = evaluate(prepared, predictions)
        return {
            "run_id": run_id,
            "metrics": {k: v for k, v in evaluation["metrics"].items() if v is not None},
        }

    out["challenger"] = score(challenger_run)
    if production_run:
        try:
            out["production"] = score(production_run)
        except Exception as exc:  # noqa: BLE001  (a model that cannot read the new rows)
            out["production"] = {
                "run_id": production_run,
                "metrics": {},
                "error": f"{type(exc).__name__}: {str(exc)[:300]}",
            }
    return out
