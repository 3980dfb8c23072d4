"""`tfstudio serve`: a model over TF Serving's REST API, in the foreground."""

from __future__ import annotations

import os

from core.cli.common import open_workspace
from core.serving.ports import SERVE_PORT


def cmd_serve(args) -> int:
    from core.serving.server import resolve_model, serve

    ws, store = open_workspace(args)
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


def register(sub, common) -> None:
    p = sub.add_parser("serve", parents=[common], help="serve a model over TF Serving's REST API")
    p.add_argument("model", help="a training or export run id, or a SavedModel folder")
    p.add_argument("--port", type=int, default=SERVE_PORT, help=f"default {SERVE_PORT}")
    p.add_argument("--address", default="127.0.0.1", help="default 127.0.0.1: this machine only")
    p.add_argument("--name", default="", help="model name in the URLs (default: the target)")
    p.add_argument(
        "--token",
        default="",
        help="require `Authorization: Bearer TOKEN` (or TFSTUDIO_SERVE_TOKEN)",
    )
    p.add_argument("--max-body-mb", type=float, default=10.0, help="request size limit")
    p.set_defaults(func=cmd_serve)
