"""Loading the Keras models a training run saved."""

from __future__ import annotations

import json
from pathlib import Path


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
    return keras.models.load_model(folder / name, safe_mode=not details.get("hub_savedmodel"))
