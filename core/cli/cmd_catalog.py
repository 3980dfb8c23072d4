"""`tfstudio datasets` and `tfstudio models`: the bundled samples and the model catalog."""

from __future__ import annotations

from core.cli.common import EXIT_OK, emit
from core.workspace import Workspace


def cmd_datasets(args) -> int:
    from core.data.samples import SAMPLES

    items = [s.to_dict() for s in SAMPLES.values()]
    emit(
        args,
        {"datasets": items},
        "\n".join(f"sample:{s['name']:<10} {s['task']:<22} {s['description']}" for s in items),
    )
    return EXIT_OK


def cmd_models(args) -> int:
    from core.models.catalog import list_entries
    from core.models.inspect import count_parameters, nominal_input

    ws = Workspace.resolve(args.home)
    entries = list_entries(args.task, handles=True)
    counts = count_parameters(
        ws, [e.name for e in entries if ":" in e.name or e.name not in ("hub", "kerashub")]
    )
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


def register(sub, common) -> None:
    p = sub.add_parser("datasets", parents=[common], help="list bundled sample datasets")
    p.set_defaults(func=cmd_datasets)

    p = sub.add_parser("models", parents=[common], help="list the model catalog")
    p.add_argument("--task")
    p.set_defaults(func=cmd_models)
