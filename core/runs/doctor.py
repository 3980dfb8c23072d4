"""`tfstudio doctor [--repair]`: check the workspace and rebuild the run store from the run folders.

What it checks: that the store opens and passes SQLite's quick_check; that every run folder is in
the store (a store overwritten, truncated or replaced by an empty one forgets them); that every
dataset version has a readable manifest and its data; leftover half-written imports.

What --repair does, losing nothing on disk: moves a damaged store aside (renamed, not deleted),
starts a new one, and puts back every run folder the store lacks, with whatever the folder holds
(spec, status, metrics, events, artifacts; see `core.runs.folder`). Runs that were active when
the store broke come back as they were, and reconcile marks those whose worker is gone LOST.
Half-written dataset imports older than STALE_S are removed: they never became a version.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from core.errors import StoreDamaged
from core.runs import dbfile, folder
from core.runs.store import RunStore
from core.workspace import Workspace

# A hidden `.tmp-*` import folder this old belongs to no import still in progress.
STALE_S = 600.0
DATA_FILES = ("data.parquet", "index.parquet")


@dataclass
class Report:
    store: str = "ok"  # ok | damaged | read-only
    store_detail: str = ""
    runs_in_store: int = 0
    run_folders: int = 0
    unrecorded_runs: list[str] = field(default_factory=list)  # folders the store lacks
    runs_without_folder: list[str] = field(default_factory=list)
    dataset_versions: int = 0
    dataset_problems: list[str] = field(default_factory=list)
    half_written: list[str] = field(default_factory=list)
    repaired: list[str] = field(default_factory=list)  # what --repair did, one line each

    @property
    def healthy(self) -> bool:
        return self.store != "damaged" and not (
            self.unrecorded_runs or self.dataset_problems or self.half_written
        )

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "healthy": self.healthy}

    def lines(self) -> list[str]:
        out = [f"store: {self.store}" + (f" ({self.store_detail})" if self.store_detail else "")]
        out.append(f"runs: {self.runs_in_store} in the store, {self.run_folders} run folders")
        if self.unrecorded_runs:
            out.append(
                f"  {len(self.unrecorded_runs)} run folder(s) not in the store: "
                + ", ".join(self.unrecorded_runs[:5])
                + (" …" if len(self.unrecorded_runs) > 5 else "")
            )
        if self.runs_without_folder:
            out.append(f"  {len(self.runs_without_folder)} run(s) in the store have no folder")
        out.append(f"datasets: {self.dataset_versions} version(s)")
        out += [f"  {p}" for p in self.dataset_problems]
        out += [f"  half-written import: {p}" for p in self.half_written]
        out += [f"repaired: {r}" for r in self.repaired]
        if not self.healthy and not self.repaired:
            out.append("run `tfstudio doctor --repair` to fix what can be fixed")
        return out


def run_folders(ws: Workspace) -> list[Path]:
    base = ws.root / "runs"
    if not base.is_dir():
        return []
    return sorted(p for p in base.iterdir() if p.is_dir() and folder.is_run_id(p.name))


def _check_store(ws: Workspace, report: Report) -> RunStore | None:
    try:
        store = RunStore(ws.db_path)
        conn = sqlite3.connect(f"{ws.db_path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            verdict = conn.execute("PRAGMA quick_check").fetchone()[0]
        finally:
            conn.close()
        if verdict != "ok":
            raise StoreDamaged(f"quick_check: {verdict}")
    except StoreDamaged as exc:
        report.store, report.store_detail = "damaged", str(exc)
        return None
    except sqlite3.DatabaseError as exc:
        # mode=ro can fail on a read-only mount without a -shm file; the store itself opened
        if not store.read_only:
            report.store, report.store_detail = "damaged", str(exc)
            return None
    if store.read_only:
        report.store = "read-only"
    return store


def _check_datasets(ws: Workspace, report: Report) -> None:
    root = ws.root / "datasets"
    if not root.is_dir():
        return
    now = time.time()
    for tmp in sorted(root.glob(".tmp-*")):
        if now - tmp.stat().st_mtime > STALE_S:
            report.half_written.append(str(tmp))
    for manifest in sorted(root.glob("*/v*/manifest.json")):
        version = manifest.parent
        label = f"{version.parent.name}@{version.name}"
        try:
            data = json.loads(manifest.read_text())
            if not isinstance(data, dict) or "version" not in data:
                raise ValueError("no version in it")
        except (OSError, ValueError) as exc:
            report.dataset_problems.append(f"{label}: unreadable manifest.json ({exc})")
            continue
        report.dataset_versions += 1
        missing = [n for n in ("schema.json", "profile.json") if not (version / n).is_file()]
        if not any((version / n).is_file() for n in DATA_FILES):
            missing.append(" or ".join(DATA_FILES))
        if missing:
            report.dataset_problems.append(f"{label}: missing {', '.join(missing)}")


def check(ws: Workspace) -> Report:
    """What is wrong with the workspace; changes nothing."""
    report = Report()
    store = _check_store(ws, report)
    folders = run_folders(ws)
    report.run_folders = len(folders)
    if store is not None:
        ids = store.run_ids()
        report.runs_in_store = len(ids)
        names = {p.name for p in folders}
        report.unrecorded_runs = sorted(names - ids)
        report.runs_without_folder = sorted(ids - names)
    else:
        report.unrecorded_runs = [p.name for p in folders]
    _check_datasets(ws, report)
    return report


def quick_check(ws: Workspace) -> str | None:
    """One line for the app's banner (what is wrong; the banner offers the repair) when the
    store is damaged or lacks run folders; None when fine. Cheap enough for every page load:
    no quick_check, one id query and one folder listing."""
    try:
        store = RunStore(ws.db_path)
        ids = store.run_ids()
    except StoreDamaged as exc:
        return exc.finding
    base = ws.root / "runs"
    names = {p.name for p in base.iterdir()} if base.is_dir() else set()
    missing = [n for n in names - ids if folder.is_run_id(n) and (base / n).is_dir()]
    if missing:
        return (
            f"{len(missing)} run folder(s) in {base} are not in the run store; the repair "
            "puts them back"
        )
    return None


def _move_aside(db_path: Path) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    aside = db_path.with_name(f"{db_path.name}.damaged-{stamp}")
    for suffix in ("", "-wal", "-shm"):
        src = Path(f"{db_path}{suffix}")
        if src.exists():
            os.replace(src, Path(f"{aside}{suffix}"))
    return aside


def repair(ws: Workspace) -> Report:
    """Fix what `check` found; returns the report after the repair, with what was done."""
    from core.runs.recovery import reconcile

    before = check(ws)
    done: list[str] = []
    if before.store == "read-only":
        raise dbfile.read_only_error(ws.db_path)
    if before.store == "damaged":
        aside = _move_aside(ws.db_path)
        done.append(f"moved the damaged store aside to {aside.name} (kept, not deleted)")
    store = RunStore(ws.db_path)
    restored = 0
    for run_dir in run_folders(ws):
        record = folder.read_folder(run_dir)
        if record is not None and store.restore_run(record):
            restored += 1
    if restored:
        done.append(f"put {restored} run(s) back into the store from their folders")
    lost = reconcile(store)
    if lost:
        done.append(f"marked {len(lost)} run(s) whose worker is gone LOST")
    for tmp in before.half_written:
        shutil.rmtree(tmp, ignore_errors=True)
        done.append(f"removed the half-written import {Path(tmp).name}")
    after = check(ws)
    after.repaired = done or ["nothing to repair"]
    return after
