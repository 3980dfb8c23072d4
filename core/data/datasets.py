"""Dataset versions: every import becomes an immutable, content-hashed folder in the workspace.

    datasets/<name>/v<N>/manifest.json   id, kind, hash, source, read settings, rows, columns
                          data.parquet    the table (tables, time series, text), in row
                                          groups of ROW_GROUP_ROWS rows (streamed by workers)
                          stats.json      per-column counts, min/max/mean/var, vocabularies
                                          (core.data.stats): what prechecks read instead of rows
                          index.parquet   path, label, width, height (image datasets)
                          images/...      decoded images, converted to RGB PNG
                          schema.json     column types, target, time column (the user may edit)
                          profile.json    statistics under that schema
                          schemas/N.json  earlier schemas and profiles, so a correction is undone

A version is written in a hidden temporary folder and renamed into place, so a failed import
leaves nothing behind and readers never see half a version. Importing the same bytes under the
same name again returns the existing version. Runs record `name@vN` and the hash as lineage.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import time
import uuid
import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from core.data.import_stream import import_csv, streamable
from core.data.limits import ROW_GROUP_ROWS
from core.data.profile import COLUMN_TYPES, TableProfile, profile_table
from core.data.profile_stored import profile_stored, sample_frame
from core.data.sniff import SNIFF_BYTES, check_text
from core.data.sources import ReadOptions, check_table_size, detect_format
from core.data.stats import load_stats, write_stats
from core.data.table_import import (
    check_target,
    check_time_column,
    check_time_column_stored,
    import_kind,
    read_for_import,
)
from core.errors import BadInput, NotFound
from core.workspace import Workspace

KINDS = ("table", "timeseries", "text", "images")
_NAME = re.compile(r"[^A-Za-z0-9_.-]+")
_REF = re.compile(r"^(?P<name>[A-Za-z0-9_.-]+)(?:@v?(?P<version>\d+))?$")


@dataclass
class DatasetVersion:
    name: str
    version: int
    kind: str
    sha256: str
    source: str
    created_at: float
    rows: int
    columns: list[str]
    read: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    path: str = ""

    @property
    def id(self) -> str:
        return f"{self.name}@v{self.version}"

    @property
    def folder(self) -> Path:
        return Path(self.path)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, **asdict(self)}


def dataset_name(raw: str) -> str:
    stem = Path(raw).name.split(".")[0] if "." in Path(raw).name else Path(raw).name
    name = _NAME.sub("-", stem).strip("-.") or "dataset"
    return name[:60]


def file_sha256(source: Path | bytes) -> str:
    h = hashlib.sha256()
    if isinstance(source, bytes):
        h.update(source)
    else:
        with open(source, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()


class DatasetStore:
    def __init__(self, ws: Workspace) -> None:
        self.root = ws.root / "datasets"
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError:
            if not ws.root.is_dir():
                raise  # a read-only workspace lists no datasets; an import names the fault

    # -- reading -----------------------------------------------------------------------------
    def list_versions(self, name: str | None = None) -> list[DatasetVersion]:
        if not self.root.is_dir():
            return []
        folders = [self.root / name] if name else sorted(self.root.iterdir())
        out = []
        for folder in folders:
            if not folder.is_dir() or folder.name.startswith("."):
                continue
            for version_dir in folder.glob("v*/manifest.json"):
                out.append(self._load(version_dir.parent))
        return sorted(out, key=lambda v: (v.name, v.version))

    def get(self, ref: str) -> DatasetVersion:
        """`name@vN`, `name@N` or `name` (its newest version)."""
        match = _REF.match(ref.strip())
        if not match:
            raise NotFound(f"{ref!r} is not a dataset id (expected name@vN)")
        versions = self.list_versions(match["name"]) if (self.root / match["name"]).is_dir() else []
        if match["version"]:
            versions = [v for v in versions if v.version == int(match["version"])]
        if not versions:
            known = ", ".join(sorted({v.id for v in self.list_versions()})) or "none yet"
            raise NotFound(f"no dataset {ref!r}; datasets: {known}")
        return versions[-1]

    def is_ref(self, ref: str) -> bool:
        try:
            self.get(ref)
            return True
        except NotFound:
            return False

    def _load(self, folder: Path) -> DatasetVersion:
        data = json.loads((folder / "manifest.json").read_text())
        data.pop("id", None)
        data["path"] = str(folder)
        return DatasetVersion(**data)

    def read_frame(self, version: DatasetVersion) -> pd.DataFrame:
        name = "index.parquet" if version.kind == "images" else "data.parquet"
        return pd.read_parquet(version.folder / name)

    def sample_frame(self, version: DatasetVersion) -> pd.DataFrame:
        """An even sample of a large version's rows, in order (what its profile was made from)."""
        return sample_frame(self.table_path(version), version.rows)

    def table_path(self, version: DatasetVersion) -> Path:
        return version.folder / ("index.parquet" if version.kind == "images" else "data.parquet")

    def stats(self, version: DatasetVersion) -> dict[str, Any]:
        """The version's stored column statistics (computed now for a version imported before
        they were stored); no rows are held in memory."""
        return load_stats(version.folder, self.table_path(version))

    def schema(self, version: DatasetVersion) -> dict[str, Any]:
        return json.loads((version.folder / "schema.json").read_text())

    def profile(self, version: DatasetVersion) -> TableProfile:
        return TableProfile.from_dict(json.loads((version.folder / "profile.json").read_text()))

    # -- writing -----------------------------------------------------------------------------
    def import_file(
        self,
        source: Path | bytes,
        filename: str,
        name: str | None = None,
        kind: str = "auto",
        target: str | None = None,
        time_column: str | None = None,
        options: ReadOptions | None = None,
    ) -> DatasetVersion:
        """Import a table file or an image zip as a new version (or return the identical one)."""
        name = dataset_name(name or filename)
        if not isinstance(source, bytes):
            source = Path(source)
            if streamable(source, filename):  # no size limit: the first megabyte's checks
                with open(source, "rb") as f:
                    check_text(f.read(SNIFF_BYTES), filename)  # before hashing gigabytes
            elif not zipfile.is_zipfile(source):
                check_table_size(source)  # before hashing gigabytes
        digest = file_sha256(source)
        for existing in self.list_versions(name) if (self.root / name).is_dir() else []:
            if existing.sha256 == digest:
                return existing
        head = source[:8] if isinstance(source, bytes) else open(source, "rb").read(8)
        is_zip = detect_format(head, filename) == "zip"
        if kind not in ("auto", *KINDS):
            raise BadInput(f"unknown dataset kind {kind!r}; choose auto, {', '.join(KINDS)}")
        if kind == "images" and not is_zip:
            raise BadInput(
                f"{filename} is not a zip archive: an image dataset is a zip of class folders"
            )
        tmp = self.root / f".tmp-{uuid.uuid4().hex}"
        tmp.mkdir(parents=True)
        try:
            if is_zip:
                manifest = self._write_images(source, filename, tmp)
            else:
                manifest = self._write_table(
                    source, filename, tmp, kind, target, time_column, options
                )
            return self._commit(tmp, name, digest, filename, manifest)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)

    def _write_table(self, source, filename, tmp: Path, kind, target, time_column, options):
        parquet = tmp / "data.parquet"
        streamed = (
            import_csv(source, filename, parquet, options)
            if isinstance(source, Path) and streamable(source, filename)
            else None
        )
        if streamed is None:
            result, prof, kind = read_for_import(
                source, filename, kind, target, time_column, options
            )
            result.frame.to_parquet(parquet, index=False, row_group_size=ROW_GROUP_ROWS)
            result.frame = None  # freed: the statistics are read back from the Parquet file
            write_stats(tmp, parquet)
        else:  # rows never held: the profile comes from a sample and the statistics
            result = streamed
            stats = write_stats(tmp, parquet)
            names = list(stats["columns"])
            check_target(target, names)
            if time_column is not None:
                check_time_column_stored(parquet, time_column, names)
            prof = profile_stored(
                parquet, stats, target=target, time_column=time_column, read=result.describe()
            )
            kind = import_kind(prof, kind)
            result.notes.append(
                f"read a block at a time; profiled on {prof.sample['rows']:,} of "
                f"{prof.rows:,} rows, counts and ranges exact"
                if prof.sample
                else "read a block at a time"
            )
        self._write_schema(tmp, prof, kind)
        return {
            "kind": kind,
            "rows": prof.rows,
            "columns": [c.name for c in prof.columns],
            "read": result.describe(),
            "notes": result.notes,
        }

    def _write_images(self, source, filename, tmp: Path):
        from core.data.images import import_image_zip

        result = import_image_zip(source, tmp)
        index = result.index
        index.to_parquet(tmp / "index.parquet", index=False)
        prof = profile_table(
            index[["label", "width", "height"]], target="label", types={"label": "categorical"}
        )
        self._write_schema(tmp, prof, "images")
        notes = [f"skipped {len(result.skipped)} unreadable image(s)"] if result.skipped else []
        if result.ignored:
            notes.append(f"ignored {result.ignored} non-image or system file(s)")
        (tmp / "skipped.json").write_text(json.dumps(result.skipped))
        return {
            "kind": "images",
            "rows": len(index),
            "columns": list(index.columns),
            "read": {
                "format": "zip",
                "classes": result.classes,
                "skipped": len(result.skipped),
                "ignored": result.ignored,
            },
            "notes": notes,
        }

    def _write_schema(self, folder: Path, prof: TableProfile, kind: str, number: int = 1) -> None:
        schema = {"kind": kind, **prof.schema, "schema_version": number}
        (folder / "schema.json").write_text(json.dumps(schema, indent=2))
        (folder / "profile.json").write_text(json.dumps(prof.to_dict()))

    def _commit(self, tmp: Path, name: str, digest: str, filename: str, manifest: dict):
        (self.root / name).mkdir(parents=True, exist_ok=True)
        for _ in range(100):
            existing = [
                int(p.name[1:]) for p in (self.root / name).glob("v*") if p.name[1:].isdigit()
            ]
            version = max(existing, default=0) + 1
            record = {
                "name": name,
                "version": version,
                "sha256": digest,
                "source": Path(filename).name,
                "created_at": time.time(),
                **manifest,
            }
            (tmp / "manifest.json").write_text(json.dumps(record, indent=2))
            try:
                os.rename(tmp, self.root / name / f"v{version}")
            except OSError:
                continue  # another import took this version number; try the next
            return self._load(self.root / name / f"v{version}")
        raise RuntimeError("could not allocate a dataset version")

    def update_schema(
        self,
        version: DatasetVersion,
        types: dict[str, str] | None = None,
        target: str | None = None,
        time_column: str | None = None,
    ) -> TableProfile:
        """Correct column types / choose the target: a new schema version (the one before it is
        kept, see `undo_schema`); the data itself never changes.

        Text columns corrected to numbers are re-parsed from their raw values with the version's
        reading options; what does not convert is counted as missing and named in the profile.
        """
        schema = self.schema(version)
        current = {c["name"]: c["type"] for c in schema["columns"]}
        for column, kind in (types or {}).items():
            if column not in current:
                raise BadInput(f"there is no column {column!r} in {version.id}")
            if kind not in COLUMN_TYPES:
                raise BadInput(f"unknown type {kind!r}; types are: {', '.join(COLUMN_TYPES)}")
            current[column] = kind
        target = target if target is not None else schema.get("target")
        if target and target not in current:
            raise BadInput(f"there is no column {target!r} in {version.id}")
        time_column = time_column if time_column is not None else schema.get("time_column")
        parquet = self.table_path(version)
        if self.profile(version).sample:  # a large table: never read whole
            if time_column:
                check_time_column_stored(parquet, time_column, list(current))
            prof = profile_stored(
                parquet,
                self.stats(version),
                target=target or None,
                types=current,
                time_column=time_column or None,
                read=version.read,
            )
        else:
            frame = self.read_frame(version)
            if time_column:
                check_time_column(frame, time_column)
            prof = profile_table(
                frame,
                target=target or None,
                types=current,
                time_column=time_column or None,
                read=version.read,
            )
            del frame
        history = version.folder / "schemas"
        history.mkdir(exist_ok=True)
        number = schema.get("schema_version", 1)
        previous = {"schema": schema, "profile": json.loads(self._profile_text(version))}
        _write_atomic(history / f"{number}.json", json.dumps(previous))
        tmp = version.folder / f".schema-{uuid.uuid4().hex}"
        tmp.mkdir()
        try:
            self._write_schema(tmp, prof, schema["kind"], number + 1)
            for name in ("schema.json", "profile.json"):
                os.replace(tmp / name, version.folder / name)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return prof

    def schema_history(self, version: DatasetVersion) -> list[int]:
        """Numbers of the earlier schema versions that `undo_schema` can go back to."""
        folder = version.folder / "schemas"
        if not folder.is_dir():
            return []
        return sorted(int(p.stem) for p in folder.glob("*.json") if p.stem.isdigit())

    def undo_schema(self, version: DatasetVersion) -> TableProfile:
        """Go back to the schema (and profile) before the last correction."""
        numbers = self.schema_history(version)
        if not numbers:
            raise BadInput(f"{version.id} has no earlier schema to go back to")
        path = version.folder / "schemas" / f"{numbers[-1]}.json"
        previous = json.loads(path.read_text())
        _write_atomic(version.folder / "profile.json", json.dumps(previous["profile"]))
        _write_atomic(version.folder / "schema.json", json.dumps(previous["schema"], indent=2))
        path.unlink()
        return TableProfile.from_dict(previous["profile"])

    def _profile_text(self, version: DatasetVersion) -> str:
        return (version.folder / "profile.json").read_text()


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
    tmp.write_text(text)
    os.replace(tmp, path)
