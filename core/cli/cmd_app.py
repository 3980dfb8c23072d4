"""`tfstudio app`: start the Streamlit app on a workspace (optionally the seeded demo one)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from core.runs import supervisor
from core.workspace import Workspace


def _has_screen() -> bool:
    return bool(
        sys.platform == "darwin" or os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    )


def cmd_app(args) -> int:
    root = Path(__file__).resolve().parents[2]
    env = dict(os.environ)
    home = args.home or (str(root / ".demo-home") if args.demo else None)
    ws = Workspace.resolve(home)
    env["TFSTUDIO_HOME"] = str(ws.root)
    # One warm worker (TensorFlow imported before the click, core.runs.warm) for the app's jobs.
    env.setdefault("TFSTUDIO_WARM_WORKERS", "1")
    headless = "true"
    if args.demo:
        from core.demo import seed_demo

        # The story process tops up the warm pool once the story has ended (the app's setting).
        runs = seed_demo(ws, {"TFSTUDIO_WARM_WORKERS": env["TFSTUDIO_WARM_WORKERS"]})
        if runs:
            print(
                f"demo: the story ({len(runs)} runs on the iris sample) is running; the Home "
                "page shows its progress",
                file=sys.stderr,
            )
        if _has_screen():  # open a browser tab where there is a screen to show it on
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
    # SIGTERM/SIGINT to this process reach Streamlit too, and this process exits with it.
    try:
        return supervisor.run_foreground(cmd, env=env, cwd=root)
    finally:
        from core.runs import warm

        warm.shutdown(ws.root)  # idle warm workers go with the app; running jobs carry on


def register(sub, common) -> None:
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
        help="use the demo workspace (./.demo-home); an empty one gets the demo story",
    )
    p.set_defaults(func=cmd_app)
