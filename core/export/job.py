"""The export job: a finished training run's model as bundles, each checked by its own runtime.

Every format is written, zipped with a short README, loaded again by the runtime it targets and
compared with the Keras model on the run's saved test inputs. One format failing (an op its
runtime lacks, say) is reported for that format; the others still export. A single-format job
that fails raises, as before.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from core.errors import BadInput
from core.export.source import ExportSource
from core.models.io import load_run_model
from core.runs.reporter import Reporter
from core.runs.store import RunStore
from core.specs import TFJS_QUANTIZATIONS, ExportSpec
from core.training.families.common import load_test_inputs
from core.training.features import ModelContract
from core.workspace import Workspace

# The file (or folder) each format produces, as named in the export run's artifacts.
OUTPUT_NAME = {
    "keras": "model.keras",
    "savedmodel": "savedmodel",
    "tflite": "model.tflite",
    "tfjs": "tfjs",
    "micro": "model_data.cc",
}
# The zip each format is offered as (savedmodel.zip keeps its old artifact name).
BUNDLE_NAME = {
    "keras": "keras-bundle.zip",
    "savedmodel": "savedmodel.zip",
    "tflite": "tflite-bundle.zip",
    "tfjs": "tfjs-bundle.zip",
    "micro": "micro-bundle.zip",
}
FORMAT_TITLE = {
    "keras": "Keras",
    "savedmodel": "SavedModel (TF Serving)",
    "tflite": "TFLite",
    "tfjs": "TF.js",
    "micro": "TFLite Micro (C++)",
}
RUNTIME = {
    "keras": "keras.models.load_model",
    "savedmodel": "tf.saved_model.load",
    "tflite": "LiteRT interpreter",
    "tfjs": "@tensorflow/tfjs in headless Chromium",
    "micro": "TFLite Micro interpreter (tflite-micro), after the C++ preprocessing",
}
TFJS_EXAMPLE_ROWS = {"table": 64, "sequence": 32, "image": 8, "text": 32}


def serving_name(contract: ModelContract, requested: str = "") -> str:
    name = re.sub(r"[^A-Za-z0-9_]+", "_", requested or contract.target or "model").strip("_")
    return name.lower() or "model"


def passes(
    check: dict[str, Any], expected: np.ndarray, quantized: bool = False, lossy: bool = False
) -> bool:
    """Same class on every row for classifiers, and a max |diff| within tolerance.

    `lossy`: a quantized compression variant against the float model it came from; its
    predictions differ by design, so it passes with the same class on at least 90% of the rows
    (classifiers) or a max |diff| within 10% of the output scale (regression, forecasts).
    """
    scale = max(1.0, float(np.max(np.abs(expected)))) if expected.size else 1.0
    if lossy:
        check["tolerance"] = "lossy: same class on >= 90% of rows, or max |diff| <= 10% of scale"
        if "agreement" in check:
            return check["agreement"] >= 0.9
        return check["max_abs_diff"] <= 0.1 * scale
    tolerance = (5e-2 if quantized else 1e-3) * scale
    if "agreement" in check and check["agreement"] < 1.0:
        return False
    return check["max_abs_diff"] <= tolerance


def _size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*")) if path.is_dir() else path.stat().st_size


def _zip(folder: Path, target: Path) -> Path:
    """Zip a folder's contents (paths relative to it) into `target`."""
    tmp = target.with_suffix(".zip.tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
        for f in sorted(folder.rglob("*")):
            if f.is_file():
                z.write(f, f.relative_to(folder).as_posix())
    tmp.replace(target)
    return target


def _inputs_table(contract: ModelContract) -> str:
    if contract.input_kind != "table":
        shape = {
            "image": "float32 (batch, height, width, 3), pixel values 0-255",
            "text": "string (batch, 1): one text per example",
            "sequence": "float32 (batch, steps, features): a window of the series",
        }.get(contract.input_kind, contract.input_kind)
        return f"One input: {shape}.\n"
    rows = ["| input | column | dtype |", "|---|---|---|"]
    for f in contract.features:
        dtype = "string" if f.dtype.startswith("string") else f.dtype.replace("_binned", "")
        rows.append(f"| `{f.input}` | {f.column} | {dtype} (batch, 1) |")
    return "\n".join(rows) + "\n"


def _outputs_text(contract: ModelContract) -> str:
    if contract.classes:
        return (
            f"One output: probabilities over {len(contract.classes)} classes, in this order: "
            + ", ".join(f"`{c}`" for c in contract.classes)
            + ".\n"
        )
    return f"One output: the predicted `{contract.target}` ({contract.task}).\n"


def _parity_text(fmt: str, check: dict[str, Any] | None) -> str:
    if not check:
        return ""
    agree = f", same class on {check['agreement']:.0%} of them" if "agreement" in check else ""
    return (
        f"\n## Checked\n\nLoaded with {RUNTIME[fmt]} and compared with the Keras model on "
        f"{check['rows']} held-out rows: max |difference| {check['max_abs_diff']:.3g}{agree}.\n"
    )


class _Context:
    """What every format needs: the model, its contract, test inputs and Keras predictions."""

    def __init__(self, spec: ExportSpec, src: ExportSource, run_dir: Path, reporter: Reporter):
        from core.training.build import to_tensors as _to_tensors

        self.spec, self.src, self.run_dir, self.reporter = spec, src, run_dir, reporter
        self.source = src.folder
        self.contract = ModelContract.load(self.source / "features.json")
        arrays = load_test_inputs(self.source / "test_inputs.npz")
        self.single = self.contract.input_kind != "table"
        self.raw = arrays["input"] if self.single else arrays  # numpy, as TFLite takes them
        self.tensors = _to_tensors(self.raw)
        self.model = load_run_model(src.keras_path.parent, src.keras_path.name)
        self.expected = np.asarray(self.model.predict(self.tensors, verbose=0))
        self.name = serving_name(self.contract, spec.serving_name)
        self.version = int(spec.version or 1)
        self.lossy = src.quantized  # a quantized variant checked against its float model
        self.work = Path(tempfile.mkdtemp(prefix="export-", dir=run_dir))
        self._saved: Path | None = None
        self._tflite: tuple[Path, str] | None = None
        self._pre_tflite: tuple[Path, str] | None = None

    def saved_model(self) -> Path:
        from core.export.convert import to_savedmodel

        if self._saved is None:
            self._saved = to_savedmodel(self.model, self.work / "saved")
        return self._saved

    def tflite(self) -> tuple[Path, str]:
        """The .tflite to ship: the compressed variant's own file, or the model converted."""
        from core.export.convert import to_tflite
        from core.export.micro import tflite_ops

        if self._tflite is None:
            if self.src.variant:
                out = self.work / "model.tflite"
                shutil.copy2(self.src.tflite_path, out)
                flex = any(op.startswith("Flex") for op in tflite_ops(out))
                self._tflite = (out, "builtin+select-tf" if flex else "builtin")
            else:
                self._tflite = to_tflite(self.model, self.work / "model.tflite")
        return self._tflite

    @property
    def network_only(self) -> bool:
        """The .tflite takes the preprocessed features (int8/QAT of the network alone)."""
        return self.src.scope == "network"

    def preprocessing_tflite(self) -> tuple[Path, str]:
        """The float preprocessing as its own .tflite, to run before a network-only model."""
        from core.export.convert import to_tflite

        if self._pre_tflite is None:
            pre = load_run_model(self.source, "preprocessing.keras")
            self._pre_tflite = to_tflite(pre, self.work / "preprocessing.tflite")
        return self._pre_tflite

    def tflite_predict(self, model: Path | bytes) -> np.ndarray:
        """Raw test inputs through the .tflite (after preprocessing.tflite when network-only)."""
        from core.compression.report import TFLiteModel

        if isinstance(model, bytes):
            path = self.work / "from_bytes.tflite"
            path.write_bytes(model)
            model = path
        inputs = self.raw
        if self.network_only:
            inputs = TFLiteModel(self.preprocessing_tflite()[0]).predict(self.raw)
        return TFLiteModel(model).predict(inputs)

    def parity(self, got, quantized: bool = False, lossy: bool = False):
        from core.export.convert import parity

        expected = self.expected
        got = np.asarray(got, "float64").reshape(expected.shape)
        check = parity(expected, got, self.contract.task)
        return check, passes(check, expected, quantized, lossy)

    def bundle_dir(self, fmt: str) -> Path:
        folder = self.run_dir / f"{fmt}-bundle"
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir()
        return folder

    def readme(self, title: str, body: str) -> str:
        c = self.contract
        origin = f"training run `{self.src.train_run}`"
        if self.src.variant:
            v = self.src.variant
            origin = (
                f"the `{v['method']}` variant of compression run `{self.src.compress_run}` "
                f"(of training run `{self.src.train_run}`; {v['metric_name']} "
                f"{v['metric']:.4g} on the test split with the TFLite interpreter)"
            )
        return (
            f"# {title}\n\nExported by TF Studio from {origin}: "
            f"{c.task}, predicting `{c.target}`.\n\n## Inputs\n\n{_inputs_table(c)}\n"
            f"## Outputs\n\n{_outputs_text(c)}\n{body}"
        )


def _export_keras(ctx: _Context) -> dict[str, Any]:
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
        "## Load\n\n```python\nimport keras\nimport core.training.layers  # TF Studio's custom "
        'layers (FillMissing, ...)\nmodel = keras.models.load_model("model.keras")\n```\n\n'
        "Outside TF Studio, copy `core/training/layers.py` along: the models use its layers.\n"
    )
    (bundle / "README.md").write_text(
        ctx.readme("Keras model", body + _parity_text("keras", check))
    )
    return {"path": out, "bundle": bundle, "parity": check, "ok": ok, "notes": []}


