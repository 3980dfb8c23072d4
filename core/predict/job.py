"""The predict job: one prediction with a finished training run's model, in a worker.

The page (the prediction playground) never loads a model itself: it submits a PredictSpec and
waits a few seconds for this job. Inputs are checked before TensorFlow is imported, so a typo
fails fast with a message that says what to fix.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from core.errors import BadInput
from core.predict.batch import probabilities as class_probabilities
from core.predict.inputs import (
    check_image,
    load_contract,
    parse_row,
    parse_text,
    pick_window,
    saved_windows,
    source_run_dir,
)
from core.runs.context import JobContext, workspace_of
from core.runs.reporter import Reporter
from core.runs.store import RunStore
from core.specs import PredictSpec
from core.training.families.common import CLASSIFICATION_TASKS
from core.training.features import ModelContract, to_inputs
from core.workspace import Workspace


def model_inputs(spec: PredictSpec, contract: ModelContract, source: Path) -> tuple[Any, dict]:
    """(the model's input for one example, what to echo back in the result); BadInput before
    TensorFlow loads (the page tests' fake job checks its input with this too)."""
    kind = contract.input_kind
    if kind == "table":
        frame = parse_row(spec.inputs_json, contract)
        row = {
            c: (None if isinstance(v, float) and np.isnan(v) else v)
            for c, v in frame.iloc[0].items()
        }
        return ("table", frame), {"row": row}
    if kind == "text":
        text = parse_text(spec.inputs_json, contract)
        return ("text", text), {"text": text}
    if kind == "image":
        path = check_image(spec.image_path)
        return ("image", path), {"image_path": str(path)}
    if kind == "sequence":
        window = pick_window(saved_windows(source), spec.window_index)
        return ("sequence", window), {"window_index": int(spec.window_index)}
    raise BadInput(f"this model takes {kind!r} inputs, which the playground cannot build")


def source_and_contract(spec: PredictSpec, ws: Workspace) -> tuple[Path, ModelContract]:
    """The source run's folder and its model's input contract (BadInput for a wrong run)."""
    source = source_run_dir(RunStore(ws.db_path), ws, spec.source_run)
    return source, load_contract(source)


def _to_tensors(prepared: tuple[str, Any], contract: ModelContract):
    import tensorflow as tf

    kind, value = prepared
    if kind == "table":
        return to_inputs(value, contract.features)
    if kind == "text":
        return tf.constant([[value]])
    if kind == "image":
        try:
            image = tf.io.decode_image(
                tf.io.read_file(str(value)), channels=3, expand_animations=False
            )
        except tf.errors.InvalidArgumentError:
            raise BadInput(f"{value} could not be decoded as a PNG or JPEG image") from None
        return tf.cast(image, tf.float32)[tf.newaxis]  # (1, H, W, 3), 0-255: the model resizes
    return tf.constant(value)


def describe(result: dict[str, Any]) -> str:
    """A one-line summary of a prediction result."""
    if "predicted_class" in result:
        best = max(result["probabilities"])
        return f"{result['predicted_class']} ({best:.0%})"
    flat = np.asarray(result.get("prediction", []), dtype="float64").reshape(-1)
    shown = ", ".join(f"{v:.4g}" for v in flat[:4])
    return shown + (" …" if flat.size > 4 else "")


def run_predict_job(
    spec: PredictSpec, reporter: Reporter, run_dir: Path, context: JobContext | None = None
) -> dict[str, Any]:
    source, contract = source_and_contract(spec, workspace_of(context))
    prepared, echo = model_inputs(spec, contract, source)

    reporter.progress("loading", 0, 2, "loading the model")
    from core.models.io import load_run_model  # custom layers, a preset's tokenizer, trust

    model = load_run_model(source)
    reporter.progress("predicting", 1, 2, "predicting")
    inputs = _to_tensors(prepared, contract)
    if prepared[0] == "text" and len(model.inputs[0].shape) == 1:
        inputs = inputs[:, 0]  # a pretrained text encoder's model takes (batch,) strings
    output = np.asarray(model.predict(inputs, verbose=0))[0]

    result: dict[str, Any] = {
        "source_run": spec.source_run,
        "task": contract.task,
        "input_kind": contract.input_kind,
        "classes": list(contract.classes),
        "target": contract.target,
        **echo,
    }
    if contract.task in CLASSIFICATION_TASKS and contract.classes:
        probabilities = class_probabilities(output[None])[0]
        result["probabilities"] = [float(v) for v in probabilities]
        result["predicted_class"] = str(contract.classes[int(probabilities.argmax())])
    else:
        result["prediction"] = output.astype("float64").tolist()
    reporter.progress("done", 2, 2, describe(result))
    return result
