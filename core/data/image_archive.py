"""An image zip opened and checked before anything is decompressed: entry count, sizes and
compression ratios against `ZipLimits`, unsafe paths, and which entries are images, which are
junk (core.data.images decodes and labels them)."""

from __future__ import annotations

import io
import os
import re
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path

from core.errors import BadInput

MIB = 1024**2
# Extensions that mark a file as meant to be an image: decoded (or skipped with a reason). Other
# files are junk, so a README or labels.csv inside the zip does not show up as "skipped".
IMAGE_EXTS = {
    ".png", ".jpg", ".jpeg", ".jpe", ".jfif", ".gif", ".bmp", ".tif", ".tiff", ".webp",
    ".heic", ".heif", ".avif", ".ico", ".jp2", ".tga", ".ppm", ".pgm", ".pbm", ".psd",
}  # fmt: skip
JUNK_NAMES = {"thumbs.db", "desktop.ini"}
DRIVE = re.compile(r"^[A-Za-z]:")
SUPPORTED_COMPRESSION = {
    zipfile.ZIP_STORED,
    zipfile.ZIP_DEFLATED,
    zipfile.ZIP_BZIP2,
    zipfile.ZIP_LZMA,
}


@dataclass(frozen=True)
class ZipLimits:
    max_entries: int = 200_000
    max_total_bytes: int = 2 * 1024**3  # sum of uncompressed sizes
    max_ratio: float = 200.0  # uncompressed/compressed per entry and overall
    max_image_pixels: int = 40_000_000


def open_zip(source: str | Path | bytes) -> zipfile.ZipFile:
    if isinstance(source, bytes | bytearray | memoryview):
        fh: io.BytesIO | Path = io.BytesIO(bytes(source))
        name = "the uploaded file"
    else:
        fh = Path(source)
        name = f"'{fh.name}'"
        if not fh.is_file():
            raise BadInput(f"zip file '{fh}' was not found; check the path and try again.")
    try:
        return zipfile.ZipFile(fh)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError):
        raise BadInput(
            f"{name} is not a zip archive; upload a .zip file with one folder per class."
        ) from None


def archive_size(source: str | Path | bytes) -> int:
    if isinstance(source, bytes | bytearray | memoryview):
        return len(source)
    return Path(source).stat().st_size


def entry_parts(name: str) -> list[str]:
    """Path components of an entry name; BadInput if it could be written outside dest_dir."""
    posix = name.replace("\\", "/")  # zips made on Windows may use backslashes
    parts = posix.split("/")
    if posix.startswith("/") or DRIVE.match(posix) or ".." in parts:
        raise BadInput(
            f"entry '{name}' would be written outside the dataset folder; the zip was refused."
        )
    return [p for p in parts if p not in ("", ".")]  # "./cats/a.png" is just "cats/a.png"


def human_size(n: float) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


def check_entries(infos: list[zipfile.ZipInfo], limits: ZipLimits, archive_size: int) -> None:
    if len(infos) > limits.max_entries:
        raise BadInput(
            f"the zip has {len(infos):,} entries, over the limit of {limits.max_entries:,}; "
            "remove files the dataset does not need."
        )
    total = packed = 0
    for info in infos:
        entry_parts(info.filename)
        if stat.S_ISLNK(info.external_attr >> 16):
            raise BadInput(
                f"entry '{info.filename}' is a symbolic link, which could point outside the "
                "dataset folder; the zip was refused."
            )
        if info.is_dir():
            continue
        total += info.file_size
        packed += info.compress_size
        ratio = info.file_size / max(info.compress_size, 1)
        # Small entries are exempt: a few KB of zeros compress 1000:1 and are harmless.
        if info.file_size > MIB and ratio > limits.max_ratio:
            raise BadInput(
                f"entry '{info.filename}' would inflate to {human_size(info.file_size)} "
                f"(ratio {ratio:.0f}:1), over the limit of {limits.max_ratio:.0f}:1; the zip was "
                "refused as a possible zip bomb."
            )
    ratio = total / max(packed, 1)
    inflated = f"the zip would inflate to {human_size(total)} (ratio {ratio:.0f}:1), over the limit"
    if total > limits.max_total_bytes:
        raise BadInput(
            f"{inflated} of {human_size(limits.max_total_bytes)}; remove files the dataset does "
            "not need or import a smaller dataset."
        )
    if total > MIB and ratio > limits.max_ratio:
        raise BadInput(
            f"{inflated} of {limits.max_ratio:.0f}:1; the zip was refused as a possible zip bomb."
        )
    # Entries sharing compressed data is a zip-bomb trick this Python's zipfile does not catch.
    if packed > archive_size:
        raise BadInput(
            "the zip's entries overlap each other, a trick used by zip bombs; the zip was refused."
        )


def classify_entries(
    infos: list[zipfile.ZipInfo],
) -> tuple[list[tuple[zipfile.ZipInfo, list[str]]], int]:
    """Split file entries into image candidates (with their path parts) and a count of junk."""
    candidates: list[tuple[zipfile.ZipInfo, list[str]]] = []
    ignored = 0
    for info in sorted(infos, key=lambda i: i.filename):
        if info.is_dir():
            continue
        parts = entry_parts(info.filename)
        junk = (
            not parts
            or "__MACOSX" in parts
            or any(p.startswith(".") for p in parts)
            or parts[-1].lower() in JUNK_NAMES
            or os.path.splitext(parts[-1])[1].lower() not in IMAGE_EXTS
        )
        if junk:
            ignored += 1
            continue
        if info.flag_bits & 0x1:
            raise BadInput(
                f"entry '{info.filename}' is password-protected; create the zip again without "
                "a password."
            )
        if info.compress_type not in SUPPORTED_COMPRESSION:
            raise BadInput(
                f"entry '{info.filename}' uses compression method {info.compress_type}, which "
                "cannot be read; create the zip again with standard (Deflate) compression."
            )
        candidates.append((info, parts))
    return candidates, ignored
