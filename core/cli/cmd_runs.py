"""`tfstudio runs list|show|cancel|resume`: the job store as seen from the command line."""

from __future__ import annotations

import json

from core.cli.common import (
    EXIT_OK,
    CliParser,
    emit,
    open_workspace,
    run_payload,
    wait_and_report,
)
from core.errors import BadInput
from core.runs import launcher
from core.runs.recovery import reconcile


def cmd_list(args) -> int:
    _, store = open_workspace(args)
    reconcile(store)
    runs = store.list_runs(kind=args.kind, limit=args.limit, offset=args.offset)
    emit(
        args,
        {
            "total": store.count_runs(kind=args.kind),
            "offset": args.offset,
            "runs": [
                {
                    "run_id": r.id,
                    "kind": r.kind,
                    "name": r.name,
                    "status": r.status.value,
                    "created_at": r.created_at,
                    "progress": r.fraction,
                    "error": r.error,
                    "parent_id": r.parent_id,
                    "role": r.role,
                }
                for r in runs
            ],
        },
        "\n".join(f"{r.id}  {r.kind:<7} {r.status.value:<9} {r.name}" for r in runs)
        or "no runs yet",
    )
    return EXIT_OK


def cmd_show(args) -> int:
    _, store = open_workspace(args)
    reconcile(store)
    run = store.get_run(args.run_id)
    payload = run_payload(store, run)
    payload["events"] = [e.message for e in store.get_events(run.id)]
    emit(args, payload, json.dumps(payload, indent=2, default=str))
    return EXIT_OK


def cmd_cancel(args) -> int:
    _, store = open_workspace(args)
    run = store.get_run(args.run_id)
    if run.status.is_finalized:
        raise BadInput(f"run {run.id} already ended ({run.status.value})")
    run = store.request_cancel(run.id)
    emit(
        args,
        {"run_id": run.id, "status": run.status.value, "cancel_requested": True},
        f"cancel requested for {run.id}; it stops at the next epoch boundary",
    )
    return EXIT_OK


def cmd_resume(args) -> int:
    ws, store = open_workspace(args)
    run = launcher.resume(ws, store, args.run_id)
    if args.detach:
        emit(args, run_payload(store, run), f"resumed {run.id} (worker pid {run.pid})")
        return EXIT_OK
    return wait_and_report(args, store, run)


def register(sub, common) -> None:
    runs = sub.add_parser("runs", help="list, show, cancel and resume runs")
    runs_sub = runs.add_subparsers(dest="runs_command", required=True, parser_class=CliParser)
    p = runs_sub.add_parser("list", parents=[common])
    p.add_argument("--kind")
    p.add_argument("--limit", type=int, default=50, help="runs per page, newest first")
    p.add_argument("--offset", type=int, default=0, help="skip this many (the next page)")
    p.set_defaults(func=cmd_list)
    p = runs_sub.add_parser("show", parents=[common])
    p.add_argument("run_id")
    p.set_defaults(func=cmd_show)
    p = runs_sub.add_parser("cancel", parents=[common])
    p.add_argument("run_id")
    p.set_defaults(func=cmd_cancel)
    p = runs_sub.add_parser(
        "resume", parents=[common], help="continue a lost, failed or canceled resumable run"
    )
    p.add_argument("run_id")
    p.add_argument("--detach", action="store_true", help="return once the worker has started")
    p.set_defaults(func=cmd_resume)