def _export_savedmodel(ctx: _Context) -> dict[str, Any]:
    from core.export.convert import savedmodel_predict

    out = ctx.run_dir / OUTPUT_NAME["savedmodel"]
    if out.exists():
        shutil.rmtree(out)
    shutil.copytree(ctx.saved_model(), out)
    got = savedmodel_predict(out, ctx.tensors)
    check, ok = ctx.parity(got)
    bundle = ctx.bundle_dir("savedmodel")
    version = ctx.version
    shutil.copytree(out, bundle / ctx.name / str(version))
    shutil.copy2(ctx.source / "features.json", bundle / "features.json")
    name = ctx.name
    example = _rest_example(ctx)
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
        ctx.readme("SavedModel for TF Serving", body + _parity_text("savedmodel", check))
    )
    return {
        "path": out,
        "bundle": bundle,
        "parity": check,
        "ok": ok,
        "notes": [],
        "version": version,
    }


def _rest_example(ctx: _Context, rows: int = 1) -> dict[str, Any]:
    """A TF Serving row-format request body for the first test rows."""
    from core.serving.model import jsonable

    if ctx.single:
        return {"instances": jsonable(np.asarray(ctx.raw)[:rows])}
    instances = []
    for i in range(rows):
        instances.append({k: jsonable(np.asarray(v)[i]) for k, v in ctx.raw.items()})
    return {"instances": instances}


