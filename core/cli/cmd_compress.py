"""`tfstudio compress`: quantize, prune or cluster a training run's model and compare variants."""

from __future__ import annotations

from core.cli.common import EXIT_FAILED, EXIT_OK, emit, open_workspace, watch_result
from core.cli.flags import Flags, add_command, add_spec_flags, spec_values
from core.runs import launcher
from core.specs import CENTROID_INITS, PRUNE_SCHEDULES, CompressSpec

# Every CompressSpec field `tfstudio compress` takes after RUN_ID, in --help order.
FLAGS: Flags = {
    "method": {
        "required": True,
        "help": "dynamic, float16, int8, prune, cluster, qat, prune+int8, cluster+int8, pqat "
        "(prune, then sparsity-preserving QAT) or cqat (cluster, then cluster-preserving QAT); "
        "several: comma-separated",
    },
    "sparsity": {"help": "prune: target share of zeros"},
    "clusters": {"help": "cluster: distinct values per layer"},
    "epochs": {"help": "prune/cluster/qat: fine-tuning epochs"},
    "int8_io": {"help": "int8: int8 inputs and outputs"},
    "schedule": {
        "help": f"prune: {' or '.join(PRUNE_SCHEDULES)} (polynomial: decay to the target; "
        "constant: the target from step 0)"
    },
    "centroids": {"help": f"cluster: centroid initialisation ({', '.join(CENTROID_INITS)})"},
}


def spec_from_args(args) -> CompressSpec:
    return CompressSpec(source_run=args.run_id, **spec_values(args, FLAGS))


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
    payload = watch_result(args, store, run)
    if payload is None:
        return EXIT_FAILED
    rows = [payload.get("baseline", {}), *payload.get("variants", [])]
    emit(args, payload, "\n".join(_row(r) for r in rows))
    return EXIT_OK


def register(sub, common) -> None:
    p = add_command(
        sub, common, "compress", cmd_compress, "quantize, prune or cluster a training run's model"
    )
    p.add_argument("run_id")
    add_spec_flags(p, CompressSpec, FLAGS)
