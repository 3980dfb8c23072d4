"""`tfstudio report RUN_ID --out FILE.html|.pdf`: a finished run's report, readable offline."""

from __future__ import annotations

from core.cli.common import EXIT_OK, emit, open_workspace
from core.cli.flags import add_command


def cmd_report(args) -> int:
    from core.report import write_report

    ws, store = open_workspace(args)
    path = write_report(ws, store, args.run_id, args.out)
    emit(
        args,
        {"run_id": args.run_id, "path": str(path), "size_bytes": path.stat().st_size},
        f"wrote {path} ({path.stat().st_size:,} bytes)",
    )
    return EXIT_OK


def register(sub, common) -> None:
    p = add_command(
        sub,
        common,
        "report",
        cmd_report,
        "write a finished run's report (self-contained HTML, or PDF)",
    )
    p.add_argument("run_id")
    p.add_argument("--out", required=True, help="FILE.html or FILE.pdf")
