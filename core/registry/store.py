"""The model registry: `registry.sqlite` in the workspace (WAL, like the run store).

A registered model is a name with numbered versions. Each version points at the training run
that made it and records its lineage as it was at registration: the dataset version and its
sha256, the training spec, the parent runs (the training run, a tuning run it was promoted from,
the run it was warm-started from, the pipeline that made it), the test metrics, the run's
artifacts and, once exported, its bundles. A version's stage is `candidate`, `production` or
`archived`; promoting one to production archives the previous production version of that name in
the same transaction, so a reader sees exactly one production version (or none), never two.
"""

from __future__ import annotations

import builtins  # annotations below the `list` method, which shadows the builtin there
import json
import re
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from core.errors import BadInput, NotFound
from core.runs import dbfile
from core.runs.status import RunStatus
from core.runs.store import RunStore
from core.workspace import Workspace

STAGES = ("candidate", "production", "archived")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,59}$")
_REF = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9_.-]*?)(?:@v?(?P<version>\d+))?$")

SCHEMA = """
CREATE TABLE IF NOT EXISTS versions (
    name TEXT NOT NULL,
    version INTEGER NOT NULL,
    stage TEXT NOT NULL,
    run_id TEXT NOT NULL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    record TEXT NOT NULL,
    PRIMARY KEY (name, version)
);
CREATE TABLE IF NOT EXISTS history (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    version INTEGER NOT NULL,
    ts REAL NOT NULL,
    stage TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT ''
);
"""


@dataclass
class ModelVersion:
    name: str
    version: int
    stage: str
    run_id: str
    created_at: float
    updated_at: float
    description: str = ""
    task: str = ""
    model: str = ""
    target: str = ""
    dataset: dict[str, Any] = field(default_factory=dict)  # {id, sha256} or {file|sample, sha256}
    spec: dict[str, Any] = field(default_factory=dict)
    parents: list[dict[str, str]] = field(default_factory=list)  # [{run_id, kind, role}]
    metrics: dict[str, float] = field(default_factory=dict)  # test split
    validation_metrics: dict[str, float] = field(default_factory=dict)
    artifacts: dict[str, str] = field(default_factory=dict)
    bundles: list[dict[str, Any]] = field(default_factory=list)  # [{format, path, export_run}]
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return f"{self.name}@v{self.version}"

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, **asdict(self)}


def check_name(name: str) -> str:
    if not _NAME.match(name or ""):
        raise BadInput(
            f"model name {name!r} must start with a letter or digit and hold only letters, "
            "digits, '_', '.' or '-' (at most 60)"
        )
    return name


