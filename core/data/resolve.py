"""One way to turn what a user typed into data: `sample:NAME`, a dataset id (`name@vN`), a table
file (CSV/TSV/Parquet/JSONL), an image zip or a folder of class folders.

A file or folder is imported as a dataset version on first use and the same version is reused
while its content hash matches, so training, tuning, AutoML, profiling and pipelines all read the
same stored, typed table, and a run's lineage names a version. Columns the schema calls numbers
are parsed here with the file's own reading options (decimal mark, thousands, missing markers),
and values that do not convert are missing and counted in `notes`.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from core.data.datasets import DatasetStore, DatasetVersion, file_sha256
from core.data.limits import bounded_rows, stream_above_bytes
from core.data.parsing import describe_failures, parse_numbers
from core.data.profile import Reading
from core.data.samples import SAMPLE_PREFIX, sample_path
from core.data.sources import read_table
from core.errors import BadInput
from core.workspace import Workspace

TABLE_SUFFIXES = (".csv", ".tsv", ".txt", ".parquet", ".pq", ".jsonl", ".ndjson", ".gz")
FOLDER_LIMIT_BYTES = 2 << 30  # a folder is zipped in memory: larger ones are zipped by the user


@dataclass
class LoadedData:
    frame: pd.DataFrame
    label: str
    lineage: dict[str, Any] = field(default_factory=dict)
    dataset: DatasetVersion | None = None
    schema: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)  # values that did not convert, and so on
    auto_imported: bool = False  # given as a path, imported on this first use
    # A large version's stored table and statistics: `frame` then holds no rows (only the
    # columns and their types), and the training job streams the Parquet file.
    stream: Streamed | None = None


@dataclass
class Streamed:
    parquet: Path
    stats: dict[str, Any]
    size: int  # bytes of the Parquet file

    @property
    def rows(self) -> int:
        return int(self.stats["rows"])


def folder_zip(folder: Path) -> bytes:
    """A folder of class folders as zip bytes, the same bytes for the same files (so the
    content hash finds the version imported before)."""
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    total = sum(p.stat().st_size for p in files)
    if total > FOLDER_LIMIT_BYTES:
        raise BadInput(
            f"{folder} holds {total / 2**30:.1f} GB: zip it yourself and give the zip, "
            "or import fewer images"
        )
    if not files:
        raise BadInput(f"{folder} is empty: give a folder with one sub-folder of images per class")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        for p in files:
            info = zipfile.ZipInfo(
                p.relative_to(folder).as_posix(), date_time=(1980, 1, 1, 0, 0, 0)
            )
            zf.writestr(info, p.read_bytes())
    return buf.getvalue()


def import_path(path: Path, ws: Workspace) -> DatasetVersion:
    """The dataset version of a file or folder: imported now, or the one with the same hash."""
    store = DatasetStore(ws)
    if path.is_dir():
        return store.import_file(folder_zip(path), f"{path.name}.zip", name=path.name)
    return store.import_file(path, path.name)


def load_data(
    ref: str, ws: Workspace | None = None, stream_large: bool = False, bounded: bool = False
) -> LoadedData:
    """The data `ref` names. With `stream_large`, a version larger than the streaming threshold
    (core.data.limits) comes back without its rows: `stream` says where they are. With
    `bounded`, such a version holds at most `bounded_rows()` of its rows, said in `notes`."""
    ws = ws or Workspace.resolve()
    if ref.startswith(SAMPLE_PREFIX):
        path = sample_path(ref[len(SAMPLE_PREFIX) :], ws.samples_dir)
        return LoadedData(read_table(path).frame, ref, {"sample": ref, "sha256": file_sha256(path)})
    path = Path(ref).expanduser()
    store = DatasetStore(ws)
    if path.exists():
        version = import_path(path, ws)
        loaded = load_version(store, version, stream_large, bounded)
        loaded.lineage["file"] = str(path.resolve())
        loaded.label = path.name
        loaded.auto_imported = True
        return loaded
    if store.is_ref(ref):
        return load_version(store, store.get(ref), stream_large, bounded)
    if "/" in ref or "\\" in ref or Path(ref).suffix:
        raise BadInput(f"no such file or folder: {ref}")
    raise BadInput(
        f"{ref!r} is neither a file, a dataset id (name@vN) nor sample:NAME (nor a folder)"
    )


def load_version(
    store: DatasetStore, version: DatasetVersion, stream_large: bool = False, bounded: bool = False
) -> LoadedData:
    """A stored version's table with its schema's number columns parsed as numbers (or, for a
    large one with `stream_large`, its columns and statistics only; with `bounded`, a sample)."""
    schema = store.schema(version)
    large = version.kind != "images" and store.table_path(version).stat().st_size > (
        stream_above_bytes()
    )
    if stream_large and large:
        import pyarrow.parquet as pq

        parquet = store.table_path(version)
        return LoadedData(
            pq.read_schema(parquet).empty_table().to_pandas(),
            version.id,
            {"dataset": version.id, "sha256": version.sha256},
            version,
            schema,
            stream=Streamed(parquet, store.stats(version), parquet.stat().st_size),
        )
    try:  # the user's corrections: types that differ from what was inferred
        corrected = {c.name for c in store.profile(version).columns if c.type != c.inferred_type}
    except (OSError, ValueError, KeyError, TypeError):
        corrected = set()
    sampled = []
    if bounded and large and version.rows > bounded_rows():
        frame = _bounded(store, version)
        how = "the last" if version.kind == "timeseries" else "an even sample of"
        sampled = [
            f"{version.id} is large: this task reads {how} {len(frame):,} of its "
            f"{version.rows:,} rows (training streams every row)"
        ]
    else:
        frame = store.read_frame(version)
    frame, notes = typed_frame(frame, schema, version.read, corrected)
    notes = sampled + notes
    return LoadedData(
        frame,
        version.id,
        {"dataset": version.id, "sha256": version.sha256},
        version,
        schema,
        notes,
    )


def _bounded(store: DatasetStore, version: DatasetVersion) -> pd.DataFrame:
    from core.data.profile_stored import sample_frame, tail_frame

    if version.kind == "timeseries":  # keep the steps: the most recent rows
        return tail_frame(store.table_path(version), bounded_rows())
    return sample_frame(store.table_path(version), version.rows, bounded_rows())


def with_rows(loaded: LoadedData, ws: Workspace | None = None) -> LoadedData:
    """`loaded` with its rows in memory (tasks that do not stream read the whole table)."""
    if loaded.stream is None or loaded.dataset is None:
        return loaded
    full = load_version(DatasetStore(ws or Workspace.resolve()), loaded.dataset)
    full.lineage, full.label, full.auto_imported = (
        loaded.lineage,
        loaded.label,
        loaded.auto_imported,
    )
    return full


def typed_frame(
    frame: pd.DataFrame,
    schema: dict[str, Any],
    read: dict[str, Any] | None,
    corrected: set[str] | None = None,
) -> tuple[pd.DataFrame, list[str]]:
    """Text columns the user corrected to numeric/integer, re-parsed from their raw values with
    the dataset's reading options; what does not convert becomes missing and is reported.

    Columns whose type is only inferred stay as read: junk in them is refused by the table
    checks unless the user chooses 'treat non-numbers as missing' (--coerce-numeric).
    """
    reading = Reading.from_read(read)
    notes = []
    for column in schema.get("columns", []):
        name = column["name"]
        if column["type"] not in ("numeric", "integer") or name not in frame.columns:
            continue
        if corrected is not None and name not in corrected:
            continue
        col = frame[name]
        if pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col):
            continue
        values, failed = parse_numbers(
            col, reading.number.decimal, reading.number.thousands, reading.missing
        )
        frame[name] = values
        if len(failed):
            notes.append(f"column {name!r}: {describe_failures(failed)} (treated as missing)")
    return frame, notes
