"""Uploaded tables: checked first, then stored by content hash, written atomically.

A file that fails the checks leaves nothing behind; the same bytes uploaded twice are stored once.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

from core.data.tabular import read_csv
from core.workspace import Workspace


def save_upload(ws: Workspace, filename: str, data: bytes) -> Path:
    """Check `data` reads as a table (BadInput if not), then store it; returns its path."""
    read_csv(data, filename)
    digest = hashlib.sha256(data).hexdigest()[:12]
    stem = re.sub(r"[^A-Za-z0-9_.-]", "_", Path(filename).name) or "upload.csv"
    target = ws.uploads_dir / f"{digest}-{stem}"
    if not target.exists():
        tmp = target.with_name(f".{target.name}.tmp{os.getpid()}")
        tmp.write_bytes(data)
        os.replace(tmp, target)
    return target


def list_uploads(ws: Workspace) -> list[Path]:
    files = [p for p in ws.uploads_dir.iterdir() if p.is_file() and not p.name.startswith(".")]
    return sorted(files, key=lambda p: p.stat().st_mtime, reverse=True)


def display_name(path: Path) -> str:
    """The user's file name, without the content-hash prefix."""
    return path.name.split("-", 1)[1] if re.match(r"^[0-9a-f]{12}-", path.name) else path.name
