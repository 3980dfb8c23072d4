"""The ingest stage: the new files (one given, or a folder's files not seen before), read
and kept as the run's new rows; the ledger of ingested files; the dataset version they join."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from core.errors import BadInput, NotFound
from core.pipelines.state import StageStop, ledger_path, read_ledger, write_json

if TYPE_CHECKING:
    from core.pipelines.job import Runner


def run(r: Runner, stage, out: Path) -> dict[str, Any]:
    from core.data.datasets import DatasetStore, file_sha256
    from core.data.sources import read_table

    source = Path(r.p.source).parent
    ledger = read_ledger(r.ws, r.p.name)
    chosen = r.state["stages"][stage.name]["outputs"].get("chosen")
    if chosen:  # a resumed ingest takes the files it chose before (the ledger has them now)
        files = [Path(f) for f in chosen]
    elif r.ctx.get("ingest_file"):
        files = [Path(r.ctx["ingest_file"])]
    elif "file" in stage.params:
        files = [_resolve(source, stage.params["file"])]
    else:
        folder = _resolve(source, stage.params["folder"])
        pattern = str(stage.params.get("pattern", "*"))
        files = [
            f
            for f in sorted(folder.glob(pattern))
            if f.is_file() and not f.name.startswith(".") and file_sha256(f) not in ledger
        ]
        if not files:
            raise StageStop(f"no new files in {folder}", "no new data", {"files": []})
    r.state["stages"][stage.name]["outputs"]["chosen"] = [str(f) for f in files]
    r.save()
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        raise BadInput(f"stage {stage.name}: no such file {missing[0]}")
    frames = [read_table(f).frame for f in files]
    new = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    new.to_parquet(out / "new.parquet", index=False)
    datasets = DatasetStore(r.ws)
    base_version = base_dataset_version(
        datasets, r.ctx.get("production_dataset"), r.ctx["dataset"], r.reporter
    )
    r.ctx["base_dataset"] = base_version.id
    digests = {file_sha256(f): str(f) for f in files}
    ledger.update(digests)
    path = ledger_path(r.ws, r.p.name)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json(path, ledger)
    return {
        "files": [str(f) for f in files],
        "sha256": list(digests),
        "new_rows": int(len(new)),
        "columns": [str(c) for c in new.columns],
        "base": base_version.id,
        "mode": stage.params.get("mode", "append"),
    }


def base_dataset_version(datasets, production: str | None, dataset: str, reporter):
    """The version new rows are added to: production's training data when that is a dataset
    version, else the pipeline's own dataset (production trained on a file or a sample). Only
    "not a dataset version" falls back; any other error (an unreadable manifest) stops the stage,
    so the baseline never changes silently."""
    if production:
        try:
            return datasets.get(production)
        except NotFound:
            reporter.event(
                f"production was trained on {production!r}, not a dataset version: new rows are "
                f"added to the pipeline's dataset {dataset!r}",
                "warning",
            )
    return datasets.get(dataset)


def _resolve(folder: Path, given: str) -> Path:
    path = Path(str(given)).expanduser()
    return path if path.is_absolute() else (folder / path).resolve()
