"""`tfstudio warm`: keep pre-started workers (TensorFlow already imported) for a workspace.

A job then starts in a second or so instead of paying TensorFlow's import (see
benchmarks/README.md). `tfstudio app` keeps one by itself; this is for command-line use.
"""

from __future__ import annotations

import os

from core.cli.common import EXIT_OK, emit, open_workspace
from core.cli.flags import add_command
from core.errors import BadInput
from core.runs import launcher, warm


def cmd_warm(args) -> int:
    ws, store = open_workspace(args)
    if args.stop:
        warm.set_pool_size(ws.root, 0)
        retired = warm.shutdown(ws.root)
        emit(args, {"count": 0, "retired": retired}, f"warm workers off ({retired} retired)")
        return EXIT_OK
    if args.count is not None:
        if not 0 <= args.count <= 4:
            raise BadInput(
                f"--count must be 0..4 (each idle worker holds ~0.75 GB), got {args.count}"
            )
        warm.set_pool_size(ws.root, args.count)
        env = launcher.worker_env(ws)
        env.pop(warm.ENV_COUNT, None)  # the workspace setting decides from now on
        os.environ.pop(warm.ENV_COUNT, None)
        warm.ensure(ws.root, env, store)
    state = warm.status(ws.root)
    count = warm.wanted(dict(os.environ), ws.root)
    emit(
        args,
        {"count": count, **state},
        f"warm workers: {state['ready']} ready, {state['starting']} starting (keeps {count}; "
        f"each retires after {float(os.environ.get(warm.ENV_IDLE, warm.DEFAULT_IDLE_S)):.0f} s "
        "idle)",
    )
    return EXIT_OK


def register(sub, common) -> None:
    p = add_command(
        sub,
        common,
        "warm",
        cmd_warm,
        "keep workers with TensorFlow imported ready, so jobs start at once",
    )
    p.add_argument("--count", type=int, help="how many to keep ready (0 turns them off)")
    p.add_argument("--stop", action="store_true", help="turn off and retire the idle ones")
