"""Finding and loading the Keras models a training run saved."""

from __future__ import annotations

import json
from pathlib import Path

from core.errors import BadInput
from core.runs.status import RunStatus
from core.runs.store import RunStore
from core.workspace import Workspace

# Run kinds that leave a servable model (model.keras, features.json, test_inputs.npz) behind:
# training runs, and AutoKeras searches, which save their best model the same way.
MODEL_KINDS = ("train", "automl")


def trained_run_dir(
    store: RunStore,
    ws: Workspace,
    run_id: str,
    purpose: str = "this",
    needs: tuple[str, ...] = ("model.keras", "features.json"),
) -> Path:
    """The folder of a SUCCEEDED training run holding `needs` (BadInput says what is wrong).

    `purpose` says what wants the model, as the end of the message for a run of another kind
    ("export takes a training run", "predictions need a training run").
    """
    if not run_id:
        raise BadInput("choose the training run whose model should be used")
    run = store.get_run(run_id)
    if run.kind not in MODEL_KINDS:
        raise BadInput(f"run {run_id} is a {run.kind} run; {purpose}")
    if run.status is not RunStatus.SUCCEEDED:
        raise BadInput(
            f"run {run_id} is {run.status.value}; only a finished training run has a model"
        )
    folder = ws.run_dir(run_id)
    for name in needs:
        if not (folder / name).is_file():
            raise BadInput(f"run {run_id} has no {name}; train the model again")
    return folder


def load_run_model(run_dir: str | Path, name: str = "model.keras"):
    """Load a run's model with TF Studio's custom layers registered.

    A model built on a TF Hub SavedModel holds a TFSMLayer, which Keras refuses to load in safe
    mode because it executes an external SavedModel; the run itself recorded that SavedModel's
    folder, so for our own runs (and only those) safe mode is lifted.
    """
    import keras

    import core.training.layers  # noqa: F401  (registers FillMissing, LastValue, ...)

    folder = Path(run_dir)
    details = {}
    if (folder / "features.json").is_file():
        details = json.loads((folder / "features.json").read_text()).get("details", {})
    custom_objects = None
    if details.get("engine") == "autokeras":  # AutoKeras layers (e.g. CastToFloat32) in images
        import autokeras

        custom_objects = autokeras.CUSTOM_OBJECTS
    return keras.models.load_model(
        folder / name, safe_mode=not details.get("hub_savedmodel"), custom_objects=custom_objects
    )
