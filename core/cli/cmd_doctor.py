"""`tfstudio doctor [--repair]`: check the run store, run folders and dataset versions; rebuild
the store from the run folders (see core/runs/doctor.py)."""

from __future__ import annotations

from core.cli.common import EXIT_FAILED, EXIT_OK, emit
from core.runs import doctor
from core.workspace import Workspace


def cmd_doctor(args) -> int:
    ws = Workspace.resolve(args.home)
    report = doctor.repair(ws) if args.repair else doctor.check(ws)
    emit(args, report.to_dict(), "\n".join(report.lines()))
    # like fsck: 0 when healthy (or repaired to health), 1 when problems remain
    return EXIT_OK if report.healthy else EXIT_FAILED


def register(sub, common) -> None:
    p = sub.add_parser(
        "doctor",
        parents=[common],
        help="check the workspace (store, run folders, datasets); --repair rebuilds the store",
    )
    p.add_argument(
        "--repair",
        action="store_true",
        help="move a damaged store aside and rebuild it from the run folders (nothing on disk "
        "is deleted except half-written imports)",
    )
    p.set_defaults(func=cmd_doctor)
