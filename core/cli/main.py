"""`tfstudio`: the command line.

Conventions for every command: `--json` prints one JSON object on stdout at the end (progress goes
to stderr); exit 0 on success, 1 when the job failed, 2 on bad input with one `error: ...` line on
stderr; `--home DIR` or TFSTUDIO_HOME selects the workspace.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from core.cli.common import (
    EXIT_BAD_INPUT,
    EXIT_FAILED,
    EXIT_OK,
    CliParser,
    data_arg,
)
from core.cli.common import emit as _emit
from core.cli.common import open_workspace as _open
from core.cli.common import progress as _progress
from core.cli.common import run_payload as _run_payload
from core.cli.common import wait_and_report as _wait_and_report
from core.errors import BadInput, NotFound
from core.runs import launcher
from core.runs.recovery import reconcile
from core.runs.status import RunStatus
from core.specs import TASKS
from core.workspace import Workspace


def cmd_datasets(args) -> int:
    from core.data.samples import SAMPLES

    items = [s.to_dict() for s in SAMPLES.values()]
    _emit(
        args,
        {"datasets": items},
        "\n".join(f"sample:{s['name']:<10} {s['task']:<22} {s['description']}" for s in items),
    )
    return EXIT_OK


def cmd_models(args) -> int:
    from core.models.catalog import list_entries
    from core.models.inspect import count_parameters, nominal_input

    ws = Workspace.resolve(args.home)
    entries = list_entries(args.task, handles=True)
    counts = count_parameters(
        ws, [e.name for e in entries if ":" in e.name or e.name not in ("hub", "kerashub")]
    )
    items = []
    for e in entries:
        item = e.to_dict()
        item["parameters"] = counts.get(e.name)
        item["counted_at"] = nominal_input(e.input_kind) if e.name in counts else None
        items.append(item)
    _emit(
        args,
        {"models": items},
        "\n".join(
            f"{e['name']:<28} {', '.join(e['tasks']):<28} "
            f"{e['parameters'] or '-':>11} {e['description'][:60]}"
            for e in items
        ),
    )
    return EXIT_OK


def cmd_train(args) -> int:
    from core.specs import TrainSpec
    from core.training.precheck import check_train_spec

    ws, store = _open(args)
    data = data_arg(args.data)
    spec = TrainSpec(
        data=data,
        target=args.target,
        model=args.model,
        task=args.task,
        epochs=args.epochs,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        seed=args.seed,
        coerce_numeric=args.coerce_numeric,
        split=args.split,
        time_column=args.time_column,
        window=args.window,
        horizon=args.horizon,
        stride=args.stride,
        features=tuple(f for f in args.features.split(",") if f),
        text_column=args.text_column,
        image_size=args.image_size,
        early_stopping=args.early_stopping,
        bucketize=tuple(c for c in args.bucketize.split(",") if c),
        optimizer=args.optimizer,
        schedule=args.schedule,
        class_weights=args.class_weights,
        mixed_precision=args.mixed_precision,
        strategy=args.strategy,
        workers=args.workers,
        weights=args.weights,
        fine_tune_layers=args.fine_tune_layers,
        fine_tune_epochs=args.fine_tune_epochs,
    )
    # Check the spec against its data here, so bad input exits 2 before any worker starts.
    planned = check_train_spec(spec, ws)
    for w in planned.warnings:
        print(f"warning: {w}", file=sys.stderr)
    name = args.name or f"{planned.model} · {args.target or planned.task} · {planned.data_label}"
    run = launcher.submit(ws, store, spec, name=name)
    if args.detach:
        _emit(args, _run_payload(store, run), run.id)
        return EXIT_OK
    return _wait_and_report(args, store, run)


def _read_options(args):
    from core.data.sources import ReadOptions

    return ReadOptions(
        delimiter=args.delimiter,
        encoding=args.encoding,
        decimal=args.decimal,
        skip_bad_rows=args.skip_bad_rows,
    )


def cmd_data_import(args) -> int:
    from core.data.datasets import DatasetStore

    ws = Workspace.resolve(args.home)
    path = Path(args.file).expanduser()
    if not path.is_file():
        raise BadInput(f"no such file: {args.file}")
    store = DatasetStore(ws)
    version = store.import_file(
        path,
        path.name,
        name=args.name,
        kind=args.kind,
        target=args.target,
        time_column=args.time_column,
        options=_read_options(args),
    )
    schema = store.schema(version)
    payload = {**version.to_dict(), "dataset_id": version.id, "schema": schema}
    _emit(
        args,
        payload,
        f"{version.id} ({version.kind}, {version.rows:,} rows, {len(version.columns)} columns)",
    )
    return EXIT_OK


def cmd_data_list(args) -> int:
    from core.data.datasets import DatasetStore

    versions = DatasetStore(Workspace.resolve(args.home)).list_versions()
    _emit(
        args,
        {"datasets": [v.to_dict() for v in versions]},
        "\n".join(f"{v.id:<24} {v.kind:<10} {v.rows:>9,} rows  {v.source}" for v in versions)
        or "no datasets yet",
    )
    return EXIT_OK


def cmd_data_profile(args) -> int:
    from core.data.datasets import DatasetStore
    from core.data.profile import profile_table
    from core.data.resolve import load_data

    ws = Workspace.resolve(args.home)
    loaded = load_data(args.source, ws)
    if loaded.dataset is not None and args.target is None:
        prof = DatasetStore(ws).profile(loaded.dataset)
    else:
        if args.target is not None and args.target not in loaded.frame.columns:
            raise BadInput(
                f"there is no column {args.target!r}; columns are: "
                f"{', '.join(map(str, loaded.frame.columns))}"
            )
        types = {c["name"]: c["type"] for c in loaded.schema["columns"]} if loaded.schema else None
        prof = profile_table(loaded.frame, target=args.target, types=types)
    payload = {
        "source": loaded.label,
        "lineage": loaded.lineage,
        "schema": prof.schema,
        **prof.to_dict(),
    }
    text = "\n".join(
        [f"{loaded.label}: {prof.rows:,} rows"]
        + [
            f"  {c.name:<28} {c.type:<12} missing {c.missing:>7,}  distinct {c.distinct:>7,}"
            for c in prof.columns
        ]
        + [f"issue: {i}" for i in prof.issues]
    )
    _emit(args, payload, text)
    return EXIT_OK


def cmd_data_validate(args) -> int:
    from core.data.datasets import DatasetStore
    from core.data.sources import read_table
    from core.data.validation import validate_frame

    ws = Workspace.resolve(args.home)
    store = DatasetStore(ws)
    reference = store.get(args.against)
    new = read_table(Path(args.file).expanduser(), options=_read_options(args)).frame
    report = validate_frame(new, store.read_frame(reference), store.schema(reference))
    payload = {"against": reference.id, "file": str(args.file), **report.to_dict()}
    text = "\n".join(
        [f"{len(report.anomalies)} anomalies against {reference.id}"]
        + [
            f"  [{a.severity}] {a.column or '(table)'} {a.kind}: {a.detail}"
            for a in report.anomalies
        ]
    )
    _emit(args, payload, text)
    return EXIT_OK


def cmd_runs_list(args) -> int:
    _, store = _open(args)
    reconcile(store)
    runs = store.list_runs(kind=args.kind, limit=args.limit)
    _emit(
        args,
        {
            "runs": [
                {
                    "run_id": r.id,
                    "kind": r.kind,
                    "name": r.name,
                    "status": r.status.value,
                    "created_at": r.created_at,
                    "progress": r.fraction,
                    "error": r.error,
                }
                for r in runs
            ]
        },
        "\n".join(f"{r.id}  {r.kind:<7} {r.status.value:<9} {r.name}" for r in runs)
        or "no runs yet",
    )
    return EXIT_OK


def cmd_runs_show(args) -> int:
    _, store = _open(args)
    reconcile(store)
    run = store.get_run(args.run_id)
    payload = _run_payload(store, run)
    payload["events"] = [e.message for e in store.get_events(run.id)]
    _emit(args, payload, json.dumps(payload, indent=2, default=str))
    return EXIT_OK


def cmd_runs_cancel(args) -> int:
    _, store = _open(args)
    run = store.get_run(args.run_id)
    if run.status.is_finalized:
        raise BadInput(f"run {run.id} already ended ({run.status.value})")
    run = store.request_cancel(run.id)
    _emit(
        args,
        {"run_id": run.id, "status": run.status.value, "cancel_requested": True},
        f"cancel requested for {run.id}; it stops at the next epoch boundary",
    )
    return EXIT_OK


def cmd_runs_resume(args) -> int:
    ws, store = _open(args)
    run = launcher.resume(ws, store, args.run_id)
    if args.detach:
        _emit(args, _run_payload(store, run), f"resumed {run.id} (worker pid {run.pid})")
        return EXIT_OK
    return _wait_and_report(args, store, run)


def cmd_export(args) -> int:
    from core.export.job import BUNDLE_NAME, OUTPUT_NAME
    from core.export.source import check as check_export
    from core.specs import ExportSpec

    ws, store = _open(args)
    fmt = "micro" if args.format == "c-array" else args.format
    spec = ExportSpec(
        source_run=args.run_id,
        format=fmt,
        quantize="" if args.quantize == "none" else args.quantize,
        serving_name=args.name or "",
        variant=args.variant or "",
        version=args.version,
    )
    check_export(store, ws, spec)  # bad input exits 2 before a worker starts
    what = f"{args.variant} variant of {args.run_id}" if args.variant else args.run_id
    run = launcher.submit(ws, store, spec, name=f"export {fmt} of {what}")
    print(f"run {run.id} started (worker pid {run.pid})", file=sys.stderr)
    run = launcher.wait(store, run.id, on_update=_progress)
    if run.status is not RunStatus.SUCCEEDED:
        _emit(args, _run_payload(store, run), f"{run.id} {run.status.value}: {run.error}")
        return EXIT_FAILED
    artifacts = store.get_artifacts(run.id)
    out_dir = Path(args.out).expanduser().resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    result = dict(run.result or {})
    bundles = {}
    for name, entry in result.get("bundles", {}).items():
        if BUNDLE_NAME[name] in artifacts:
            zipped = out_dir / BUNDLE_NAME[name]
            shutil.copy2(artifacts[BUNDLE_NAME[name]].path, zipped)
            entry = {**entry, "bundle": str(zipped)}
        if OUTPUT_NAME[name] in artifacts:  # the bare file or folder, as before
            produced = Path(artifacts[OUTPUT_NAME[name]].path)
            target = out_dir / produced.name
            if produced.is_dir():
                if target.exists():
                    shutil.rmtree(target)
                shutil.copytree(produced, target)
            else:
                shutil.copy2(produced, target)
            entry = {**entry, "path": str(target)}
        bundles[name] = entry
    payload = {**result, "bundles": bundles, "run_id": run.id, "status": run.status.value}
    if "format" in result and result["format"] in bundles:
        payload["path"] = bundles[result["format"]].get("path")
    lines = [
        f"{name}: {b.get('bundle', '-')} "
        + ("parity ok" if b.get("ok") else f"NOT OK {b.get('error', '')}".strip())
        for name, b in bundles.items()
    ]
    _emit(args, payload, "\n".join(lines))
    return EXIT_OK


def cmd_serve(args) -> int:
    from core.serving.server import resolve_model, serve

    ws, store = _open(args)
    path, name = resolve_model(args.model, ws, store, args.name)
    token = args.token or os.environ.get("TFSTUDIO_SERVE_TOKEN", "")
    return serve(
        path,
        name,
        host=args.address,
        port=args.port,
        token=token,
        max_body_bytes=int(args.max_body_mb * 1024 * 1024),
    )


def cmd_compress(args) -> int:
    from core.compression.preflight import check_spec
    from core.specs import CompressSpec

    ws, store = _open(args)
    spec = CompressSpec(
        source_run=args.run_id,
        method=args.method,
        sparsity=args.sparsity,
        clusters=args.clusters,
        epochs=args.epochs,
        int8_io=args.int8_io,
        schedule=args.schedule,
        centroids=args.centroids,
    )
    methods, _ = check_spec(spec, store, ws)  # bad input exits 2 before a worker starts
    run = launcher.submit(ws, store, spec, name=f"compress {','.join(methods)} of {args.run_id}")
    print(f"run {run.id} started (worker pid {run.pid})", file=sys.stderr)
    run = launcher.wait(store, run.id, on_update=_progress)
    if run.status is not RunStatus.SUCCEEDED:
        _emit(args, _run_payload(store, run), f"{run.id} {run.status.value}: {run.error}")
        return EXIT_FAILED
    result = run.result or {}
    payload = {"run_id": run.id, "status": run.status.value, **result}
    rows = [result.get("baseline", {}), *result.get("variants", [])]
    text = "\n".join(
        f"{r['method']:<12} error: {r['error']}"
        if "error" in r
        else f"{r['method']:<12} {r['size_bytes']:>9,} B  gzip {r['gzip_bytes']:>9,} B  "
        f"{r['metric_name']} {r['metric']:.4f}  {r['latency_ms']:.4f} ms  {r['path']}"
        for r in rows
    )
    _emit(args, payload, text)
    return EXIT_OK


def cmd_app(args) -> int:
    root = Path(__file__).resolve().parents[2]
    env = dict(os.environ)
    home = args.home or (str(root / ".demo-home") if args.demo else None)
    ws = Workspace.resolve(home)
    env["TFSTUDIO_HOME"] = str(ws.root)
    headless = "true"
    if args.demo:
        from core.demo import seed_demo

        run = seed_demo(ws)
        if run:
            print(f"demo: started training run {run.id} on the iris sample", file=sys.stderr)
        # Open a browser tab where there is a screen to show it on.
        if (
            sys.platform == "darwin"
            or os.environ.get("DISPLAY")
            or os.environ.get("WAYLAND_DISPLAY")
        ):
            headless = "false"
    cmd = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(root / "dashboard" / "app.py"),
        "--server.headless",
        headless,
        "--server.port",
        str(args.port),
        "--server.address",
        args.address,
    ]
    print(
        f"TF Studio: open http://{args.address}:{args.port} (workspace {ws.root}); "
        "Ctrl+C stops the app, running jobs carry on",
        file=sys.stderr,
    )
    try:
        return subprocess.call(cmd, env=env, cwd=root)
    except KeyboardInterrupt:
        return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--home", help="workspace folder (default: $TFSTUDIO_HOME or ~/.tfstudio)")
    common.add_argument("--json", action="store_true", help="print one JSON object on stdout")

    parser = CliParser(prog="tfstudio", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, parser_class=CliParser)

    p = sub.add_parser("datasets", parents=[common], help="list bundled sample datasets")
    p.set_defaults(func=cmd_datasets)

    p = sub.add_parser("models", parents=[common], help="list the model catalog")
    p.add_argument("--task")
    p.set_defaults(func=cmd_models)

    p = sub.add_parser("train", parents=[common], help="train a model on a table and wait")
    p.add_argument("--data", required=True, help="a file, a dataset id (name@vN) or sample:NAME")
    p.add_argument("--target", default="", help="column(s) to predict (comma-separated series)")
    p.add_argument("--model", default="", help="catalog name (default: the task's default)")
    p.add_argument("--task", default="auto", choices=list(TASKS))
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--learning-rate", type=float, default=0.01)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument(
        "--coerce-numeric",
        action="store_true",
        help="treat non-numbers in numeric columns as missing",
    )
    p.add_argument("--split", default="auto", choices=["auto", "random", "stratified", "time"])
    p.add_argument(
        "--early-stopping",
        type=int,
        default=0,
        metavar="PATIENCE",
        help="stop after PATIENCE epochs without a better validation loss",
    )
    p.add_argument("--time-column", default="", help="forecasting: the time column")
    p.add_argument("--window", type=int, default=24, help="forecasting: input steps")
    p.add_argument("--horizon", type=int, default=1, help="forecasting: steps ahead")
    p.add_argument("--stride", type=int, default=1, help="forecasting: steps between windows")
    p.add_argument("--features", default="", help="forecasting: extra input columns, comma-sep.")
    p.add_argument("--bucketize", default="", help="tables: numeric columns to bin, comma-sep.")
    p.add_argument("--optimizer", default="adam", choices=["adam", "adamw", "sgd", "rmsprop"])
    p.add_argument("--schedule", default="constant", choices=["constant", "cosine", "exponential"])
    p.add_argument("--class-weights", default="none", choices=["none", "balanced"])
    p.add_argument("--mixed-precision", action="store_true", help="float16 compute on a GPU")
    p.add_argument(
        "--strategy",
        default="default",
        choices=["default", "mirrored", "multiworker"],
        help="tf.distribute strategy",
    )
    p.add_argument(
        "--workers",
        type=int,
        default=2,
        help="devices (mirrored) or local worker processes (multiworker)",
    )
    p.add_argument("--weights", default="", help="keras-app: a local weights file")
    p.add_argument(
        "--fine-tune-layers",
        type=int,
        default=0,
        help="backbones: unfreeze this many top layers after training the head",
    )
    p.add_argument("--fine-tune-epochs", type=int, default=0)
    p.add_argument("--text-column", default="", help="text: the column of text")
    p.add_argument("--image-size", type=int, default=64, help="images: resized to N x N")
    p.add_argument("--name", default="")
    p.add_argument("--detach", action="store_true", help="start the run and return at once")
    p.set_defaults(func=cmd_train)

    reading = argparse.ArgumentParser(add_help=False)
    reading.add_argument("--delimiter", help="field separator (default: detected)")
    reading.add_argument("--encoding", choices=["utf-8", "utf-8-sig", "latin-1"])
    reading.add_argument("--decimal", choices=[".", ","], help="decimal mark (default: detected)")
    reading.add_argument(
        "--skip-bad-rows",
        action="store_true",
        help="skip rows with the wrong number of fields (counted)",
    )

    data = sub.add_parser("data", help="import, profile and validate datasets")
    data_sub = data.add_subparsers(dest="data_command", required=True, parser_class=CliParser)
    p = data_sub.add_parser(
        "import",
        parents=[common, reading],
        help="import a table file or an image zip as a dataset version",
    )
    p.add_argument("file")
    p.add_argument("--name")
    p.add_argument(
        "--kind", default="auto", choices=["auto", "table", "timeseries", "text", "images"]
    )
    p.add_argument("--target")
    p.add_argument("--time-column")
    p.set_defaults(func=cmd_data_import)
    p = data_sub.add_parser("list", parents=[common], help="list dataset versions")
    p.set_defaults(func=cmd_data_list)
    p = data_sub.add_parser(
        "profile", parents=[common], help="schema and statistics of a file, sample or dataset"
    )
    p.add_argument("source", help="a file, sample:NAME or a dataset id (name@vN)")
    p.add_argument("--target")
    p.set_defaults(func=cmd_data_profile)
    p = data_sub.add_parser(
        "validate",
        parents=[common, reading],
        help="check new data against a dataset's schema and statistics",
    )
    p.add_argument("file")
    p.add_argument("--against", required=True, help="dataset id (name@vN)")
    p.set_defaults(func=cmd_data_validate)

    runs = sub.add_parser("runs", help="list, show, cancel and resume runs")
    runs_sub = runs.add_subparsers(dest="runs_command", required=True, parser_class=CliParser)
    p = runs_sub.add_parser("list", parents=[common])
    p.add_argument("--kind")
    p.add_argument("--limit", type=int, default=50)
    p.set_defaults(func=cmd_runs_list)
    p = runs_sub.add_parser("show", parents=[common])
    p.add_argument("run_id")
    p.set_defaults(func=cmd_runs_show)
    p = runs_sub.add_parser("cancel", parents=[common])
    p.add_argument("run_id")
    p.set_defaults(func=cmd_runs_cancel)
    p = runs_sub.add_parser(
        "resume", parents=[common], help="continue a lost, failed or canceled resumable run"
    )
    p.add_argument("run_id")
    p.add_argument("--detach", action="store_true", help="return once the worker has started")
    p.set_defaults(func=cmd_runs_resume)

    p = sub.add_parser(
        "export", parents=[common], help="export a training run's model or a compressed variant"
    )
    p.add_argument("run_id")
    p.add_argument(
        "--format",
        required=True,
        choices=["keras", "savedmodel", "tflite", "tfjs", "micro", "c-array", "all"],
        help="one format (micro = c-array: the .tflite as a C array), or all",
    )
    p.add_argument("--out", required=True, help="folder to write the export into")
    p.add_argument(
        "--quantize",
        default="none",
        choices=["none", "uint8", "float16"],
        help="TF.js weight quantization",
    )
    p.add_argument("--name", default="", help="model name in the TF Serving layout")
    p.add_argument(
        "--variant",
        default="",
        help="export a compressed variant: RUN_ID is then a compress run, VARIANT one of its "
        "methods (int8, prune, ...)",
    )
    p.add_argument("--version", type=int, default=1, help="model version (TF Serving NAME/N/)")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("serve", parents=[common], help="serve a model over TF Serving's REST API")
    p.add_argument("model", help="a training or export run id, or a SavedModel folder")
    p.add_argument("--port", type=int, default=8501)
    p.add_argument("--address", default="127.0.0.1", help="default 127.0.0.1: this machine only")
    p.add_argument("--name", default="", help="model name in the URLs (default: the target)")
    p.add_argument(
        "--token",
        default="",
        help="require `Authorization: Bearer TOKEN` (or TFSTUDIO_SERVE_TOKEN)",
    )
    p.add_argument("--max-body-mb", type=float, default=10.0, help="request size limit")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser(
        "compress", parents=[common], help="quantize, prune or cluster a training run's model"
    )
    p.add_argument("run_id")
    p.add_argument(
        "--method",
        required=True,
        help="dynamic, float16, int8, prune, cluster, qat, prune+int8, cluster+int8, pqat "
        "(prune, then sparsity-preserving QAT) or cqat (cluster, then cluster-preserving QAT); "
        "several: comma-separated",
    )
    p.add_argument("--sparsity", type=float, default=0.8, help="prune: target share of zeros")
    p.add_argument("--clusters", type=int, default=16, help="cluster: distinct values per layer")
    p.add_argument("--epochs", type=int, default=5, help="prune/cluster/qat: fine-tuning epochs")
    p.add_argument("--int8-io", action="store_true", help="int8: int8 inputs and outputs")
    p.add_argument(
        "--schedule",
        default="polynomial",
        help="prune: polynomial (decay to the target) or constant (the target from step 0)",
    )
    p.add_argument(
        "--centroids",
        default="kmeans++",
        help="cluster: centroid initialisation (kmeans++, linear, density or random)",
    )
    p.set_defaults(func=cmd_compress)

    p = sub.add_parser("app", parents=[common], help="start the web app")
    p.add_argument("--port", type=int, default=8501)
    p.add_argument(
        "--address",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1: this machine only)",
    )
    p.add_argument(
        "--demo",
        action="store_true",
        help="use the demo workspace (./.demo-home) and start a sample training run",
    )
    p.set_defaults(func=cmd_app)
    for module in _command_modules():
        module.register(sub, common)
    return parser


def _command_modules():
    """Command families in `core/cli/cmd_*.py`, each with `register(subparsers, common)`."""
    import importlib
    import pkgutil

    import core.cli

    names = sorted(
        m.name for m in pkgutil.iter_modules(core.cli.__path__) if m.name.startswith("cmd_")
    )
    return [importlib.import_module(f"core.cli.{name}") for name in names]


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (BadInput, NotFound) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT


if __name__ == "__main__":
    sys.exit(main())
