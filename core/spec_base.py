"""The base of every spec (frozen, JSON-serialisable dataclasses) and `field_default`, the one
place a CLI flag or a page control reads a default from; re-exported by core.specs."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar


@dataclass(frozen=True)
class Spec:
    kind: ClassVar[str] = ""

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]):  # type: ignore[no-untyped-def]
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - names
        if unknown:
            raise ValueError(f"unknown field(s) for {cls.__name__}: {sorted(unknown)}")
        values = dict(data)
        for f in dataclasses.fields(cls):
            if f.name in values and isinstance(values[f.name], list):
                values[f.name] = tuple(values[f.name])
        return cls(**values)


# The defaults that every spec reading a dataset shares (a training run, an AutoML search), held
# once so the two cannot drift: TrainSpec's and AutoMLSpec's fields read them from here.
DATA_DEFAULTS: dict[str, Any] = {
    "data": "sample:iris",
    "task": "auto",
    "batch_size": 32,
    "validation_fraction": 0.2,
    "test_fraction": 0.2,
    "seed": 42,
    "image_size": 64,
}


def field_default(spec_type: type[Spec], name: str) -> Any:
    """A spec field's default: the one value the CLI and the pages start from."""
    for f in dataclasses.fields(spec_type):
        if f.name == name:
            if f.default is not dataclasses.MISSING:
                return f.default
            if f.default_factory is not dataclasses.MISSING:
                return f.default_factory()
    raise KeyError(f"{spec_type.__name__} has no field {name!r}")
