"""`tfstudio pipeline run|resume|show|check|watch|compile|run-stage`: retraining pipelines."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from core.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    emit,
    open_workspace,
    run_payload,
    watch,
)
from core.errors import BadInput
from core.runs import launcher
from core.runs.status import RunStatus

if TYPE_CHECKING:
    from core.pipelines.state import PipelineState


def _payload(ws, store, run) -> dict:
    from core.pipelines.state import read_state

    payload = run_payload(store, run)
    payload["state"] = read_state(ws.run_dir(run.id))
    return payload


def _summary(payload: dict) -> str:
    state = payload.get("state") or {}
    lines = [f"{payload['run_id']} {payload['status']} {state.get('outcome') or ''}".rstrip()]
    for name in state.get("order", []):
        entry = state["stages"][name]
        children = ", ".join(f"{k} {v}" for k, v in entry.get("children", {}).items())
        lines.append(f"  {name:<11} {entry['status']:<10} {children}".rstrip())
    if payload.get("error"):
        lines.append(f"error: {payload['error']}")
    return "\n".join(lines)


def _finish(args, ws, store, run) -> int:
    if getattr(args, "detach", False):
        payload = _payload(ws, store, run)
        emit(args, payload, f"{run.id} started (pipeline run; tfstudio pipeline show {run.id})")
        return EXIT_OK
    run = watch(store, run, "pipeline run")
    payload = _payload(ws, store, run)
    emit(args, payload, _summary(payload))
    return EXIT_OK if run.status is RunStatus.SUCCEEDED else EXIT_FAILED


def cmd_run(args) -> int:
    from core.pipelines.submit import submit_pipeline

    ws, store = open_workspace(args)
    run = submit_pipeline(ws, store, args.file)
    return _finish(args, ws, store, run)


def cmd_resume(args) -> int:
    ws, store = open_workspace(args)
    run = store.get_run(args.run_id)
    if run.kind != "pipeline":
        raise BadInput(f"run {run.id} is a {run.kind} run, not a pipeline")
    from core.pipelines.state import read_state

    state: PipelineState | dict[str, Any] = read_state(ws.run_dir(run.id)) or {}
    if state.get("outcome") == "stopped by validation":
        raise BadInput(
            f"run {run.id} was stopped by validation, and would stop again: fix the data (or "
            "the severity) and start a new run"
        )
    run = launcher.resume(ws, store, run.id)
    return _finish(args, ws, store, run)


def cmd_show(args) -> int:
    from core.runs.recovery import reconcile

    ws, store = open_workspace(args)
    reconcile(store)
    run = store.get_run(args.run_id)
    payload = _payload(ws, store, run)
    emit(args, payload, _summary(payload))
    return EXIT_OK


def cmd_check(args) -> int:
    from core.pipelines.checks import check_against_workspace
    from core.pipelines.definition import load_pipeline

    ws, _ = open_workspace(args)
    pipeline = load_pipeline(args.file)
    found = check_against_workspace(pipeline, ws)
    payload = {**pipeline.to_dict(), "workspace": found}
    order = " -> ".join(s.name for s in pipeline.order())
    emit(args, payload, f"{pipeline.name}: {order} (dataset {found['dataset']}) ok")
    return EXIT_OK


def cmd_watch(args) -> int:
    from core.pipelines.watch import watch

    ws, store = open_workspace(args)
    runs = watch(
        ws,
        store,
        args.file,
        folder=args.folder,
        interval_s=args.interval,
        every_s=args.every,
        max_runs=args.max_runs,
        once=args.once,
        log=lambda m: print(m, file=sys.stderr, flush=True),
    )
    payload = {"runs": [_payload(ws, store, store.get_run(r)) for r in runs]}
    emit(args, payload, "\n".join(_summary(p) for p in payload["runs"]) or "no runs")
    failed = any(p["status"] != "SUCCEEDED" for p in payload["runs"])
    return EXIT_FAILED if failed else EXIT_OK


def cmd_compile(args) -> int:
    from core.pipelines.definition import load_pipeline
    from core.pipelines.kubeflow import compile_kubeflow

    if args.target != "kubeflow":
        raise BadInput(f"unknown target {args.target!r}; the target is kubeflow")
    pipeline = load_pipeline(args.file)
    print("compiling with the Kubeflow SDK in its own uv environment", file=sys.stderr)
    ws, _ = open_workspace(args)  # the dataset staged onto the volume comes from here
    report = compile_kubeflow(
        pipeline,
        args.out,
        home=args.workspace,
        ws=ws,
        image=args.image,
        create_pvc=args.create_pvc,
    )
    tasks = ", ".join(t["display_name"] for t in report["tasks"].values())
    emit(args, report, f"wrote {report['out']} (kfp {report['kfp']}): {tasks}")
    return EXIT_OK


def cmd_run_stage(args) -> int:
    """One stage, in this process: what a Kubeflow step runs (and a way to debug a stage)."""
    from core.pipelines.definition import load_pipeline, parse_text
    from core.pipelines.job import Runner
    from core.pipelines.state import read_state
    from core.runs.reporter import PrintReporter

    ws, store = open_workspace(args)
    if args.text:
        pipeline = parse_text(args.text, str(ws.root / "pipeline.yaml"))
    elif args.file:
        pipeline = load_pipeline(args.file)
    else:
        raise BadInput("give the pipeline FILE or --text YAML")
    names = [s.name for s in pipeline.stages]
    if args.stage not in names:
        raise BadInput(f"no stage {args.stage!r} in {pipeline.name}; stages: {', '.join(names)}")
    for stage in pipeline.stages:
        if stage.type == "train" and args.strategy:
            stage.params["strategy"] = args.strategy
        if stage.type in ("train", "tune") and args.workers is not None:
            if stage.type == "tune" or stage.params.get("strategy", "default") != "default":
                stage.params["workers"] = int(args.workers)
    run_dir = ws.root / "pipeline-runs" / args.run
    runner = Runner(pipeline, ws, run_dir, PrintReporter(), run_id=args.run)
    try:
        finished = runner.run_stage(args.stage)
    except BadInput:
        raise
    except Exception as exc:  # noqa: BLE001  (the step fails with one line; state says more)
        print(f"error: stage {args.stage} failed: {exc}", file=sys.stderr)
        return EXIT_FAILED
    state = read_state(run_dir)
    assert state is not None  # run_stage wrote it
    entry = state["stages"][args.stage]
    emit(args, {"run": args.run, "stage": args.stage, **entry}, f"{args.stage} {entry['status']}")
    if not finished:
        print(f"error: stage {args.stage} stopped the pipeline: {entry['error']}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def register(sub, common) -> None:
    p = sub.add_parser("pipeline", parents=[common], help="retraining pipelines (YAML files)")
    ps = p.add_subparsers(dest="pipeline_command", required=True)

    q = ps.add_parser("run", parents=[common], help="run a pipeline file (waits unless --detach)")
    q.add_argument("file")
    q.add_argument("--detach", action="store_true", help="start it and return")
    q.set_defaults(func=cmd_run)

    q = ps.add_parser("resume", parents=[common], help="resume an interrupted pipeline run")
    q.add_argument("run_id")
    q.add_argument("--detach", action="store_true")
    q.set_defaults(func=cmd_resume)

    q = ps.add_parser("show", parents=[common], help="a pipeline run's stages and outputs")
    q.add_argument("run_id")
    q.set_defaults(func=cmd_show)

    q = ps.add_parser("check", parents=[common], help="check a pipeline file; run nothing")
    q.add_argument("file")
    q.set_defaults(func=cmd_check)

    q = ps.add_parser(
        "watch", parents=[common], help="run the pipeline on each new file in a folder"
    )
    q.add_argument("file")
    q.add_argument("--folder", help="the folder to watch (default: the ingest stage's folder)")
    q.add_argument("--interval", type=float, default=10.0, help="seconds between looks")
    q.add_argument("--every", type=float, default=0.0, help="also run on a schedule (seconds)")
    q.add_argument("--max-runs", type=int, default=0, help="stop after this many runs")
    q.add_argument("--once", action="store_true", help="handle what is there now, then stop")
    q.set_defaults(func=cmd_watch)

    q = ps.add_parser("compile", parents=[common], help="compile a pipeline for Kubeflow Pipelines")
    q.add_argument("file")
    q.add_argument("--target", default="kubeflow", help="kubeflow")
    q.add_argument("--out", required=True, help="the KFP YAML to write")
    q.add_argument(
        "--workspace",
        default="/workspace",
        help="where the steps' shared TF Studio workspace is mounted (default /workspace)",
    )
    q.add_argument("--image", default="", help="the steps' image (default: the file's image:)")
    q.add_argument(
        "--create-pvc",
        action="store_true",
        help="the pipeline creates its volume claim (pvc_name, pvc_size) instead of mounting one",
    )
    q.set_defaults(func=cmd_compile)

    q = ps.add_parser("run-stage", parents=[common], help="run one stage here (Kubeflow steps)")
    q.add_argument("file", nargs="?")
    q.add_argument("--text", help="the pipeline YAML itself instead of a file")
    q.add_argument("--stage", required=True)
    q.add_argument("--run", required=True, help="the pipeline run id the stages share")
    q.add_argument("--strategy", default="", help="train: default, mirrored or multiworker")
    q.add_argument("--workers", type=int, default=None, help="train/tune: worker processes")
    q.set_defaults(func=cmd_run_stage)
