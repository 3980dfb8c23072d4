"""`tfstudio profile`: capture a TensorFlow Profiler trace of a training run's model.

    tfstudio profile RUN_ID [--mode train|inference] [--steps A-B] [--batches N]
        [--batch-size N] [--prefetch auto|off|N] [--cache] [--parallel-calls auto|N] --json
    tfstudio profile --trace FILE.xplane.pb --json      # summarize a trace captured elsewhere

The JSON holds `top_ops` (each `name`, `type`, `self_time_us`, `percent`), `step_time_ms`,
`input_percent`, `recommendations`, `trace` (the .xplane.pb) and `run_id`.
"""

from __future__ import annotations

from core.cli.common import EXIT_FAILED, EXIT_OK, emit, launch, open_workspace, watch_result
from core.cli.flags import Flags, add_command, add_spec_flags, spec_values
from core.errors import BadInput
from core.specs import PROFILE_MODES, ProfileSpec

# The what-ifs: how the run's input pipeline is changed for the profile (the mode's own flags
# first, then these, in --help order).
WHAT_IFS = {
    "batch_size": "rows per step (0: run's)",
    "prefetch": "auto, off or N batches",
    "cache": "cache the preprocessed batches",
    "parallel_calls": "preprocessing map, auto|N",
}
# Every ProfileSpec field `tfstudio profile` takes after RUN_ID.
FLAGS: Flags = {
    "mode": {"choices": list(PROFILE_MODES)},
    "steps": {"help": "train: steps of an epoch, A-B (default 1-10)"},
    "batches": {"help": "inference: batches to profile"},
    **{name: {"help": f"what-if: {text}"} for name, text in WHAT_IFS.items()},
}


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
    from core.profiling.options import check_spec
    from core.profiling.source import check_source

    if args.trace:
        return _summarize_file(args)
    if not args.run_id:
        raise BadInput("give the training run to profile (RUN_ID), or --trace FILE")
    ws, store = open_workspace(args)
    spec = check_spec(ProfileSpec(source_run=args.run_id, **spec_values(args, FLAGS)))
    check_source(spec, store, ws)  # a step range outside the run exits 2
    run = launch(args, ws, store, spec, f"profile {spec.mode} of {args.run_id}")
    if run is None:
        return EXIT_OK
    payload = watch_result(args, store, run, error_line=True)
    if payload is None:
        return EXIT_FAILED
    emit(args, payload, f"{run.id}\n" + _text(payload))
    return EXIT_OK


def register(sub, common) -> None:
    p = add_command(
        sub,
        common,
        "profile",
        cmd_profile,
        "profile a training run's model (TensorFlow Profiler): step time, top ops, input",
    )
    p.add_argument("run_id", nargs="?", default="", help="a finished training run")
    add_spec_flags(p, ProfileSpec, FLAGS)
    p.add_argument("--trace", default="", help="summarize this .xplane.pb (or folder) instead")
    p.add_argument("--detach", action="store_true", help="start the profile and return at once")
