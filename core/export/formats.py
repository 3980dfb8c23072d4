"""The Keras, SavedModel, TFLite and micro steps of an export job: each writes its file and its
bundle, loads the file again with the runtime it targets and compares it with the Keras model.

Each step takes the job's ExportContext and returns a bundle entry: `path`, `bundle`, `parity`,
`ok`, `notes` (and format-specific figures). TF.js lives in `tfjs_step` (its check runs in a
browser).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from core.export.context import ExportContext, format_result
from core.export.convert import NeedsFlex
from core.export.names import OUTPUT_NAME
from core.export.readme_text import chain_text, parity_text
from core.models.io import load_run_model
from core.serving import missing_inputs

LAYERS_SOURCE = Path(__file__).resolve().parents[1] / "training" / "layers.py"
LAYERS_MODULE = "tfstudio_layers.py"


def export_keras(ctx: ExportContext) -> dict[str, Any]:
    out = ctx.run_dir / OUTPUT_NAME["keras"]
    shutil.copy2(ctx.src.keras_path, out)
    got = load_run_model(ctx.run_dir, out.name).predict(ctx.tensors, verbose=0)
    check, ok = ctx.parity(got)
    bundle = ctx.bundle_dir("keras")
    files = {f: ctx.source / f for f in ("preprocessing.keras", "network.keras", "features.json")}
    files["model.keras"] = ctx.src.keras_path
    if ctx.src.variant and ctx.src.variant.get("network_path"):
        files["network.keras"] = Path(ctx.src.variant["network_path"])
    present = [f for f, path in files.items() if path.exists()]
    for f in present:
        shutil.copy2(files[f], bundle / f)
    # the custom layers the models use, as a module of the bundle's own (it imports only keras)
    shutil.copy2(LAYERS_SOURCE, bundle / LAYERS_MODULE)
    body = (
        "## Files\n\n"
        "- `model.keras`: the end-to-end model, raw features in, predictions out.\n"
        + (
            "- `preprocessing.keras`: the preprocessing model alone (missing values, "
            "normalisation, lookups).\n"
            if "preprocessing.keras" in present
            else ""
        )
        + (
            "- `network.keras`: the network on the preprocessed features.\n"
            if "network.keras" in present
            else ""
        )
        + "- `features.json`: the input contract (columns, input names, dtypes, classes).\n\n"
        f"- `{LAYERS_MODULE}`: the custom layers the models use (missing-value fill, the "
        "forecasters' last-value skip, image scaling); it needs only `keras`.\n\n"
        "## Load\n\nIn this folder, with only `keras` and `tensorflow` installed:\n\n"
        f"```python\nimport keras\nimport {LAYERS_MODULE.removesuffix('.py')}  # registers the "
        'custom layers\nmodel = keras.models.load_model("model.keras")\n```\n'
        + (
            "\nThis model also needs AutoKeras' layers: `import autokeras` and pass "
            "`custom_objects=autokeras.CUSTOM_OBJECTS`.\n"
            if ctx.contract.details.get("engine") == "autokeras"
            else ""
        )
    )
    (bundle / "README.md").write_text(ctx.readme("Keras model", body + parity_text("keras", check)))
    return format_result(out, bundle, check, ok)


def export_savedmodel(ctx: ExportContext) -> dict[str, Any]:
    from core.export.convert import savedmodel_predict

    out = ctx.run_dir / OUTPUT_NAME["savedmodel"]
    if out.exists():
        shutil.rmtree(out)
    shutil.copytree(ctx.saved_model(), out)
    missing_inputs.write(out, ctx.contract)  # `tfstudio serve` takes null there as missing
    got = savedmodel_predict(out, ctx.tensors)
    check, ok = ctx.parity(got)
    bundle = ctx.bundle_dir("savedmodel")
    version = ctx.version
    shutil.copytree(out, bundle / ctx.name / str(version))
    shutil.copy2(ctx.source / "features.json", bundle / "features.json")
    name = ctx.name
    example = rest_example(ctx)
    body = (
        f"## Layout\n\nTF Serving's model base path: `{name}/{version}/` is version {version} "
        "of the model "
        f"`{name}`, with a `serving_default` signature over the raw features.\n\n"
        "## Serve with TensorFlow Serving\n\nFrom the folder this README is in:\n\n"
        "```bash\n"
        f'docker run --rm -p 8501:8501 -v "$PWD/{name}:/models/{name}" '
        f"-e MODEL_NAME={name} tensorflow/serving\n"
        "```\n\n"
        "Then ask for predictions (row format):\n\n```bash\n"
        f"curl -s -X POST http://localhost:8501/v1/models/{name}:predict \\\n"
        f"  -H 'Content-Type: application/json' -d '{json.dumps(example)}'\n```\n\n"
        f"A given version: `/v1/models/{name}/versions/{version}:predict`. TF Serving serves "
        f"the highest version under `{name}/`: put another export's version folder beside this "
        "one to roll forward or back.\n\n"
        "Or without Docker: `tfstudio serve RUN_ID` serves the same REST API.\n"
    )
    (bundle / "README.md").write_text(
        ctx.readme("SavedModel for TF Serving", body + parity_text("savedmodel", check))
    )
    return format_result(out, bundle, check, ok, version=version)


def rest_example(ctx: ExportContext, rows: int = 1) -> dict[str, Any]:
    """A TF Serving row-format request body for the first test rows."""
    from core.serving.model import jsonable

    raw = ctx.raw
    if isinstance(raw, np.ndarray):  # one input (ctx.single)
        return {"instances": jsonable(np.asarray(raw)[:rows])}
    instances = []
    for i in range(rows):
        instances.append({k: jsonable(np.asarray(v)[i]) for k, v in raw.items()})
    return {"instances": instances}


def tflite_metadata(ctx: ExportContext, path: Path, ops_set: str) -> dict[str, Any]:
    from core.export.convert import load_interpreter
    from core.export.micro import tflite_ops

    runner = load_interpreter(path, allocate=False).get_signature_runner()

    def describe(details: dict[str, Any]) -> dict[str, Any]:
        return {
            name: {
                "dtype": np.dtype(d["dtype"]).name if d["dtype"] is not np.bytes_ else "string",
                "shape": [int(x) for x in d["shape_signature"]],
            }
            for name, d in details.items()
        }

    c = ctx.contract
    return {
        "signature": "serving_default",
        "inputs": describe(runner.get_input_details()),
        "outputs": describe(runner.get_output_details()),
        "input_kind": c.input_kind,
        "features": [vars(f) for f in c.features],
        "task": c.task,
        "target": c.target,
        "classes": c.classes,
        "op_set": ops_set,
        "ops": tflite_ops(path),
        "size_bytes": path.stat().st_size,
    }


def export_tflite(ctx: ExportContext) -> dict[str, Any]:
    made, ops_set = ctx.tflite()
    out = ctx.run_dir / OUTPUT_NAME["tflite"]
    shutil.copy2(made, out)
    try:
        check, ok = ctx.parity(ctx.tflite_predict(out), lossy=ctx.lossy)
    except NeedsFlex:  # the network alone on LiteRT, after the Keras preprocessing
        check, ok = ctx.network_check()
    bundle = ctx.bundle_dir("tflite")
    shutil.copy2(out, bundle / "model.tflite")
    meta = tflite_metadata(ctx, out, ops_set)
    notes = []
    if ctx.network_only:
        pre, pre_ops = ctx.preprocessing_tflite()
        shutil.copy2(pre, bundle / "preprocessing.tflite")
        meta["preprocessing"] = {
            **tflite_metadata(ctx, pre, pre_ops),
            "file": "preprocessing.tflite",
            "note": "float preprocessing: run it on the raw inputs, feed its output to "
            "model.tflite",
        }
        meta["chain"] = ["preprocessing.tflite", "model.tflite"]
        check["chained"] = "preprocessing.tflite -> model.tflite on the raw test inputs"
        if pre_ops != "builtin":
            notes.append(
                "preprocessing.tflite uses select TensorFlow ops (string lookups or text "
                "vectorization): the app needs the Flex delegate for it"
            )
    v, variant_file = ctx.src.variant, ctx.src.tflite_path
    if v and variant_file is not None:  # the one is there exactly when the other is
        meta["compression"] = {
            k: v[k]
            for k in ("method", "scope", "metric_name", "metric", "size_bytes", "gzip_bytes")
            if k in v
        }
        meta["compression"]["compress_run"] = ctx.src.compress_run
        check["same_file_as_report"] = out.read_bytes() == variant_file.read_bytes()
    meta["embedded_metadata"] = (
        "none: the TFLite Support metadata writer (tflite-support 0.4.4, 2023) does not install "
        "beside TensorFlow 2.19, so the description stays in this JSON and labels.txt"
    )
    (bundle / "metadata.json").write_text(json.dumps(meta, indent=2))
    if ctx.contract.classes:
        (bundle / "labels.txt").write_text("\n".join(map(str, ctx.contract.classes)) + "\n")
    if ops_set != "builtin":
        notes.append(
            "uses select TensorFlow ops: the app needs the Flex delegate "
            "(tensorflow-lite-select-tf-ops on Android)"
        )
    what = "the network alone, int8 (see below)" if ctx.network_only else "the end-to-end model"
    body = (
        f"## Files\n\n- `model.tflite`: {what} (signature `serving_default`).\n"
        + (
            "- `preprocessing.tflite`: the float preprocessing, raw inputs in, features out.\n"
            if ctx.network_only
            else ""
        )
        + "- `metadata.json`: inputs and outputs (names, dtypes, shapes, int8 scales), "
        "features, classes, ops.\n"
        + (
            "- `labels.txt`: class names, one per line, in output order.\n"
            if ctx.contract.classes
            else ""
        )
        + (
            chain_text()
            if ctx.network_only
            else "\n## Run\n\n```python\nfrom ai_edge_litert.interpreter import Interpreter\n"
            'runner = Interpreter(model_path="model.tflite").get_signature_runner()\n'
            "print(runner(**inputs))  # inputs: name -> numpy array, see metadata.json\n```\n"
        )
        + "".join(f"\nNote: {n}.\n" for n in notes)
    )
    (bundle / "README.md").write_text(
        ctx.readme("TFLite model", body + parity_text("tflite", check))
    )
    return format_result(out, bundle, check, ok, notes, tflite_source=ctx.tflite_source)


def export_micro(ctx: ExportContext) -> dict[str, Any]:
    from core.export.micro_job import export_micro as write_micro

    return write_micro(ctx)
