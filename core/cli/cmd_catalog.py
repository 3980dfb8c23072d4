"""`tfstudio datasets`: the bundled samples (`tfstudio models` is in cmd_models.py)."""

from __future__ import annotations

from core.cli.common import EXIT_OK, emit


def cmd_datasets(args) -> int:
    from core.data.samples import SAMPLES

    items = [s.to_dict() for s in SAMPLES.values()]
    emit(
        args,
        {"datasets": items},
        "\n".join(f"sample:{s['name']:<10} {s['task']:<22} {s['description']}" for s in items),
    )
    return EXIT_OK


def register(sub, common) -> None:
    p = sub.add_parser("datasets", parents=[common], help="list bundled sample datasets")
    p.set_defaults(func=cmd_datasets)
