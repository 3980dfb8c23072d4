"""Trigger a pipeline from a watched folder or on a schedule (`tfstudio pipeline watch`).

Each new file in the folder (not yet in the pipeline's ledger of ingested files, and no longer
growing between two looks) starts one pipeline run with that file as its ingest input; runs go
one at a time, in file order. With `every_s`, the pipeline also runs on that schedule with its
own ingest settings.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from core.data.datasets import file_sha256
from core.errors import BadInput
from core.pipelines.definition import load_pipeline
from core.pipelines.state import read_ledger
from core.pipelines.submit import submit_pipeline
from core.runs import launcher
from core.runs.store import RunStore
from core.workspace import Workspace


def watch(
    ws: Workspace,
    store: RunStore,
    file: str | Path,
    folder: str | Path | None = None,
    interval_s: float = 10.0,
    every_s: float = 0.0,
    max_runs: int = 0,
    once: bool = False,
    log: Callable[[str], None] = lambda m: None,
) -> list[str]:
    """Run until stopped (Ctrl-C), `max_runs` runs, or after one look with `once`."""
    pipeline = load_pipeline(file)
    ingest = pipeline.by_type("ingest")
    if folder is None:
        if ingest is None or "folder" not in ingest.params:
            if not every_s:
                raise BadInput(
                    f"{pipeline.source}: nothing to watch: give --folder, an ingest stage with "
                    "a `folder:`, or a schedule with --every"
                )
        else:
            folder = Path(pipeline.source).parent / str(ingest.params["folder"])
    if folder is not None:
        folder = Path(folder).expanduser().resolve()
        if not folder.is_dir():
            raise BadInput(f"no folder {folder} to watch")
        if ingest is None:
            raise BadInput(f"{pipeline.source}: a watched folder needs an ingest stage")
    if interval_s <= 0:
        raise BadInput("--interval must be more than 0 seconds")
    runs: list[str] = []
    sizes: dict[Path, int] = {}
    next_scheduled = time.time() + every_s if every_s else None
    log(f"watching {folder or '(schedule only)'} for {pipeline.name} every {interval_s:g} s")
    try:
        while True:
            if folder is not None:
                ledger = read_ledger(ws, pipeline.name)
                for path in sorted(folder.iterdir()):
                    if not path.is_file() or path.name.startswith("."):
                        continue
                    size = path.stat().st_size
                    if sizes.get(path) != size and not once:
                        sizes[path] = size  # still being written? look again next time
                        continue
                    if file_sha256(path) in ledger:
                        continue
                    log(f"new file {path.name}: starting {pipeline.name}")
                    runs.append(_run(ws, store, file, str(path), log))
                    ledger = read_ledger(ws, pipeline.name)
                    if max_runs and len(runs) >= max_runs:
                        return runs
            if next_scheduled and time.time() >= next_scheduled:
                log(f"schedule: starting {pipeline.name}")
                runs.append(_run(ws, store, file, "", log))
                next_scheduled = time.time() + every_s
                if max_runs and len(runs) >= max_runs:
                    return runs
            if once:
                return runs
            time.sleep(interval_s)
    except KeyboardInterrupt:
        return runs


def _run(ws, store, file, ingest_file: str, log) -> str:
    run = submit_pipeline(ws, store, file, ingest_file=ingest_file)
    done = launcher.wait(store, run.id)
    outcome = (done.result or {}).get("outcome", "")
    log(f"pipeline run {run.id}: {done.status.value} {outcome} {done.error or ''}".rstrip())
    return run.id
