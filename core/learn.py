"""Learn mode: a guided path through the toolchain on a bundled sample (no TensorFlow, no UI).

Each step says what the TensorFlow tool does and why, names the one decision to make with its
default, and is checked off from the workspace itself (its datasets and runs), so progress
survives closing the browser and is the same in every tab. The on/off switch and the few facts
runs cannot show (a server was started) live in `<workspace>/learn.json`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from core.runs.status import RunStatus
from core.runs.store import Run, RunStore
from core.serving.ports import SERVE_PORT
from core.spec_base import field_default
from core.specs import TrainSpec
from core.util import write_json_atomic
from core.workspace import Workspace

STATE_FILE = "learn.json"
SAMPLE = "iris"
SAMPLE_TARGET = "species"


@dataclass(frozen=True)
class LearnStep:
    key: str
    title: str
    page: str  # the page (dashboard.navigation.PAGES name) where the step is done
    what: str  # two or three plain sentences: what the TensorFlow tool does and why
    decision: str  # the one decision, with its sensible default
    done_when: str  # what checks the step off


STEPS: tuple[LearnStep, ...] = (
    LearnStep(
        "data",
        "Data",
        "data",
        "TF Studio reads a table into a tf.data pipeline, which streams shuffled batches to the "
        "model and prefetches the next one while the current one trains. It also profiles every "
        "column and saves a schema, so later data can be checked against it, as TFX's data "
        "validation does.",
        "Which column to predict. Default: the iris sample's species column (three flower "
        "kinds from four measurements).",
        "a dataset is in the workspace",
    ),
    LearnStep(
        "train",
        "Train",
        "train",
        "Keras builds a small neural network with its preprocessing layers (normalization, "
        "category lookup) inside the model, so the saved file takes raw rows and training and "
        "serving can never disagree. The rows are split three ways: the model learns on the "
        "training split, the validation split shows when to stop, and the untouched test split "
        "gives the final, honest score. For images, transfer learning starts from a network "
        "already trained on millions of photos.",
        f"How long to train. Default: up to {field_default(TrainSpec, 'epochs')} epochs with "
        "early stopping (stop once validation loss has not improved for "
        f"{field_default(TrainSpec, 'early_stopping')} epochs, keep the best weights), then the "
        "final model is trained again on the training and validation rows for the number of "
        "epochs validation chose.",
        "a training run has finished",
    ),
    LearnStep(
        "tune",
        "Tune",
        "tune",
        "KerasTuner trains the model many times with different settings (layer widths, "
        "learning rate) and keeps the one with the best validation score. Hyperband gives many "
        "trials a few epochs and only the promising ones more; Bayesian optimisation picks the "
        "next trial from the results so far; AutoKeras searches whole architectures.",
        "Which search algorithm. Default: Hyperband, 6 trials of up to 6 epochs.",
        "a search has finished",
    ),
    LearnStep(
        "profile",
        "Profile",
        "profile",
        "The TensorFlow Profiler records a few training steps and splits each step's time into "
        "waiting for input, computing, and everything else. When input dominates, the fix is in "
        "the tf.data pipeline (prefetch, cache, parallel preprocessing), not a bigger machine.",
        "Which steps to record. Default: the first 10 training steps of an epoch.",
        "a profile has finished",
    ),
    LearnStep(
        "compress",
        "Compress",
        "compress",
        "The Model Optimization toolkit shrinks a model for phones and microcontrollers: "
        "quantization stores weights as 8-bit integers, pruning sets small weights to zero, and "
        "clustering makes weights share a few values. Every variant is measured on the test "
        "split, so you see what each saved byte costs in accuracy.",
        "Which method. Default: int8 post-training quantization (no retraining; calibrated on "
        "a few hundred training rows).",
        "a compression run has finished",
    ),
    LearnStep(
        "export",
        "Export",
        "export",
        "One trained model runs in many places: TFLite on phones and edge devices, TF.js in a "
        "web browser, a SavedModel in TF Serving, a C array on a microcontroller. Each export is "
        "loaded back by its own runtime and compared with Keras on test rows (a parity check), "
        "so a file that would predict differently is flagged before anyone ships it.",
        "Which formats. Default: all of them, each checked.",
        "an export has finished",
    ),
    LearnStep(
        "serve",
        "Serve",
        "export",
        "TF Serving answers predictions over HTTP with a fixed REST API "
        "(POST /v1/models/NAME:predict), so any app in any language can call the model. TF "
        "Studio's server speaks the same API and serves the exported SavedModel.",
        f"Which port. Default: {SERVE_PORT} (or the next free one) on this machine only.",
        "a model server has been started",
    ),
    LearnStep(
        "retrain",
        "Retrain",
        "pipelines",
        "Models go stale when the world changes. A pipeline (TFX-style: ingest, statistics, "
        "validate, train, evaluate, push) checks new rows against the training data's schema "
        "and distributions, retrains, and pushes the new model only if it beats production. "
        "The same pipeline compiles for Kubeflow Pipelines to run on a cluster.",
        "When to replace production. Default: only when the retrained model is better on the "
        "new test split (margin 0).",
        "a pipeline run has finished (or a model was retrained warm from another)",
    ),
)
STEP_BY_KEY = {s.key: s for s in STEPS}


def _state_path(ws: Workspace):
    return ws.root / STATE_FILE


def read_state(ws: Workspace, store: RunStore | None = None) -> dict[str, Any]:
    """learn.json, or the default for this workspace: on when it has no runs yet (new)."""
    try:
        state = json.loads(_state_path(ws).read_text())
        if isinstance(state, dict):
            return state
    except (OSError, ValueError):
        pass
    store = store or RunStore(ws.db_path)
    return {"enabled": not store.list_runs(limit=1), "served": False}


def write_state(ws: Workspace, state: dict[str, Any]) -> None:
    path = _state_path(ws)
    write_json_atomic(path, state, indent=2)


def set_enabled(ws: Workspace, enabled: bool, store: RunStore | None = None) -> None:
    state = read_state(ws, store)
    state["enabled"] = bool(enabled)
    write_state(ws, state)


def is_enabled(ws: Workspace, store: RunStore | None = None) -> bool:
    return bool(read_state(ws, store).get("enabled", True))


def _succeeded(runs: list[Run], kinds: set[str]) -> list[Run]:
    return [r for r in runs if r.kind in kinds and r.status is RunStatus.SUCCEEDED]


def progress(ws: Workspace, store: RunStore) -> dict[str, bool]:
    """Which steps are done, read from the workspace (datasets, runs, the model server)."""
    from core.data.datasets import DatasetStore

    runs = store.list_runs(limit=2000)
    state = read_state(ws, store)
    if not state.get("served") and (ws.root / "serving.json").is_file():
        state["served"] = True  # a server's record only lives while it runs: remember it
        write_state(ws, state)
    trained = _succeeded(runs, {"train"})
    return {
        "data": bool(DatasetStore(ws).list_versions()) or bool(trained),
        "train": bool(trained),
        "tune": bool(_succeeded(runs, {"tune", "automl"})),
        "profile": bool(_succeeded(runs, {"profile"})),
        "compress": bool(_succeeded(runs, {"compress"})),
        "export": bool(_succeeded(runs, {"export"})),
        "serve": bool(state.get("served")),
        "retrain": bool(_succeeded(runs, {"pipeline"}))
        or any(r.spec.get("warm_start") for r in trained),
    }


def next_step(done: dict[str, bool]) -> LearnStep | None:
    return next((s for s in STEPS if not done.get(s.key)), None)


def latest_training_run(store: RunStore) -> Run | None:
    """The newest finished training run: what the later steps work on by default."""
    runs = store.list_runs(kind="train", statuses={RunStatus.SUCCEEDED}, limit=1)
    return runs[0] if runs else None


def default_spec(step: str, ws: Workspace, store: RunStore):
    """The spec the step's one-click default submits, or None when it has no job of its own
    (serve and retrain are done on their pages) or nothing to work on yet."""
    from core.specs import CompressSpec, ExportSpec, ProfileSpec, TuneSpec

    data = sample_dataset_ref(ws) or f"sample:{SAMPLE}"
    if step == "train":
        return TrainSpec(data=data, target=SAMPLE_TARGET)  # the defaults the text quotes
    if step == "tune":
        base = {"data": data, "target": SAMPLE_TARGET, "epochs": 6}
        return TuneSpec(base=base, tuner="hyperband", max_trials=6, objective="val_accuracy")
    source = latest_training_run(store)
    if source is None:
        return None
    if step == "profile":
        return ProfileSpec(source_run=source.id)
    if step == "compress":
        return CompressSpec(source_run=source.id, method="int8")
    if step == "export":
        return ExportSpec(source_run=source.id, format="all")
    return None


def sample_dataset_ref(ws: Workspace) -> str:
    """The id (`iris@vN`) of the newest imported iris sample, or '' when none is imported."""
    from core.data.datasets import DatasetStore

    versions = DatasetStore(ws).list_versions(SAMPLE)
    return versions[-1].id if versions else ""


def add_sample(ws: Workspace) -> str:
    """Import the bundled sample as a dataset (the data step's default); returns its id."""
    from core.data.datasets import DatasetStore
    from core.data.samples import sample_path

    existing = sample_dataset_ref(ws)
    if existing:
        return existing
    version = DatasetStore(ws).import_file(
        sample_path(SAMPLE, ws.samples_dir), f"{SAMPLE}.csv", name=SAMPLE, target=SAMPLE_TARGET
    )
    return version.id
