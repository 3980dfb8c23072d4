"""The TF.js step of an export job, in two halves around its browser check.

`build_tfjs` converts the job's SavedModel and writes the bundle; the bundle's page then runs in
the job's one headless Chromium (`tfjs_check.BrowserSession`, its own thread), possibly while
the job converts other formats; `finish_tfjs` compares what the page computed with the Keras
model and writes the README.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from core.errors import BadInput
from core.export.context import ExportContext, passes
from core.export.names import OUTPUT_NAME, TFJS_EXAMPLE_ROWS
from core.export.readme_text import parity_text
from core.specs import TFJS_QUANTIZATIONS


@dataclass
class TfjsBuilt:
    """A written TF.js bundle waiting for its browser check."""

    out: Path  # the graph model folder in the run's artifacts
    bundle: Path  # the bundle folder whose index.html the browser opens
    quantize: str
    checkable: bool  # tf.min.js is there to run the page with
    string_hint: str
    notes: list[str] = field(default_factory=list)


def string_inputs(ctx: ExportContext) -> list[str]:
    if ctx.contract.input_kind == "text":
        return ["text"]
    return [f.input for f in ctx.contract.features if f.dtype.startswith("string")]


def build_tfjs(ctx: ExportContext) -> TfjsBuilt:
    """Convert the shared SavedModel to a graph model and write the self-contained bundle."""
    from core.export import tfjs

    quantize = ctx.spec.quantize
    if quantize not in TFJS_QUANTIZATIONS:
        raise BadInput(f"unknown TF.js quantization {quantize!r}: uint8, float16 or none")
    strings = string_inputs(ctx)
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
    raw = {"input": ctx.raw} if isinstance(ctx.raw, np.ndarray) else ctx.raw  # one: ctx.single
    sample = {k: np.asarray(v)[:rows] for k, v in raw.items()}
    examples = tfjs.example_payload(
        sample, tfjs.graph_inputs(out / "model"), ctx.contract.task, ctx.contract.classes
    )
    bundle = ctx.bundle_dir("tfjs")
    tfjs.write_bundle(out / "model", bundle, examples, library)
    return TfjsBuilt(out, bundle, quantize, library is not None, string_hint, notes)


def finish_tfjs(ctx: ExportContext, built: TfjsBuilt, result: dict[str, Any]) -> dict[str, Any]:
    """The bundle entry from the page's result (`predictions`, or `error`)."""
    from core.export import tfjs
    from core.export.convert import parity

    notes, quantize = built.notes, built.quantize
    check, ok, browser_error = None, False, ""
    if "predictions" in result:
        got = np.asarray(result["predictions"], "float64")
        expected = ctx.expected[: len(got)]
        check = parity(expected, got.reshape(expected.shape), ctx.contract.task)
        check["backend"] = result.get("backend", "")
        check["tfjs_version"] = result.get("version", "")
        ok = passes(check, expected, quantized=bool(quantize))
    else:
        browser_error = result.get("error", "no result")
        notes.append(f"in Chromium: {browser_error}")
        if built.string_hint:
            notes.append(built.string_hint)
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
    (built.bundle / "README.md").write_text(
        ctx.readme("TF.js graph model", body + parity_text("tfjs", check))
    )
    entry: dict[str, Any] = {
        "path": built.out,
        "bundle": built.bundle,
        "parity": check,
        "ok": ok if check is not None else False,
        "notes": notes,
    }
    if check is None:
        entry["error"] = browser_error
    else:
        entry["quantize"] = quantize
    return entry
