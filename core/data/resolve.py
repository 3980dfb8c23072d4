"""One way to turn what a user typed (`sample:NAME`, a dataset id, a file path) into a table,
with the lineage a run records."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from core.data.datasets import DatasetStore, DatasetVersion, file_sha256
from core.data.samples import SAMPLE_PREFIX, sample_path
from core.data.sources import read_table
from core.errors import BadInput
from core.workspace import Workspace


@dataclass
class LoadedData:
    frame: pd.DataFrame
    label: str
    lineage: dict[str, Any] = field(default_factory=dict)
    dataset: DatasetVersion | None = None
    schema: dict[str, Any] | None = None


def load_data(ref: str, ws: Workspace | None = None) -> LoadedData:
    ws = ws or Workspace.resolve()
    if ref.startswith(SAMPLE_PREFIX):
        path = sample_path(ref[len(SAMPLE_PREFIX) :], ws.samples_dir)
        return LoadedData(read_table(path).frame, ref, {"sample": ref, "sha256": file_sha256(path)})
    path = Path(ref).expanduser()
    if path.exists():
        if path.is_dir():
            raise BadInput(f"{ref} is a folder; give a table file or a dataset id")
        return LoadedData(
            read_table(path).frame,
            path.name,
            {"file": str(path.resolve()), "sha256": file_sha256(path)},
        )
    store = DatasetStore(ws)
    if store.is_ref(ref):
        version = store.get(ref)
        return LoadedData(
            store.read_frame(version),
            version.id,
            {"dataset": version.id, "sha256": version.sha256},
            version,
            store.schema(version),
        )
    if "/" in ref or "\\" in ref or Path(ref).suffix:
        raise BadInput(f"no such file: {ref}")
    raise BadInput(f"{ref!r} is neither a file, a dataset id (name@vN) nor sample:NAME")
