"""The pipeline's stages, a module each: `run(runner, stage, out_folder) -> outputs`.

Ingest, statistics, validation, evaluation and push run in the pipeline's worker; train and tune
submit child runs through `runner.child` and wait for them. A stage ends the pipeline on purpose
by raising `StageStop` (validation blocked it, no new data); any other exception fails it.
"""

from __future__ import annotations

from core.pipelines.stages import evaluate, ingest, push, statistics, train, tune, validate

STAGES = {
    "ingest": ingest.run,
    "statistics": statistics.run,
    "validate": validate.run,
    "train": train.run,
    "tune": tune.run,
    "evaluate": evaluate.run,
    "push": push.run,
}
