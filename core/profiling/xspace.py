"""Finding and checking `.xplane.pb` traces, and running one XProf converter tool on them."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from core.errors import BadInput

SUFFIX = ".xplane.pb"


def find_traces(path: str | Path) -> list[Path]:
    """The `.xplane.pb` files of a profile: the file itself, or every one under a folder."""
    p = Path(path)
    if p.is_dir():
        found = sorted(p.rglob(f"*{SUFFIX}"))
        if not found:
            raise BadInput(
                f"{p} holds no {SUFFIX} file: there is no profile data here; capture a profile "
                "first (tfstudio profile RUN_ID)"
            )
        return found
    if not p.is_file():
        raise BadInput(f"there is no trace file {p}; give the path of a {SUFFIX} file")
    return [p]


def _varint(data: bytes, i: int) -> tuple[int, int]:
    shift = value = 0
    while True:
        if i >= len(data) or shift > 63:
            raise ValueError("truncated varint")
        b = data[i]
        i += 1
        value |= (b & 0x7F) << shift
        if not b & 0x80:
            return value, i
        shift += 7


def is_xspace(data: bytes) -> bool:
    """An XSpace message: only length-delimited fields 1-5 (planes, errors, warnings,
    hostnames, ...), at least one plane, and the lengths add up to the file's end."""
    i, planes = 0, 0
    try:
        while i < len(data):
            key, i = _varint(data, i)
            field, wire = key >> 3, key & 7
            if wire != 2 or not 1 <= field <= 5:
                return False
            length, i = _varint(data, i)
            i += length
            planes += field == 1
    except ValueError:
        return False
    return i == len(data) and planes > 0


def _foreign_kind(data: bytes) -> str:
    if data[:4] == b"PK\x03\x04":
        return "a zip archive (a .keras model or a bundle?)"
    if data[:8] == b"\x89HDF\r\n\x1a\n":
        return "an HDF5 file (Keras weights?)"
    if data[:4] == b"TFL3" or data[4:8] == b"TFL3":
        return "a TFLite model"
    head = data[:256].decode("utf-8", errors="replace")
    if all(c.isprintable() or c in "\r\n\t" for c in head):
        return "a text file"
    return "corrupt, truncated or another kind of file"


def check_trace(path: Path) -> None:
    """BadInput unless `path` is a readable XSpace (what the profiler writes)."""
    data = path.read_bytes()
    if not data:
        raise BadInput(
            f"{path.name} is empty: the profiler wrote no data; capture the profile again"
        )
    if not is_xspace(data):
        raise BadInput(
            f"{path.name} is {_foreign_kind(data)}: not a TensorFlow Profiler trace (an XSpace "
            f"{SUFFIX} file): there is no profile data in it; point at the {SUFFIX} file under "
            "a profile run's plugins/profile/ folder, or capture a new profile"
        )


@contextlib.contextmanager
def _quiet_stderr() -> Iterator[None]:
    """XProf's C++ code logs every step to fd 2; keep a CLI's stderr for progress."""
    try:
        saved = os.dup(2)
    except OSError:
        yield
        return
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def convert_tool(paths: list[Path], tool: str) -> Any:
    """One XProf tool's output for these traces, parsed from JSON (None when it has none)."""
    from xprof.convert import raw_to_tool_data

    with _quiet_stderr():
        out = raw_to_tool_data.xspace_to_tool_data([str(p) for p in paths], tool, {})
    data = out[0] if isinstance(out, tuple) else out
    if not data:
        return None
    if isinstance(data, bytes):
        data = data.decode("utf-8", errors="replace")
    try:
        return json.loads(data)
    except json.JSONDecodeError:
        return None
