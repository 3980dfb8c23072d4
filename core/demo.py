"""The bundled demo project: a workspace with a training run on the iris sample already started,
so a newcomer opening the app sees live curves, an evaluation and downloads within seconds."""

from __future__ import annotations

from core.runs import launcher
from core.runs.store import Run, RunStore
from core.specs import TrainSpec
from core.workspace import Workspace

DEMO_SPEC = TrainSpec(data="sample:iris", target="species", epochs=40)


def seed_demo(ws: Workspace) -> Run | None:
    """Start the demo run in an empty workspace; returns it, or None if the workspace has runs."""
    store = RunStore(ws.db_path)
    if store.list_runs(limit=1):
        return None
    return launcher.submit(ws, store, DEMO_SPEC, name="demo · mlp · species · sample iris")
