"""The tune stage: a child search over the train stage's spec, then a child training run of
its best trial (promoted, warm-started like train)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.pipelines.stages.train import learner_outputs, train_spec_dict

if TYPE_CHECKING:
    from core.pipelines.job import Runner


def run(r: Runner, stage, out: Path) -> dict[str, Any]:
    import dataclasses

    from core.specs import TrainSpec, TuneSpec

    train = train_spec_dict(r, stage)
    warm = train.pop("warm_start", "")
    tune_fields = {f.name for f in dataclasses.fields(TuneSpec)} - {"base"}
    params = {k: v for k, v in stage.params.items() if k in tune_fields}
    tune_spec = TuneSpec.from_dict({**params, "base": train})
    (out / "tune_spec.json").write_text(json.dumps(tune_spec.to_dict(), indent=2))
    tuned = r.child(stage, "tune", tune_spec)
    from core.tuning.promote import promote_spec

    promoted = promote_spec(tuned)
    if not isinstance(promoted, TrainSpec):
        promoted = TrainSpec.from_dict(dict(promoted))
    promoted = dataclasses.replace(promoted, warm_start=warm)
    (out / "spec.json").write_text(json.dumps(promoted.to_dict(), indent=2))
    run = r.child(stage, "train", promoted)
    return learner_outputs(run, promoted, tune_run=tuned.id)