def _tflite_metadata(ctx: _Context, path: Path, ops_set: str) -> dict[str, Any]:
    from core.export.convert import _interpreter_from
    from core.export.micro import tflite_ops

    runner = _interpreter_from(path).get_signature_runner()

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


def _chain_text(ctx: _Context) -> str:
    """README lines for a network-only .tflite and the preprocessing.tflite that feeds it."""
    return (
        "\n## Two models: preprocessing, then the network\n\n"
        "`model.tflite` is the network alone (quantized to int8): it takes the preprocessed "
        "features, not raw inputs. `preprocessing.tflite` is the float preprocessing "
        "(it takes the raw inputs above); chain them:\n\n"
        "```python\nfrom ai_edge_litert.interpreter import Interpreter\n"
        'pre = Interpreter(model_path="preprocessing.tflite").get_signature_runner()\n'
        'net = Interpreter(model_path="model.tflite").get_signature_runner()\n'
        "features = next(iter(pre(**inputs).values()))  # raw inputs -> features\n"
        "name = next(iter(net.get_input_details()))\n"
        "print(net(**{name: features}))  # int8 inputs: quantize with the input's scale and "
        "zero point, see metadata.json\n```\n"
    )


def _export_tflite(ctx: _Context) -> dict[str, Any]:
    made, ops_set = ctx.tflite()
    out = ctx.run_dir / OUTPUT_NAME["tflite"]
    shutil.copy2(made, out)
    check, ok = ctx.parity(ctx.tflite_predict(out), lossy=ctx.lossy)
    bundle = ctx.bundle_dir("tflite")
    shutil.copy2(out, bundle / "model.tflite")
    meta = _tflite_metadata(ctx, out, ops_set)
    notes = []
    if ctx.network_only:
        pre, pre_ops = ctx.preprocessing_tflite()
        shutil.copy2(pre, bundle / "preprocessing.tflite")
        meta["preprocessing"] = {
            **_tflite_metadata(ctx, pre, pre_ops),
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
    if ctx.src.variant:
        v = ctx.src.variant
        meta["compression"] = {
            k: v[k]
            for k in ("method", "scope", "metric_name", "metric", "size_bytes", "gzip_bytes")
            if k in v
        }
        meta["compression"]["compress_run"] = ctx.src.compress_run
        check["same_file_as_report"] = out.read_bytes() == ctx.src.tflite_path.read_bytes()
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
            _chain_text(ctx)
            if ctx.network_only
            else "\n## Run\n\n```python\nfrom ai_edge_litert.interpreter import Interpreter\n"
            'runner = Interpreter(model_path="model.tflite").get_signature_runner()\n'
            "print(runner(**inputs))  # inputs: name -> numpy array, see metadata.json\n```\n"
        )
        + "".join(f"\nNote: {n}.\n" for n in notes)
    )
    (bundle / "README.md").write_text(
        ctx.readme("TFLite model", body + _parity_text("tflite", check))
    )
    return {"path": out, "bundle": bundle, "parity": check, "ok": ok, "notes": notes}


