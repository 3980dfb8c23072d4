"""The training run a profile reads, checked before TensorFlow loads (the CLI and the job)."""

from __future__ import annotations

from pathlib import Path

from core.models.io import trained_run_dir
from core.profiling.options import precheck
from core.runs.store import Run, RunStore
from core.specs import ProfileSpec
from core.workspace import Workspace

# What the job loads from the run: a network without its preprocessing, and the input contract.
NEEDS = ("network.keras", "preprocessing.keras", "features.json")


def check_source(spec: ProfileSpec, store: RunStore, ws: Workspace) -> tuple[Path, Run]:
    """The source run's folder and record; BadInput for a run that is not a finished training
    run with those files, or a step range outside its epochs."""
    folder = trained_run_dir(
        store, ws, spec.source_run, "profiling takes a training run", needs=NEEDS
    )
    source = store.get_run(spec.source_run)
    precheck(spec, source.spec, source.result or {})
    return folder, source