class Registry:
    def __init__(self, ws: Workspace) -> None:
        self.ws = ws
        self.db_path = ws.root / "registry.sqlite"
        # a read-only workspace still lists its models (opened read-only, see core.runs.dbfile)
        self.read_only = dbfile.is_read_only(self.db_path)
        if self.read_only:
            return
        with self._connect() as conn:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.executescript(SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        empty = self.read_only and not self.db_path.exists()
        conn = dbfile.connect(self.db_path, self.read_only, empty, SCHEMA)
        conn.row_factory = sqlite3.Row
        if not self.read_only:
            conn.execute("PRAGMA busy_timeout=30000")
        try:
            yield conn
        finally:
            conn.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        if self.read_only:
            raise dbfile.read_only_error(self.db_path)
        with self._connect() as conn, dbfile.transaction(conn):
            yield conn

    # -- reading ---------------------------------------------------------------------------------
    def names(self) -> list[str]:
        with self._connect() as conn:
            rows = conn.execute("SELECT DISTINCT name FROM versions ORDER BY name").fetchall()
        return [r["name"] for r in rows]

    def list(self, name: str | None = None) -> list[ModelVersion]:
        query = "SELECT * FROM versions"
        args: tuple[str, ...] = ()
        if name:
            query, args = query + " WHERE name = ?", (name,)
        with self._connect() as conn:
            rows = conn.execute(query + " ORDER BY name, version", args).fetchall()
        return [_from_row(r) for r in rows]

    def get(self, ref: str) -> ModelVersion:
        """`name@vN`, `name@N`, or `name` (its production version, else its newest)."""
        match = _REF.match((ref or "").strip())
        if not match:
            raise NotFound(f"{ref!r} is not a registered model (expected NAME or NAME@vN)")
        versions = self.list(match["name"])
        if not versions:
            known = ", ".join(self.names()) or "none yet"
            raise NotFound(f"no registered model {match['name']!r}; registered: {known}")
        if match["version"]:
            found = [v for v in versions if v.version == int(match["version"])]
            if not found:
                have = ", ".join(v.id for v in versions)
                raise NotFound(f"no version {ref!r}; versions: {have}")
            return found[0]
        production = [v for v in versions if v.stage == "production"]
        return production[0] if production else versions[-1]

    def production(self, name: str) -> ModelVersion | None:
        found = [v for v in self.list(name) if v.stage == "production"]
        return found[0] if found else None

    def history(self, name: str) -> builtins.list[dict[str, Any]]:
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT * FROM history WHERE name = ? ORDER BY seq", (name,)
            ).fetchall()
        return [dict(r) for r in rows]

    # -- writing ---------------------------------------------------------------------------------
    def register(
        self,
        run_id: str,
        name: str,
        stage: str = "candidate",
        description: str = "",
        parents: builtins.list[dict[str, str]] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> ModelVersion:
        """A new version of `name` from a SUCCEEDED training run (its lineage read now)."""
        check_name(name)
        if stage not in STAGES:
            raise BadInput(f"unknown stage {stage!r}; choose {', '.join(STAGES)}")
        record = lineage_of(self.ws, run_id)
        record["parents"] = _dedupe(record["parents"] + list(parents or []))
        record["extra"] = dict(extra or {})
        now = time.time()
        with self._tx() as conn:
            row = conn.execute(
                "SELECT COALESCE(MAX(version), 0) AS v FROM versions WHERE name = ?", (name,)
            ).fetchone()
            version = int(row["v"]) + 1
            if stage == "production":
                self._archive_production(conn, name, now, f"replaced by v{version}")
            conn.execute(
                "INSERT INTO versions (name, version, stage, run_id, created_at, updated_at, "
                "description, record) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (name, version, stage, run_id, now, now, description, json.dumps(record)),
            )
            conn.execute(
                "INSERT INTO history (name, version, ts, stage, note) VALUES (?, ?, ?, ?, ?)",
                (name, version, now, stage, f"registered from run {run_id}"),
            )
        return self.get(f"{name}@v{version}")

    def promote(self, ref: str, stage: str = "production", note: str = "") -> ModelVersion:
        """Set a version's stage; to production archives the current production version."""
        if stage not in STAGES:
            raise BadInput(f"unknown stage {stage!r}; choose {', '.join(STAGES)}")
        target = self.get(ref)
        now = time.time()
        with self._tx() as conn:
            if stage == "production":
                self._archive_production(conn, target.name, now, f"replaced by v{target.version}")
            conn.execute(
                "UPDATE versions SET stage = ?, updated_at = ? WHERE name = ? AND version = ?",
                (stage, now, target.name, target.version),
            )
            conn.execute(
                "INSERT INTO history (name, version, ts, stage, note) VALUES (?, ?, ?, ?, ?)",
                (target.name, target.version, now, stage, note or "promoted"),
            )
        return self.get(target.id)

    def add_bundles(self, ref: str, bundles: builtins.list[dict[str, Any]]) -> ModelVersion:
        def add(record: dict[str, Any]) -> None:
            record["bundles"] = record.get("bundles", []) + list(bundles)

        return self._update_record(ref, add, touch=True)

    def set_extra(self, ref: str, **values: Any) -> ModelVersion:
        return self._update_record(ref, lambda r: r.setdefault("extra", {}).update(values))

    def _update_record(self, ref: str, change, touch: bool = False) -> ModelVersion:
        """Change a version's stored record in one transaction (`touch`: bump updated_at)."""
        target = self.get(ref)
        with self._tx() as conn:
            row = conn.execute(
                "SELECT record FROM versions WHERE name = ? AND version = ?",
                (target.name, target.version),
            ).fetchone()
            record = json.loads(row["record"])
            change(record)
            if touch:
                conn.execute(
                    "UPDATE versions SET record = ?, updated_at = ? WHERE name = ? AND version = ?",
                    (json.dumps(record), time.time(), target.name, target.version),
                )
            else:
                conn.execute(
                    "UPDATE versions SET record = ? WHERE name = ? AND version = ?",
                    (json.dumps(record), target.name, target.version),
                )
        return self.get(target.id)

    @staticmethod
    def _archive_production(conn: sqlite3.Connection, name: str, now: float, note: str) -> None:
        rows = conn.execute(
            "SELECT version FROM versions WHERE name = ? AND stage = 'production'", (name,)
        ).fetchall()
        for r in rows:
            conn.execute(
                "UPDATE versions SET stage = 'archived', updated_at = ? "
                "WHERE name = ? AND version = ?",
                (now, name, r["version"]),
            )
            conn.execute(
                "INSERT INTO history (name, version, ts, stage, note) VALUES (?, ?, ?, ?, ?)",
                (name, r["version"], now, "archived", note),
            )


def lineage_of(ws: Workspace, run_id: str) -> dict[str, Any]:
    """What a training run was made from and what it produced, read from the run store."""
    store = RunStore(ws.db_path)
    try:
        run = store.get_run(run_id)
    except NotFound:
        raise BadInput(f"no run {run_id!r} in this workspace") from None
    if run.kind != "train":
        raise BadInput(f"run {run_id} is a {run.kind} run; register a training run")
    if run.status is not RunStatus.SUCCEEDED:
        raise BadInput(f"run {run_id} is {run.status.value}; only a finished training run")
    result = run.result or {}
    run_dir = ws.run_dir(run_id)
    if not (run_dir / "model.keras").is_file():
        raise BadInput(f"run {run_id} has no model.keras; train the model again")
    parents = [{"run_id": run_id, "kind": "train", "role": "trained by"}]
    if run.spec.get("warm_start"):
        parents.append(
            {"run_id": run.spec["warm_start"], "kind": "train", "role": "warm-started from"}
        )
    tuned_from = result.get("tuned_from")
    if tuned_from:
        parents.append({"run_id": str(tuned_from), "kind": "tune", "role": "tuned by"})
    evaluation = {}
    if (run_dir / "evaluation.json").is_file():
        evaluation = json.loads((run_dir / "evaluation.json").read_text())
    return {
        "task": result.get("task", ""),
        "model": result.get("model", ""),
        "target": result.get("target", ""),
        "dataset": dict(result.get("data", {})),
        "spec": dict(run.spec),
        "parents": parents,
        "metrics": dict(evaluation.get("metrics") or result.get("test_metrics") or {}),
        "validation_metrics": dict(result.get("metrics", {})),
        "artifacts": {n: a.path for n, a in store.get_artifacts(run_id).items()},
        "bundles": [],
    }


def _dedupe(parents: list[dict[str, str]]) -> list[dict[str, str]]:
    seen, out = set(), []
    for p in parents:
        key = (p.get("run_id"), p.get("role"))
        if key not in seen:
            seen.add(key)
            out.append(dict(p))
    return out


def _from_row(row: sqlite3.Row) -> ModelVersion:
    record = json.loads(row["record"])
    known = {f for f in ModelVersion.__dataclass_fields__}
    return ModelVersion(
        name=row["name"],
        version=int(row["version"]),
        stage=row["stage"],
        run_id=row["run_id"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        description=row["description"],
        **{k: v for k, v in record.items() if k in known},
    )


def serving_base(ws: Workspace, name: str) -> Path:
    """TF Serving's model base path for a registered model: `serving/NAME/<version>/`."""
    return ws.root / "serving" / check_name(name)


def publish(ws: Workspace, version: ModelVersion) -> Path | None:
    """Make `version` the one a server on the model base path serves: its exported SavedModel is
    copied to `serving/NAME/VERSION/` (aside, then renamed) and `serving.json` names it. None when
    the version has no SavedModel bundle (export it first)."""
    import shutil

    from core.serving.versions import point_to

    saved = next(
        (
            Path(b["path"])
            for b in version.bundles
            if b.get("format") == "savedmodel" and b.get("path")
        ),
        None,
    )
    if saved is None or not (saved / "saved_model.pb").is_file():
        return None
    base = serving_base(ws, version.name)
    target = base / str(version.version)
    if not (target / "saved_model.pb").is_file():
        base.mkdir(parents=True, exist_ok=True)
        tmp = base / f".{version.version}.partial"
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.copytree(saved, tmp)
        shutil.rmtree(target, ignore_errors=True)
        tmp.rename(target)
    point_to(base, version.version)
    return target
