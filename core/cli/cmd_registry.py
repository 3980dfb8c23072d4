"""`tfstudio registry list|show|register|promote`: registered models, their lineage and stage."""

from __future__ import annotations

from core.cli.common import EXIT_OK, emit, open_workspace
from core.registry.store import STAGES, Registry


def _line(v) -> str:
    metrics = ", ".join(f"{k} {val:.4g}" for k, val in v.metrics.items() if val is not None)
    return f"{v.id:<20} {v.stage:<10} run {v.run_id}  {v.dataset.get('dataset', '')}  {metrics}"


def cmd_list(args) -> int:
    ws, _ = open_workspace(args)
    versions = Registry(ws).list(args.name)
    payload = {"models": [v.to_dict() for v in versions]}
    emit(args, payload, "\n".join(_line(v) for v in versions) or "no registered models")
    return EXIT_OK


def cmd_show(args) -> int:
    ws, _ = open_workspace(args)
    registry = Registry(ws)
    version = registry.get(args.ref)
    payload = {**version.to_dict(), "history": registry.history(version.name)}
    parents = "; ".join(f"{p['role']} {p['kind']} run {p['run_id']}" for p in version.parents)
    text = "\n".join(
        [
            _line(version),
            f"dataset: {version.dataset}",
            f"parents: {parents}",
            f"bundles: {', '.join(b['format'] for b in version.bundles) or 'none'}",
        ]
    )
    emit(args, payload, text)
    return EXIT_OK


def cmd_register(args) -> int:
    ws, _ = open_workspace(args)
    version = Registry(ws).register(args.run_id, args.name, args.stage, args.description)
    emit(args, version.to_dict(), f"registered {version.id} ({version.stage})")
    return EXIT_OK


def cmd_promote(args) -> int:
    from core.registry.store import publish

    ws, _ = open_workspace(args)
    registry = Registry(ws)
    version = registry.promote(args.ref, args.stage)
    text = f"{version.id} is now {version.stage}"
    served = None
    if args.stage == "production":
        served = publish(ws, version)  # a server on the model base path switches to it
        text += (
            f"; serving/{version.name}/{version.version} is the served version"
            if served
            else "; it has no SavedModel bundle, so a running server keeps its version"
        )
    payload = {
        **version.to_dict(),
        "served": str(served) if served else None,
        "history": registry.history(version.name),
    }
    emit(args, payload, text)
    return EXIT_OK


def register(sub, common) -> None:
    p = sub.add_parser("registry", parents=[common], help="registered models and their stages")
    ps = p.add_subparsers(dest="registry_command", required=True)

    q = ps.add_parser("list", parents=[common], help="every registered version")
    q.add_argument("name", nargs="?", help="only this model")
    q.set_defaults(func=cmd_list)

    q = ps.add_parser("show", parents=[common], help="one version with its lineage")
    q.add_argument("ref", help="NAME@vN, or NAME (its production version, else its newest)")
    q.set_defaults(func=cmd_show)

    q = ps.add_parser("register", parents=[common], help="register a finished training run")
    q.add_argument("run_id")
    q.add_argument("--name", required=True, help="the model's name in the registry")
    q.add_argument("--stage", default="candidate", choices=STAGES)
    q.add_argument("--description", default="")
    q.set_defaults(func=cmd_register)

    q = ps.add_parser("promote", parents=[common], help="set a version's stage")
    q.add_argument("ref", help="NAME@vN")
    q.add_argument("--stage", default="production", choices=STAGES)
    q.set_defaults(func=cmd_promote)
