"""Finding and loading the Keras models a training run saved."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from core.errors import BadInput, NotFound
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


# The spec field by which a user trusts the SavedModel their run is built on (TrainSpec).
TRUST_FIELD = "trust_savedmodel"


def run_trusts_code(run_dir: str | Path) -> bool:
    """Whether the user chose, in the spec of the run that saved this folder, to trust the code
    its model runs (a TF Hub SavedModel inside a TFSMLayer). Read from the run store, which the
    launcher wrote from the user's own spec; never from a file in the run folder, which a model
    handed to us could carry (features.json, run.json)."""
    folder = Path(run_dir)
    db = folder.parent.parent / "runs.sqlite"
    if not db.is_file():
        return False
    run_id = folder.name
    try:
        store = RunStore(db)
        for _ in range(4):  # an export or compression of a run inherits that run's choice
            spec = store.get_run(run_id).spec
            if spec.get(TRUST_FIELD) is True:
                return True
            run_id = spec.get("source_run") or ""
            if not run_id:
                return False
    except (NotFound, sqlite3.Error, OSError):  # not a run of this store, or no store: no trust
        return False
    return False


def _unsafe_refusal(exc: Exception, path: Path) -> BadInput | None:
    text = str(exc)
    if "safe_mode" not in text and "unsafe" not in text.lower():
        return None
    return BadInput(
        f"{path} holds code that Keras runs only outside safe mode (a Lambda layer or an "
        "external SavedModel), so it was not loaded; a model built on a SavedModel loads when "
        "its training run was started with --trust-savedmodel (recorded in the run's spec)"
    )


def load_run_model(run_dir: str | Path, name: str = "model.keras", trusted: bool | None = None):
    """Load a run's model with TF Studio's custom layers registered, in Keras safe mode.

    Safe mode refuses Python code in a model file (Lambda layers) and external SavedModels
    (TFSMLayer). It is lifted only when the user trusted the SavedModel: `trusted`, or by
    default the `trust_savedmodel` choice in the spec of the run that saved the model.
    """
    import keras

    import core.training.layers  # noqa: F401  (registers FillMissing, LastValue, ...)

    folder = Path(run_dir)
    details = {}
    if (folder / "features.json").is_file():
        details = json.loads((folder / "features.json").read_text()).get("details", {})
    if details.get("text_encoder"):  # a KerasHub preset's tokenizer inside the model
        import core.models.text_layers  # noqa: F401  (registers PresetTextPreprocess)
    for saved in details.get("savedmodels", []):  # TF Hub text models: TF Text's ops first
        from core.serving.custom_ops import load_op_libraries

        if Path(saved, "saved_model.pb").is_file():
            load_op_libraries(saved)
    custom_objects = None
    if details.get("engine") == "autokeras":  # AutoKeras layers (e.g. CastToFloat32) in images
        from core.tuning.autokeras_compat import import_autokeras

        custom_objects = import_autokeras().CUSTOM_OBJECTS
    trust = run_trusts_code(folder) if trusted is None else trusted
    try:
        return keras.models.load_model(
            folder / name, safe_mode=not trust, custom_objects=custom_objects
        )
    except (ValueError, TypeError) as exc:
        refusal = _unsafe_refusal(exc, folder / name) or _old_stack_refusal(exc, folder / name)
        if refusal is None:
            raise
        raise refusal from exc


def saved_keras_version(path: Path) -> str:
    """The Keras version recorded in a `.keras` file's metadata.json ('' when unreadable)."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as z:
            return str(json.loads(z.read("metadata.json")).get("keras_version", ""))
    except (OSError, KeyError, ValueError, zipfile.BadZipFile):
        return ""


def _old_stack_refusal(exc: Exception, path: Path) -> BadInput | None:
    """A model another Keras wrote that this Keras cannot read: say so and how to get it back."""
    import keras

    saved = saved_keras_version(path)
    if not saved or saved == keras.__version__:
        return None
    return BadInput(
        f"{path} was saved by Keras {saved} and this TF Studio runs Keras {keras.__version__}, "
        f"which could not read it ({str(exc)[:300]}). Train it again with the same settings (its "
        "spec is in run.json), or export it with the TF Studio version that trained it "
        "(docs/stack.md says what changed with the stack)."
    )
