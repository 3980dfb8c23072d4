"""`tfstudio models`: the built-in catalog, or a pretrained source (`--source kerashub`,
`keras-app` or `hub`) with search, a task filter, whether each model is cached here and how big
its download is."""

from __future__ import annotations

from core.cli.common import EXIT_OK, emit
from core.workspace import Workspace


def _builtin(args) -> int:
    from core.models.catalog import list_entries
    from core.models.inspect import count_parameters, nominal_input

    ws = Workspace.resolve(args.home)
    entries = list_entries(args.task, handles=True)
    templates = ("hub", "kerashub", "kerashub-text", "hub-text")  # handles, no model of their own
    counts = count_parameters(ws, [e.name for e in entries if e.name not in templates])
    items = []
    for e in entries:
        item = e.to_dict()
        item["parameters"] = counts.get(e.name)
        item["counted_at"] = nominal_input(e.input_kind) if e.name in counts else None
        items.append(item)
    emit(
        args,
        {"models": items},
        "\n".join(
            f"{e['name']:<28} {', '.join(e['tasks']):<28} "
            f"{e['parameters'] or '-':>11} {e['description'][:60]}"
            for e in items
        ),
    )
    return EXIT_OK


def cmd_models(args) -> int:
    if not args.source:
        return _builtin(args)
    from core.models.browse import browse

    rows = browse(args.source, args.search or "", args.task or "")
    items = [r.to_dict() for r in rows]
    lines = [
        f"{r.model:<60} {r.task:<22} {r.download:>11}  {r.licence[:24]:<24} "
        + (f"(not trained here: {r.trainable})" if r.trainable else r.description[:50])
        for r in rows
    ]
    emit(args, {"source": args.source, "models": items}, "\n".join(lines) or "no match")
    return EXIT_OK


def register(sub, common) -> None:
    from core.models.browse import SOURCES

    p = sub.add_parser(
        "models", parents=[common], help="list the model catalog or a pretrained source"
    )
    p.add_argument("--task", help="only models for this task")
    p.add_argument(
        "--source",
        choices=list(SOURCES),
        help="browse pretrained models: KerasHub presets, Keras Applications or TF Hub handles",
    )
    p.add_argument("--search", help="words that must appear in the name or description")
    p.set_defaults(func=cmd_models)
