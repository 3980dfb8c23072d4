"""The export job: a finished training run's model as bundles, each checked by its own runtime.

Every format is written, zipped with a short README, loaded again by the runtime it targets and
compared with the Keras model on the run's saved test inputs. One format failing (an op its
runtime lacks, say) is reported for that format; the others still export. A single-format job
that fails raises, as before.

What the formats share is made once per job (`ExportContext`: one loaded model, one SavedModel,
one .tflite; one Chromium for the TF.js check). With overlap on, Chromium starts while the model
loads and the TF.js page runs while the job converts the formats after it; the result's `shared`
record says what was made how many times.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from core.errors import BadInput
from core.export.context import ExportContext, passes, tree_size, zip_folder
from core.export.formats import export_keras, export_micro, export_savedmodel, export_tflite
from core.export.names import (
    BUNDLE_NAME,
    FORMAT_TITLE,
    OUTPUT_NAME,
    RUNTIME,
    TFJS_EXAMPLE_ROWS,
    serving_name,
)
from core.export.tfjs_step import TfjsBuilt, build_tfjs, finish_tfjs
from core.runs.context import JobContext, workspace_of
from core.runs.reporter import Reporter
from core.runs.store import RunStore
from core.specs import TFJS_QUANTIZATIONS, ExportSpec

__all__ = [
    "BUNDLE_NAME",
    "FORMAT_TITLE",
    "OUTPUT_NAME",
    "RUNTIME",
    "TFJS_EXAMPLE_ROWS",
    "passes",
    "run_export_job",
    "serving_name",
]

# The steps that run start to end on the job's thread; TF.js is built, then checked in Chromium.
STEPS: dict[str, Callable[[ExportContext], dict[str, Any]]] = {
    "keras": export_keras,
    "savedmodel": export_savedmodel,
    "tflite": export_tflite,
    "micro": export_micro,
}
# "0" runs the TF.js browser check in line (Chromium started when the TF.js step needs it);
# default on: benchmarks/export_overlap.py measured both on this machine (benchmarks/README.md).
OVERLAP_ENV = "TFSTUDIO_EXPORT_OVERLAP"
OVERLAP_DEFAULT = True


def overlap_enabled() -> bool:
    value = os.environ.get(OVERLAP_ENV, "").strip().lower()
    return OVERLAP_DEFAULT if not value else value not in ("0", "false", "no", "off")


def run_export_job(
    spec: ExportSpec, reporter: Reporter, run_dir: Path, context: JobContext | None = None
) -> dict[str, Any]:
    import core.training.layers  # noqa: F401  (registers custom layers for loading)
    from core.export.source import check
    from core.export.tfjs_check import BrowserSession

    if spec.quantize not in TFJS_QUANTIZATIONS:
        raise BadInput(f"unknown TF.js quantization {spec.quantize!r}: uint8, float16 or none")
    ws = workspace_of(context)
    src, formats = check(RunStore(ws.db_path), ws, spec)
    source = src.folder
    total = len(formats) + 1
    overlap = overlap_enabled()
    browser = BrowserSession() if "tfjs" in formats else None
    bundles: dict[str, dict[str, Any]] = {}
    pending: dict[str, tuple[TfjsBuilt, Future | None]] = {}
    ctx: ExportContext | None = None
    try:
        if browser is not None and overlap:
            browser.start()  # Chromium starts while the model loads
        reporter.progress("loading", 0, total, f"loading the Keras model ({src.label})")
        ctx = ExportContext(spec, src, run_dir, reporter)
        shutil.copy2(source / "features.json", run_dir / "features.json")
        reporter.artifact("features.json", run_dir / "features.json")
        for i, fmt in enumerate(formats, start=1):
            reporter.progress("converting", i, total, f"{FORMAT_TITLE[fmt]}: write and check")
            try:
                if fmt == "tfjs":
                    assert browser is not None  # made above, since "tfjs" is in formats
                    built = build_tfjs(ctx)
                    future = browser.check(built.bundle) if built.checkable else None
                    if overlap:  # the page runs in Chromium while the next formats convert
                        pending[fmt] = (built, future)
                        continue
                    entry = _tfjs_entry(ctx, built, future)
                else:
                    entry = STEPS[fmt](ctx)
            except Exception as exc:
                _record_failure(fmt, exc, formats, reporter, bundles)
                continue
            bundles[fmt] = _finish(fmt, entry, reporter)
        for fmt, (built, future) in pending.items():
            reporter.progress("checking", total - 1, total, f"{FORMAT_TITLE[fmt]}: in Chromium")
            try:
                entry = _tfjs_entry(ctx, built, future)
            except Exception as exc:
                _record_failure(fmt, exc, formats, reporter, bundles)
                continue
            bundles[fmt] = _finish(fmt, entry, reporter)
    finally:
        if ctx is not None:
            shutil.rmtree(ctx.work, ignore_errors=True)
        if browser is not None:
            browser.close()
    bundles = {f: bundles[f] for f in formats if f in bundles}  # in the order asked
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
        "shared": {
            **ctx.made,
            "browser_launches": browser.launches if browser else 0,
            "browser_checks": browser.checks if browser else 0,
            "overlap": overlap,
        },
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


def _tfjs_entry(ctx: ExportContext, built: TfjsBuilt, future: Future | None) -> dict[str, Any]:
    """Wait for the page's result (if it could run at all) and finish the TF.js entry."""
    from core.export.tfjs_check import BrowserUnavailable

    if future is None:
        result = {"error": built.notes[-1]}
    else:
        try:
            result = future.result()
        except BrowserUnavailable as exc:
            result = {"error": f"not checked: {exc}"}
    return finish_tfjs(ctx, built, result)


def _record_failure(
    fmt: str, exc: Exception, formats: tuple, reporter: Reporter, bundles: dict[str, Any]
) -> None:
    """One format failed: raise for a single-format job (and for bad input), else record it."""
    if isinstance(exc, BadInput) or len(formats) == 1:
        raise exc
    message = f"{FORMAT_TITLE[fmt]} failed: {type(exc).__name__}: {exc}"
    reporter.event(message[:2000], "error")
    bundles[fmt] = {"format": fmt, "ok": False, "error": message[:2000]}


def _finish(fmt: str, entry: dict[str, Any], reporter: Reporter) -> dict[str, Any]:
    """Zip the bundle, record the artifacts and turn paths into strings."""
    out, folder = Path(entry.pop("path")), Path(entry.pop("bundle"))
    archive = zip_folder(folder, folder.parent / BUNDLE_NAME[fmt])
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
        "model_bytes": int(tree_size(out)),
        "size_bytes": int(archive.stat().st_size),
    }
