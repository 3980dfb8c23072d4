"""An import preview: what a file will become, before any version is written.

The Data page shows it under the upload and `tfstudio data import --dry-run` prints it: the
options detected (or chosen), the first rows as they will be read, and each column's type,
missing count and notes. It runs the very reading code an import runs (`read_for_import`).
"""

from __future__ import annotations

import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from core.data.import_stream import streamable
from core.data.sources import ReadOptions, detect_format
from core.data.table_import import read_for_import
from core.errors import BadInput

PREVIEW_ROWS = 10
HEAD_BYTES = 8 << 20  # what the preview of a file the import streams reads


@dataclass
class ImportPreview:
    filename: str
    kind: str
    rows: int
    options: dict[str, Any]  # format, delimiter, encoding, decimal, thousands, missing, ...
    columns: list[dict[str, Any]]  # name, type, missing, notes
    head: list[dict[str, Any]] = field(default_factory=list)  # first rows, as they will be read
    issues: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    time_column: str | None = None
    classes: dict[str, int] = field(default_factory=dict)  # image zips: images per class
    file_bytes: int = 0  # set when only the file's head was read (a file the import streams)
    head_bytes: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def lines(self) -> list[str]:
        """The preview as text, for the CLI."""
        o = self.options
        rows = f"first {self.rows:,} rows read" if self.file_bytes else f"{self.rows:,} rows"
        out = [f"{self.filename}: {self.kind}, {rows} (dry run: nothing written)"]
        if o.get("format") == "csv":
            out.append(f"read as: {csv_reading(o, times='x')}")
        elif o.get("format"):
            out.append(f"read as: {o['format']}")
        for c in self.columns:
            extra = f"  ({'; '.join(c['notes'])})" if c["notes"] else ""
            out.append(f"  {c['name']:<28} {c['type']:<12} missing {c['missing']:>7,}{extra}")
        for label, n in self.classes.items():
            out.append(f"  class {label!r}: {n} image file(s)")
        if self.time_column:
            out.append(f"time column: {self.time_column}")
        out += [f"issue: {i}" for i in self.issues] + [f"note: {n}" for n in self.notes]
        return out


def csv_reading(options: dict[str, Any], times: str = "×") -> str:
    """How a CSV was read (a preview's `options`): its delimiter, encoding, decimal mark,
    thousands separator and the missing markers found, with how often (`times`: the page's ×,
    the CLI's x)."""
    o = options
    found = ", ".join(f"{k!r} {times}{v}" for k, v in o.get("markers_found", {}).items())
    return (
        f"delimiter {o['delimiter']!r} · encoding {o['encoding']} · decimal {o['decimal']!r} · "
        f"thousands {o.get('thousands') or 'none'} · missing markers found: {found or 'none'}"
    )


def preview_import(
    source: Path | bytes,
    filename: str,
    kind: str = "auto",
    target: str | None = None,
    time_column: str | None = None,
    options: ReadOptions | None = None,
) -> ImportPreview:
    """What importing `source` would give; nothing is written anywhere."""
    head = source[:8] if isinstance(source, bytes) else Path(source).open("rb").read(8)
    if detect_format(head, filename) == "zip":
        return _preview_zip(source, filename)
    file_bytes = head_bytes = 0
    if isinstance(source, Path) and streamable(source, filename):
        # the import streams this file: preview its head instead of reading it all now
        file_bytes = source.stat().st_size
        with source.open("rb") as f:
            chunk = f.read(HEAD_BYTES)
        source = chunk[: chunk.rfind(b"\n") + 1] or chunk
        head_bytes = len(source)
    result, prof, kind = read_for_import(source, filename, kind, target, time_column, options)
    if file_bytes:
        result.notes.append(
            f"previewed from the first {len(result.frame):,} rows ({head_bytes / 2**20:.0f} MB "
            f"of {file_bytes / 2**20:,.0f} MB); the import reads the whole file a block at a "
            "time, in bounded memory"
        )
    first = result.frame.head(PREVIEW_ROWS)
    rows = [
        {str(k): (None if _missing(v) else _plain(v)) for k, v in row.items()}
        for row in first.to_dict("records")
    ]
    return ImportPreview(
        filename=filename,
        kind=kind,
        rows=len(result.frame),
        options=result.describe(),
        columns=[
            {"name": c.name, "type": c.type, "missing": c.missing, "notes": list(c.notes)}
            for c in prof.columns
        ],
        head=rows,
        issues=list(prof.issues),
        notes=list(result.notes),
        time_column=prof.time_column,
        file_bytes=file_bytes,
        head_bytes=head_bytes,
    )


def _preview_zip(source: Path | bytes, filename: str) -> ImportPreview:
    import io

    from core.data.image_archive import classify_entries

    try:
        with zipfile.ZipFile(io.BytesIO(source) if isinstance(source, bytes) else source) as zf:
            candidates, ignored = classify_entries(zf.infolist())
    except zipfile.BadZipFile:
        raise BadInput(f"{filename} is not a readable zip archive") from None
    classes: dict[str, int] = {}
    for _, parts in candidates:
        label = parts[-2] if len(parts) >= 2 else "(top level)"
        classes[label] = classes.get(label, 0) + 1
    return ImportPreview(
        filename=filename,
        kind="images",
        rows=sum(classes.values()),
        options={"format": "zip", "ignored": ignored},
        columns=[],
        classes=dict(sorted(classes.items())),
        issues=[] if len(classes) >= 2 else ["an image dataset needs at least two class folders"],
        notes=[f"{ignored} non-image or system file(s) will be ignored"] if ignored else [],
    )


def _missing(value: Any) -> bool:
    try:
        return bool(value != value)  # NaN and NaT
    except (TypeError, ValueError):
        return False


def _plain(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value
