"""ModelCatalog: every model the product can build, with its task, input kind and hyperparameters.

Entries are plain data, so the UI lists them without TensorFlow; `build` imports Keras lazily.
A builder takes hyperparameters and an input description and serves training and tuning alike.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from core.errors import BadInput


@dataclass(frozen=True)
class HyperParam:
    name: str
    kind: str  # int | float | choice | bool
    default: Any
    low: float | None = None
    high: float | None = None
    choices: tuple[Any, ...] = ()
    log: bool = False
    help: str = ""


@dataclass(frozen=True)
class CatalogEntry:
    name: str
    title: str
    tasks: tuple[str, ...]
    input_kind: str  # table | image | sequence | text
    description: str
    builder: str  # "module:function", imported only when building
    hyperparameters: tuple[HyperParam, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


MLP = CatalogEntry(
    name="mlp",
    title="Multilayer perceptron",
    tasks=("classification", "regression"),
    input_kind="table",
    description=(
        "Dense layers over the preprocessed columns (normalised numbers, one-hot categories). "
        "A strong, fast baseline for tabular data."
    ),
    builder="core.models.builders:build_mlp",
    hyperparameters=(
        HyperParam(
            "hidden_units",
            "choice",
            (32, 16),
            choices=((16,), (32, 16), (64, 32), (128, 64, 32)),
            help="width of each hidden layer",
        ),
        HyperParam("dropout", "float", 0.0, 0.0, 0.5, help="dropout after each hidden layer"),
        HyperParam("learning_rate", "float", 0.01, 1e-4, 1e-1, log=True, help="Adam step size"),
    ),
)

CATALOG: dict[str, CatalogEntry] = {e.name: e for e in (MLP,)}


def get_entry(name: str) -> CatalogEntry:
    try:
        return CATALOG[name]
    except KeyError:
        raise BadInput(f"unknown model {name!r}; the catalog has: {', '.join(CATALOG)}") from None


def list_entries(task: str | None = None) -> list[CatalogEntry]:
    return [e for e in CATALOG.values() if task is None or task in e.tasks]


def check_fits(name: str, task: str, input_kind: str) -> CatalogEntry:
    """Refuse a model that does not fit the data before any run starts."""
    entry = get_entry(name)
    if task not in entry.tasks:
        raise BadInput(f"model {name!r} does {'/'.join(entry.tasks)}, not {task}")
    if input_kind != entry.input_kind:
        raise BadInput(
            f"model {name!r} takes {entry.input_kind} input, but the data is {input_kind}"
        )
    return entry
