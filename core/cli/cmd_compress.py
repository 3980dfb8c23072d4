"""`tfstudio compress`: quantize, prune or cluster a training run's model and compare variants."""

from __future__ import annotations

from core.cli.common import EXIT_FAILED, EXIT_OK, emit, open_workspace, run_payload, watch
from core.runs import launcher
from core.runs.status import RunStatus
from core.specs import CENTROID_INITS, PRUNE_SCHEDULES, CompressSpec, field_default


def spec_from_args(args) -> CompressSpec:
    return CompressSpec(
        source_run=args.run_id,
        method=args.method,
        sparsity=args.sparsity,
        clusters=args.clusters,
        epochs=args.epochs,
        int8_io=args.int8_io,
        schedule=args.schedule,
        centroids=args.centroids,
    )


def _row(r: dict) -> str:
    if "error" in r:
        return f"{r['method']:<12} error: {r['error']}"
    return (
        f"{r['method']:<12} {r['size_bytes']:>9,} B  gzip {r['gzip_bytes']:>9,} B  "
        f"{r['metric_name']} {r['metric']:.4f}  {r['latency_ms']:.4f} ms  {r['path']}"
    )


def cmd_compress(args) -> int:
    from core.compression.preflight import check_spec

    ws, store = open_workspace(args)
    spec = spec_from_args(args)
    methods, _ = check_spec(spec, store, ws)  # bad input exits 2 before a worker starts
    run = launcher.submit(ws, store, spec, name=f"compress {','.join(methods)} of {args.run_id}")
    run = watch(store, run)
    if run.status is not RunStatus.SUCCEEDED:
        emit(args, run_payload(store, run), f"{run.id} {run.status.value}: {run.error}")
        return EXIT_FAILED
    result = run.result or {}
    payload = {"run_id": run.id, "status": run.status.value, **result}
    rows = [result.get("baseline", {}), *result.get("variants", [])]
    emit(args, payload, "\n".join(_row(r) for r in rows))
    return EXIT_OK


def register(sub, common) -> None:
    def default(name: str):
        return field_default(CompressSpec, name)

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
    p.add_argument(
        "--sparsity", type=float, default=default("sparsity"), help="prune: target share of zeros"
    )
    p.add_argument(
        "--clusters",
        type=int,
        default=default("clusters"),
        help="cluster: distinct values per layer",
    )
    p.add_argument(
        "--epochs",
        type=int,
        default=default("epochs"),
        help="prune/cluster/qat: fine-tuning epochs",
    )
    p.add_argument("--int8-io", action="store_true", help="int8: int8 inputs and outputs")
    p.add_argument(
        "--schedule",
        default=default("schedule"),
        help=f"prune: {' or '.join(PRUNE_SCHEDULES)} (polynomial: decay to the target; "
        "constant: the target from step 0)",
    )
    p.add_argument(
        "--centroids",
        default=default("centroids"),
        help=f"cluster: centroid initialisation ({', '.join(CENTROID_INITS)})",
    )
    p.set_defaults(func=cmd_compress)
