"""`tfstudio profile`: capture a TensorFlow Profiler trace of a training run's model.

    tfstudio profile RUN_ID [--mode train|inference] [--steps A-B] [--batches N]
        [--batch-size N] [--prefetch auto|off|N] [--cache] [--parallel-calls auto|N] --json
    tfstudio profile --trace FILE.xplane.pb --json      # summarize a trace captured elsewhere

The JSON holds `top_ops` (each `name`, `type`, `self_time_us`, `percent`), `step_time_ms`,
`input_percent`, `recommendations`, `trace` (the .xplane.pb) and `run_id`.
"""

from __future__ import annotations

from core.cli.common import EXIT_FAILED, EXIT_OK, emit, open_workspace, run_payload, watch
from core.errors import BadInput
from core.runs import launcher
from core.runs.status import RunStatus
from core.specs import PROFILE_MODES, ProfileSpec


def _text(payload: dict) -> str:
    lines = [
        f"step time {payload.get('step_time_ms', 0):.4g} ms, "
        f"{payload.get('input_percent', 0):.3g}% waiting for input"
        + (
            f", profiled at {payload['overhead_ratio']:.2f}x unprofiled"
            if payload.get("overhead_ratio")
            else ""
        )
    ]
    for op in payload.get("top_ops", [])[:10]:
        lines.append(
            f"{op['percent']:6.2f}%  {op['self_time_us']:>10.1f} us  {op['type']:<24} {op['name']}"
        )
    lines += [f"- {r['text']}" for r in payload.get("recommendations", [])]
    lines.append(f"trace: {payload.get('trace', '')}")
    return "\n".join(lines)


def _summarize_file(args) -> int:
    from core.profiling.convert import summarize
    from core.profiling.recommend import recommend

    summary = summarize(args.trace)
    summary["recommendations"] = recommend(summary)
    payload = {
        "run_id": None,
        "step_time_ms": summary["step_time_ms"],
        "input_percent": summary["input_percent"],
        "breakdown_ms": summary["breakdown_ms"],
        "top_ops": [
            {k: o[k] for k in ("name", "type", "self_time_us", "percent")}
            for o in summary["top_ops"]
        ],
        "recommendations": summary["recommendations"],
        "trace": summary["traces"][-1],
        "conversion_s": summary["conversion_s"],
    }
    emit(args, payload, _text(payload))
    return EXIT_OK


def cmd_profile(args) -> int:
    from core.models.io import trained_run_dir
    from core.profiling.options import check_spec, precheck

    if args.trace:
        return _summarize_file(args)
    if not args.run_id:
        raise BadInput("give the training run to profile (RUN_ID), or --trace FILE")
    ws, store = open_workspace(args)
    spec = check_spec(
        ProfileSpec(
            source_run=args.run_id,
            mode=args.mode,
            steps=args.steps,
            batches=args.batches,
            batch_size=args.batch_size,
            prefetch=args.prefetch,
            cache=args.cache,
            parallel_calls=args.parallel_calls,
        )
    )
    trained_run_dir(
        store,
        ws,
        args.run_id,
        "profiling takes a training run",
        needs=("network.keras", "preprocessing.keras", "features.json"),
    )
    source = store.get_run(args.run_id)
    precheck(spec, source.spec, source.result or {})  # a step range outside the run exits 2
    run = launcher.submit(ws, store, spec, name=f"profile {spec.mode} of {args.run_id}")
    if args.detach:
        emit(args, run_payload(store, run), run.id)
        return EXIT_OK
    code = wait_and_report_quiet(args, store, run)
    return code


def wait_and_report_quiet(args, store, run) -> int:
    """Wait with progress on stderr; print the profile's numbers (or the failure)."""
    import sys

    run = watch(store, run)
    if run.status is not RunStatus.SUCCEEDED:
        print(f"error: {run.error}", file=sys.stderr)
        emit(args, run_payload(store, run), f"{run.id} {run.status.value}: {run.error}")
        return EXIT_FAILED
    payload = {"run_id": run.id, "status": run.status.value, **(run.result or {})}
    emit(args, payload, f"{run.id}\n" + _text(payload))
    return EXIT_OK


def register(sub, common) -> None:
    p = sub.add_parser(
        "profile",
        parents=[common],
        help="profile a training run's model (TensorFlow Profiler): step time, top ops, input",
    )
    p.add_argument("run_id", nargs="?", default="", help="a finished training run")
    p.add_argument("--mode", default="train", choices=list(PROFILE_MODES))
    p.add_argument("--steps", default="", help="train: steps of an epoch, A-B (default 1-10)")
    p.add_argument("--batches", type=int, default=10, help="inference: batches to profile")
    p.add_argument("--batch-size", type=int, default=0, help="what-if: rows per step (0: run's)")
    p.add_argument("--prefetch", default="auto", help="what-if: auto, off or N batches")
    p.add_argument("--cache", action="store_true", help="what-if: cache the preprocessed batches")
    p.add_argument("--parallel-calls", default="auto", help="what-if: preprocessing map, auto|N")
    p.add_argument("--trace", default="", help="summarize this .xplane.pb (or folder) instead")
    p.add_argument("--detach", action="store_true", help="start the profile and return at once")
    p.set_defaults(func=cmd_profile)