def _export_micro(ctx: _Context) -> dict[str, Any]:
    from core.export.micro_job import export_micro

    return export_micro(ctx)


def _string_inputs(ctx: _Context) -> list[str]:
    if ctx.contract.input_kind == "text":
        return ["text"]
    return [f.input for f in ctx.contract.features if f.dtype.startswith("string")]


def _export_tfjs(ctx: _Context) -> dict[str, Any]:
    from core.export import tfjs
    from core.export.tfjs_check import BrowserUnavailable, run_in_browser

    quantize = ctx.spec.quantize
    if quantize not in TFJS_QUANTIZATIONS:
        raise BadInput(f"unknown TF.js quantization {quantize!r}: uint8, float16 or none")
    strings = _string_inputs(ctx)
    out = ctx.run_dir / OUTPUT_NAME["tfjs"]
    if out.exists():
        shutil.rmtree(out)
    notes: list[str] = []
    string_hint = (
        f"string inputs ({', '.join(strings)}): TF.js graph models support few string ops "
        "(hash-table lookups work; TextVectorization's string ops may not)"
        if strings
        else ""
    )
    try:
        tfjs.convert(ctx.saved_model(), out / "model", quantize)
    except Exception as exc:
        try:
            missing = tfjs.unsupported_ops(ctx.saved_model())
        except Exception:  # noqa: BLE001  (naming the ops is a courtesy)
            missing = []
        if missing:
            raise RuntimeError(
                f"TF.js lacks op(s) {', '.join(missing)} that this model uses"
                + (f" (from its string preprocessing: {', '.join(strings)})" if strings else "")
                + f": the TF.js format cannot take it (converter: {str(exc)[:200]}); the other "
                "formats still export"
            ) from exc
        hint = f" ({string_hint})" if string_hint else ""
        raise RuntimeError(f"the TF.js converter failed: {exc}{hint}") from exc
    library = tfjs.tfjs_library()
    if library is None:
        notes.append("tf.min.js missing (run `make setup`, which runs `npm ci` in web/)")
    rows = TFJS_EXAMPLE_ROWS.get(ctx.contract.input_kind, 32)
    raw = ctx.raw if not ctx.single else {"input": ctx.raw}
    sample = {k: np.asarray(v)[:rows] for k, v in raw.items()}
    examples = tfjs.example_payload(
        sample, tfjs.graph_inputs(out / "model"), ctx.contract.task, ctx.contract.classes
    )
    bundle = ctx.bundle_dir("tfjs")
    tfjs.write_bundle(out / "model", bundle, examples, library)
    check, ok, browser_error = None, False, ""
    try:
        result = run_in_browser(bundle) if library is not None else {"error": notes[-1]}
    except BrowserUnavailable as exc:
        result = {"error": f"not checked: {exc}"}
    if "predictions" in result:
        got = np.asarray(result["predictions"], "float64")
        expected = ctx.expected[: len(got)]
        from core.export.convert import parity

        check = parity(expected, got.reshape(expected.shape), ctx.contract.task)
        check["backend"] = result.get("backend", "")
        check["tfjs_version"] = result.get("version", "")
        ok = passes(check, expected, quantized=bool(quantize))
    else:
        browser_error = result.get("error", "no result")
        notes.append(f"in Chromium: {browser_error}")
        if string_hint:
            notes.append(string_hint)
    body = (
        "## Files\n\n- `index.html`: open it in a browser (double-click works: no server, no "
        "internet). It loads the model with `@tensorflow/tfjs` and predicts on example rows "
        "from the test split.\n"
        f"- `tf.min.js`: `@tensorflow/tfjs` {tfjs.tfjs_version()} from the npm registry.\n"
        "- `model.json` + `*.bin`: the TF.js graph model"
        + (f" (weights quantized to {quantize})" if quantize else "")
        + "; `model.js` holds the same inlined for `file://` use.\n"
        "- `examples.js`: the example rows.\n\n"
        "## Use in your page\n\n```js\n"
        "const model = await tf.loadGraphModel('model.json');  // served over HTTP\n"
        "const out = await model.executeAsync(inputs);  // one tensor, or {input name: tensor}\n"
        "```\n" + "".join(f"\nNote: {n}.\n" for n in notes)
    )
    (bundle / "README.md").write_text(
        ctx.readme("TF.js graph model", body + _parity_text("tfjs", check))
    )
    if check is None:
        return {
            "path": out,
            "bundle": bundle,
            "parity": None,
            "ok": False,
            "notes": notes,
            "error": browser_error,
        }
    return {
        "path": out,
        "bundle": bundle,
        "parity": check,
        "ok": ok,
        "notes": notes,
        "quantize": quantize,
    }


