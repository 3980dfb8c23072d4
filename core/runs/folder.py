"""What a run folder holds about its run, so the store can be rebuilt from the folders alone.

The SQLite store is the index; each run folder keeps a copy of what matters (MLflow keeps its
file store the same way):

    runs/<id>/run.json        kind, name, spec, status, times, error, result, artifacts
              metrics.jsonl   one metric point per line, appended as it is logged
              events.jsonl    one event per line

`read_folder` also reads folders written before these files existed (legacy runs): it keeps what
is on disk (history.json curves, artifacts) and marks such a run LOST, saying its spec is unknown.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

from core import util

RECORD = "run.json"
METRICS = "metrics.jsonl"
EVENTS = "events.jsonl"
OWN_FILES = frozenset({RECORD, METRICS, EVENTS})
# A spec field a folder can never grant on its own (see core.models.io.run_trusts_code).
UNTRUSTED_FIELD = "trust_savedmodel"
RESTORED_WITHOUT_TRUST = (
    "rebuilt from its folder without trust_savedmodel: a folder cannot grant trust, so its "
    "model loads in Keras safe mode until it is trained again with --trust-savedmodel"
)
_ID = re.compile(r"^(\d{8}-\d{6})-[0-9a-f]{6}$")


def is_run_id(name: str) -> bool:
    return bool(_ID.match(name))


# Run records are written aside and renamed over (the one helper in core/util.py).
write_json_atomic = util.write_json_atomic


def append_lines(path: Path, rows: list[dict[str, Any]]) -> None:
    # One write per call in append mode: concurrent writers (worker, CLI) do not interleave lines.
    text = "".join(json.dumps(r) + "\n" for r in rows)
    with open(path, "a", encoding="utf-8") as f:
        f.write(text)


def _read_lines(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    rows = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            rows.append(json.loads(line))
        except ValueError:
            continue  # a line cut short by a crash; the others are whole
    return rows


def _guess_kind(run_dir: Path) -> str:
    if (run_dir / "search").is_dir():
        return "tune"
    if (run_dir / "stages").is_dir():
        return "pipeline"
    if (run_dir / "model.keras").is_file() and (run_dir / "features.json").is_file():
        return "train"
    return "unknown"


def _created_from_id(run_id: str, fallback: float) -> float:
    m = _ID.match(run_id)
    if not m:
        return fallback
    try:
        return time.mktime(time.strptime(m.group(1), "%Y%m%d-%H%M%S"))
    except ValueError:
        return fallback


def _legacy_metrics(run_dir: Path) -> list[dict[str, Any]]:
    """Per-epoch curves from a training run's history.json ({name: [value per epoch]})."""
    try:
        hist = json.loads((run_dir / "history.json").read_text())
    except (OSError, ValueError):
        return []
    rows = []
    if isinstance(hist, dict):
        for name, values in hist.items():
            if isinstance(values, list):
                for step, v in enumerate(values, start=1):
                    if isinstance(v, int | float):
                        rows.append({"step": step, "name": name, "value": float(v), "ts": 0.0})
    return rows


def read_folder(run_dir: Path) -> dict[str, Any] | None:
    """Everything a run folder says about its run, as a store record with `metrics`, `events`
    and `artifacts`; None when the folder is not a run folder."""
    if not run_dir.is_dir() or not is_run_id(run_dir.name):
        return None
    record: dict[str, Any] | None = None
    try:
        record = json.loads((run_dir / RECORD).read_text())
    except (OSError, ValueError):
        record = None
    metrics = _read_lines(run_dir / METRICS)
    if record is None:
        mtime = run_dir.stat().st_mtime
        record = {
            "id": run_dir.name,
            "kind": _guess_kind(run_dir),
            "name": "",
            "status": "LOST",
            "spec": {},
            "created_at": _created_from_id(run_dir.name, mtime),
            "finished_at": mtime,
            "error": (
                "recovered from its run folder by `tfstudio doctor`: the store had no record "
                "of this run and the folder predates run.json, so its spec is unknown"
            ),
            "artifacts": {
                p.name: str(p)
                for p in sorted(run_dir.iterdir())
                if p.name not in OWN_FILES and not p.name.startswith(".")
            },
        }
        metrics = metrics or _legacy_metrics(run_dir)
    record["id"] = run_dir.name
    record["metrics"] = metrics
    record["events"] = _read_lines(run_dir / EVENTS)
    spec = record.get("spec")
    if isinstance(spec, dict) and spec.pop(UNTRUSTED_FIELD, None):
        # trust is the user's choice, never a folder's: a rebuilt run must be trusted again
        record["events"].append(
            {"ts": time.time(), "level": "warning", "message": RESTORED_WITHOUT_TRUST}
        )
    return record
