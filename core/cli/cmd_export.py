"""`tfstudio export`: export a training run (or a compressed variant) and copy the bundles out."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from core.cli.common import EXIT_FAILED, EXIT_OK, emit, open_workspace, watch_result
from core.cli.flags import add_command
from core.runs import launcher
from core.specs import EXPORT_FORMATS, TFJS_QUANTIZATIONS, ExportSpec, field_default

FORMAT_CHOICES = (*EXPORT_FORMATS, "c-array", "all")  # c-array: another name for micro
QUANTIZE_CHOICES = tuple(q or "none" for q in TFJS_QUANTIZATIONS)


def spec_from_args(args) -> ExportSpec:
    return ExportSpec(
        source_run=args.run_id,
        format="micro" if args.format == "c-array" else args.format,
        quantize="" if args.quantize == "none" else args.quantize,
        serving_name=args.name or "",
        variant=args.variant or "",
        version=args.version,
    )


def copy_whole(src: Path, target: Path) -> None:
    """Copy a file or folder aside, then rename it into place: a full disk or a crash leaves
    the old target or none, never half a bundle (the partial copy is removed)."""
    partial = target.with_name(f".{target.name}.partial")
    try:
        if src.is_dir():
            shutil.rmtree(partial, ignore_errors=True)
            shutil.copytree(src, partial)
            if target.exists():
                shutil.rmtree(target)
        else:
            shutil.copy2(src, partial)
        os.replace(partial, target)
    finally:
        if partial.is_dir():
            shutil.rmtree(partial, ignore_errors=True)
        else:
            partial.unlink(missing_ok=True)


def _copy_out(result: dict, artifacts: dict, out_dir: Path) -> dict:
    """Each format's zip bundle and its bare file or folder (as before bundles) into `out_dir`."""
    from core.export.names import BUNDLE_NAME, OUTPUT_NAME

    bundles = {}
    for name, entry in result.get("bundles", {}).items():
        if BUNDLE_NAME[name] in artifacts:
            zipped = out_dir / BUNDLE_NAME[name]
            copy_whole(Path(artifacts[BUNDLE_NAME[name]].path), zipped)
            entry = {**entry, "bundle": str(zipped)}
        if OUTPUT_NAME[name] in artifacts:
            produced = Path(artifacts[OUTPUT_NAME[name]].path)
            target = out_dir / produced.name
            copy_whole(produced, target)
            entry = {**entry, "path": str(target)}
        bundles[name] = entry
    return bundles


def cmd_export(args) -> int:
    from core.export.source import check as check_export

    ws, store = open_workspace(args)
    spec = spec_from_args(args)
    check_export(store, ws, spec)  # bad input exits 2 before a worker starts
    what = f"{args.variant} variant of {args.run_id}" if args.variant else args.run_id
    run = launcher.submit(ws, store, spec, name=f"export {spec.format} of {what}")
    result = watch_result(args, store, run)
    if result is None:
        return EXIT_FAILED
    out_dir = Path(args.out).expanduser().resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    bundles = _copy_out(result, store.get_artifacts(run.id), out_dir)
    payload = {**result, "bundles": bundles}
    if "format" in result and result["format"] in bundles:
        payload["path"] = bundles[result["format"]].get("path")
    lines = [
        f"{name}: {b.get('bundle', '-')} "
        + ("parity ok" if b.get("ok") else f"NOT OK {b.get('error', '')}".strip())
        for name, b in bundles.items()
    ]
    emit(args, payload, "\n".join(lines))
    return EXIT_OK


def register(sub, common) -> None:
    p = add_command(
        sub, common, "export", cmd_export, "export a training run's model or a compressed variant"
    )
    p.add_argument("run_id")
    p.add_argument(
        "--format",
        required=True,
        choices=list(FORMAT_CHOICES),
        help="one format (micro = c-array: the .tflite as a C array), or all",
    )
    p.add_argument("--out", required=True, help="folder to write the export into")
    p.add_argument(
        "--quantize",
        default="none",
        choices=list(QUANTIZE_CHOICES),
        help="TF.js weight quantization",
    )
    p.add_argument("--name", default="", help="model name in the TF Serving layout")
    p.add_argument(
        "--variant",
        default="",
        help="export a compressed variant: RUN_ID is then a compress run, VARIANT one of its "
        "methods (int8, prune, ...)",
    )
    p.add_argument(
        "--version",
        type=int,
        default=field_default(ExportSpec, "version"),
        help="model version (TF Serving NAME/N/)",
    )
