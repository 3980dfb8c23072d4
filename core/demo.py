"""The stakeholder demo: a workspace that tells the whole story without waiting on anyone.

`seed_demo(ws)` (run by `tfstudio app --demo`, i.e. `make demo`) starts, in an empty workspace,
a training run on the iris sample and a small hyperparameter search side by side, plus a
detached story process (`python -m core.demo WORKSPACE TRAIN_RUN`, no TensorFlow in it) that
waits for the model and then starts its int8 compression and its export (TFLite, SavedModel and
a TF.js bundle that runs in the browser). Every run is real; on this project's shared 2-core
machine the story finished in 125 s (217 s under heavier load), so `make demo-ready` prepares
it ahead; a workspace that already has it is opened as is, at once.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from core.runs import launcher
from core.runs.status import RunStatus
from core.runs.store import Run, RunStore
from core.specs import CompressSpec, ExportSpec, TrainSpec, TuneSpec
from core.workspace import Workspace

DATA, TARGET = "sample:iris", "species"
# Wide enough that its weights dominate the file, so int8 shows the ~4x a real model gets
# (iris' default 739-parameter network is smaller than int8's own overhead).
DEMO_SPEC = TrainSpec(
    data=DATA, target=TARGET, epochs=40, early_stopping=8, hidden_units=(256, 128)
)
DEMO_SEARCH = TuneSpec(
    base={"data": DATA, "target": TARGET, "epochs": 4},
    tuner="random",
    max_trials=3,
    objective="val_accuracy",
    trial_early_stopping=0,
)
EXPORT_FORMATS = ("tflite", "savedmodel", "tfjs")
REPO = Path(__file__).resolve().parents[1]


def seed_demo(ws: Workspace) -> Run | None:
    """Start the demo story in an empty workspace; returns its training run, or None if the
    workspace already has runs (the story is there, or the user's own work is)."""
    store = RunStore(ws.db_path)
    if store.list_runs(limit=1):
        return None
    train = launcher.submit(ws, store, DEMO_SPEC, name="demo · mlp · species · sample iris")
    launcher.submit(ws, store, DEMO_SEARCH, name="demo · random search · species · sample iris")
    subprocess.Popen(
        [sys.executable, "-m", "core.demo", str(ws.root), train.id],
        cwd=REPO,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=open(ws.root / "demo.log", "ab"),  # noqa: SIM115 (the child owns it)
        start_new_session=True,  # outlives the app: closing the tab does not stop the story
    )
    return train


def finish_story(ws: Workspace, train_id: str, timeout_s: float = 900) -> list[Run]:
    """Wait for the demo model, then start its compression and export; returns those runs
    (none when training did not succeed: its run page then says why)."""
    store = RunStore(ws.db_path)
    trained = launcher.wait(store, train_id, timeout_s=timeout_s)
    if trained.status is not RunStatus.SUCCEEDED:
        return []
    compress = launcher.submit(
        ws, store, CompressSpec(source_run=train_id, method="int8"), name="demo · int8"
    )
    export = launcher.submit(
        ws,
        store,
        ExportSpec(
            source_run=train_id,
            format=EXPORT_FORMATS[0],
            formats=EXPORT_FORMATS,
            serving_name="iris",
        ),
        name="demo · export tflite, savedmodel, tfjs",
    )
    return [compress, export]


def prepare(ws: Workspace, timeout_s: float = 900) -> list[Run]:
    """Seed the story (when the workspace is empty) and wait until every run has ended, so a
    later `make demo` opens with everything finished (`make demo-ready`)."""
    import time

    store = RunStore(ws.db_path)
    seed_demo(ws)
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        runs = store.list_runs(limit=50)
        story_done = len(runs) >= 4 or any(
            r.kind == "train" and r.status.is_finalized and r.status is not RunStatus.SUCCEEDED
            for r in runs
        )
        if story_done and all(r.status.is_finalized for r in runs):
            return runs
        time.sleep(1)
    raise TimeoutError(f"the demo story did not finish within {timeout_s:.0f} s")


if __name__ == "__main__":
    if sys.argv[1] == "--prepare":
        started = __import__("time").time()
        for r in prepare(Workspace.resolve(sys.argv[2])):
            took = (r.finished_at or 0) - started
            print(f"{r.kind:<9} {r.status.value:<10} {r.name}  (done {took:.0f} s after start)")
    else:
        finish_story(Workspace.resolve(sys.argv[1]), sys.argv[2])