EXPORTERS = {
    "keras": _export_keras,
    "savedmodel": _export_savedmodel,
    "tflite": _export_tflite,
    "tfjs": _export_tfjs,
    "micro": _export_micro,
}


def run_export_job(spec: ExportSpec, reporter: Reporter, run_dir: Path) -> dict[str, Any]:
    import core.training.layers  # noqa: F401  (registers custom layers for loading)
    from core.export.source import check

    if spec.quantize not in TFJS_QUANTIZATIONS:
        raise BadInput(f"unknown TF.js quantization {spec.quantize!r}: uint8, float16 or none")
    ws = Workspace.resolve()
    src, formats = check(RunStore(ws.db_path), ws, spec)
    source = src.folder
    total = len(formats) + 1
    reporter.progress("loading", 0, total, f"loading the Keras model ({src.label})")
    ctx = _Context(spec, src, run_dir, reporter)
    shutil.copy2(source / "features.json", run_dir / "features.json")
    reporter.artifact("features.json", run_dir / "features.json")

    bundles: dict[str, dict[str, Any]] = {}
    try:
        for i, fmt in enumerate(formats, start=1):
            reporter.progress("converting", i, total, f"{FORMAT_TITLE[fmt]}: write and check")
            try:
                entry = EXPORTERS[fmt](ctx)
            except BadInput:
                raise
            except Exception as exc:
                if len(formats) == 1:
                    raise
                message = f"{FORMAT_TITLE[fmt]} failed: {type(exc).__name__}: {exc}"
                reporter.event(message[:2000], "error")
                bundles[fmt] = {"format": fmt, "ok": False, "error": message[:2000]}
                continue
            bundles[fmt] = _finish(fmt, entry, reporter)
    finally:
        shutil.rmtree(ctx.work, ignore_errors=True)
    if not any("bundle" in b for b in bundles.values()):
        raise RuntimeError("; ".join(b.get("error", "") for b in bundles.values()))

    checked = [f"{f} {'ok' if b['ok'] else 'CHECK FAILED'}" for f, b in bundles.items()]
    reporter.progress("done", total, total, ", ".join(checked))
    result: dict[str, Any] = {
        "source_run": spec.source_run,
        "formats": list(formats),
        "serving_name": ctx.name,
        "version": ctx.version,
        "bundles": bundles,
    }
    if src.variant:
        result["variant"] = src.variant["method"]
        result["train_run"] = src.train_run
        result["variant_report"] = {
            k: src.variant[k]
            for k in ("method", "scope", "metric_name", "metric", "size_bytes", "gzip_bytes")
            if k in src.variant
        }
    if len(formats) == 1:  # the single-format shape the CLI and older pages read
        only = bundles[formats[0]]
        result.update(
            format=formats[0],
            path=only["path"],
            size_bytes=only["model_bytes"],
            parity=only["parity"] or {},
        )
    return result


def _finish(fmt: str, entry: dict[str, Any], reporter: Reporter) -> dict[str, Any]:
    """Zip the bundle, record the artifacts and turn paths into strings."""
    out, folder = Path(entry.pop("path")), Path(entry.pop("bundle"))
    archive = _zip(folder, folder.parent / BUNDLE_NAME[fmt])
    reporter.artifact(OUTPUT_NAME[fmt], out)
    reporter.artifact(BUNDLE_NAME[fmt], archive)
    check = entry.get("parity")
    if check is None:
        reporter.event(f"{FORMAT_TITLE[fmt]}: not checked ({entry.get('error', '')})", "warning")
    elif not entry["ok"]:
        reporter.event(f"{FORMAT_TITLE[fmt]} predictions differ from Keras: {check}", "warning")
    return {
        "format": fmt,
        **entry,
        "path": str(out),
        "bundle": str(archive),
        "bundle_name": BUNDLE_NAME[fmt],
        "model_bytes": int(_size(out)),
        "size_bytes": int(archive.stat().st_size),
    }
