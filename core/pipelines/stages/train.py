"""The train stage: a child training run on the materialized data, its spec taken from
production's run, the stage's parameters and a warm start; what a learner stage reports."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from core.pipelines.job import Runner


def train_spec_dict(r: Runner, stage) -> dict[str, Any]:
    import dataclasses

    from core.specs import TrainSpec

    fields = {f.name for f in dataclasses.fields(TrainSpec)}
    base: dict[str, Any] = {}
    if r.ctx.get("production_run"):
        base = dict(r.store.get_run(r.ctx["production_run"]).spec)
    base = {k: v for k, v in base.items() if k in fields}
    params = {k: v for k, v in stage.params.items() if k in fields}
    spec = {**base, **params, "data": r.materialize()}
    spec["target"] = params.get("target") or r.ctx.get("target") or base.get("target", "")
    warm = stage.params.get("warm_start", True)
    spec["warm_start"] = r.ctx["production_run"] if (warm and r.ctx.get("production_run")) else ""
    return spec


def run(r: Runner, stage, out: Path) -> dict[str, Any]:
    from core.specs import TrainSpec
    from core.training.precheck import check_train_spec

    spec = TrainSpec.from_dict(train_spec_dict(r, stage))
    check_train_spec(spec, r.ws)
    (out / "spec.json").write_text(json.dumps(spec.to_dict(), indent=2))
    run = r.child(stage, "train", spec)
    return learner_outputs(run, spec)


def learner_outputs(run, spec, **extra) -> dict[str, Any]:
    result = run.result or {}
    return {
        "run_id": run.id,
        "warm_start": spec.warm_start,
        "data": spec.data,
        "test_metrics": result.get("test_metrics", {}),
        **extra,
    }
