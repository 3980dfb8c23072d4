"""Import an image-classification dataset uploaded as a zip of class folders, safely.

The zip is untrusted, so every entry is checked before anything is decompressed: names that could
escape the dataset folder (absolute, drive letter, `..`), symlinks, too many entries, too many
bytes, and compression ratios that look like a zip bomb refuse the whole zip. Entry names are never
used as output paths: each image is decoded with Pillow, converted to RGB and written as
`images/<label>/<sha1 of the entry bytes>[:16].png`, so only the label comes from the zip.

Junk is ignored and counted: `__MACOSX/`, hidden files and folders (`._x`, `.DS_Store`, `.git/`),
`Thumbs.db`, `desktop.ini` and files without an image extension. Files with an image extension
that are not PNG or JPEG, or do not decode, are skipped with a reason and the rest still import.

Label rule: drop the longest folder path shared by all decoded images, then the label is the first
remaining folder (`data/train/cats/x.png` + `data/train/dogs/y.png` -> "cats", "dogs"; deeper
sub-folders roll up into that class). Two refinements keep usual zips working:
- if every image sits in that same shared folder, the label is its last folder, so a zip of one
  class folder is reported as a single class rather than as having no class folders;
- if every first remaining folder is a split name (train/val/test...) and every image is at least
  one folder deeper, the split level is skipped and the splits are merged, so
  `train/cats` + `test/cats` give the class "cats" rather than the classes "train" and "test".
An image left directly at the root after stripping is skipped as "not inside a class folder".
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import unicodedata
import uuid
import warnings
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image, ImageOps, UnidentifiedImageError

# Checking the archive before decompressing; ZipLimits is re-exported (callers).
from core.data.image_archive import MIB as _MIB
from core.data.image_archive import ZipLimits
from core.data.image_archive import archive_size as _archive_size
from core.data.image_archive import check_entries as _check_entries
from core.data.image_archive import classify_entries as _classify
from core.data.image_archive import human_size as _size
from core.data.image_archive import open_zip as _open_zip
from core.errors import BadInput

_CHUNK = 1024**2
# Pillow format names we keep; MPO is what phones write for JPEGs with an embedded preview.
_FORMATS = {"PNG", "JPEG", "MPO"}
_SPLIT_NAMES = {"train", "training", "test", "testing", "val", "valid", "validation", "eval", "dev"}
_COLUMNS = ["path", "label", "width", "height", "source_mode", "source_entry"]


@dataclass
class ImageImport:
    # columns: path (relative to dest_dir, posix), label, width, height, source_mode (Pillow mode
    # before conversion), source_entry (the zip entry name); sorted by label then path
    index: pd.DataFrame
    classes: list[str]  # sorted
    skipped: list[tuple[str, str]]  # (zip entry, reason): corrupt, unsupported or duplicate images
    ignored: int  # junk entries ignored


@dataclass
class _Decoded:
    entry: str
    folders: list[str]
    digest: str
    width: int
    height: int
    mode: str


class _Skip(Exception):
    """An entry that cannot be used; the message is the reason shown to the user."""


def import_image_zip(
    source: str | Path | bytes,
    dest_dir: Path,
    limits: ZipLimits = ZipLimits(),  # noqa: B008 (frozen)
) -> ImageImport:
    """Check the zip, decode its images into `dest_dir/images/<label>/`, and index them.

    BadInput for anything the user must fix; on any failure, what this call created is removed.
    """
    dest_dir = Path(dest_dir)
    with _open_zip(source) as zf:
        infos = zf.infolist()
        _check_entries(infos, limits, _archive_size(source))
        candidates, ignored = _classify(infos)
        created = _Created()
        staging = dest_dir / f".import-{uuid.uuid4().hex[:12]}"
        old_max_pixels = Image.MAX_IMAGE_PIXELS
        try:
            created.mkdir(staging)
            # Process-wide in Pillow; _decode also checks the size itself, so a concurrent import
            # that restores it early cannot let a bomb through.
            Image.MAX_IMAGE_PIXELS = limits.max_image_pixels
            decoded, skipped = _decode_all(zf, candidates, staging, limits)
            if not decoded:
                raise BadInput(
                    f"no PNG or JPEG images found in the zip ({len(skipped)} unreadable, "
                    f"{ignored} ignored as non-images); put the images in one folder per class "
                    "(e.g. cats/001.jpg, dogs/001.jpg) and zip those folders."
                )
            rows, more_skipped = _label(decoded)
            skipped += more_skipped
            _place(rows, staging, dest_dir, created)
        except BaseException:
            created.rollback()
            raise
        finally:
            Image.MAX_IMAGE_PIXELS = old_max_pixels
            shutil.rmtree(staging, ignore_errors=True)

    index = pd.DataFrame(rows, columns=_COLUMNS)
    index = index.sort_values(["label", "path"], kind="stable", ignore_index=True)
    index = index.astype({"path": str, "label": str, "width": "int64", "height": "int64"})
    index = index.astype({"source_mode": str, "source_entry": str})
    classes = sorted(set(index["label"]))
    skipped.sort()
    return ImageImport(index=index, classes=classes, skipped=skipped, ignored=ignored)


# --- reading and decoding ---


def _read_bounded(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    """The entry's bytes, refusing the zip if more comes out than its header declares."""
    chunks: list[bytes] = []
    total = 0
    with zf.open(info) as fh:
        while chunk := fh.read(min(_CHUNK, info.file_size - total + 1)):
            total += len(chunk)
            if total > info.file_size:
                raise BadInput(
                    f"entry '{info.filename}' holds more data than its header declares; the zip "
                    "was refused as a possible zip bomb."
                )
            chunks.append(chunk)
    return b"".join(chunks)


def _decode_all(
    zf: zipfile.ZipFile,
    candidates: list[tuple[zipfile.ZipInfo, list[str]]],
    staging: Path,
    limits: ZipLimits,
) -> tuple[list[_Decoded], list[tuple[str, str]]]:
    """Decode every candidate into `staging/<digest>.png`; identical bytes are decoded once."""
    # No PNG or JPEG of the allowed pixel count comes near this size (16-bit RGBA, uncompressed).
    max_entry_bytes = limits.max_image_pixels * 8 + _MIB
    seen: dict[str, tuple[int, int, str] | str] = {}  # digest -> (w, h, mode) or skip reason
    decoded: list[_Decoded] = []
    skipped: list[tuple[str, str]] = []
    for info, parts in candidates:
        entry = info.filename
        if info.file_size > max_entry_bytes:
            skipped.append((entry, f"file is {_size(info.file_size)}, too large for an image"))
            continue
        try:
            data = _read_bounded(zf, info)
        except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
            skipped.append((entry, f"damaged zip entry: {exc}"))
            continue
        digest = hashlib.sha1(data, usedforsecurity=False).hexdigest()[:16]
        if digest not in seen:
            try:
                seen[digest] = _decode(data, staging / f"{digest}.png", limits)
            except _Skip as exc:
                seen[digest] = str(exc)
        result = seen[digest]
        if isinstance(result, str):
            skipped.append((entry, result))
        else:
            decoded.append(_Decoded(entry, parts[:-1], digest, *result))
    return decoded, skipped


def _decode(data: bytes, out: Path, limits: ZipLimits) -> tuple[int, int, str]:
    """Decode one image, write it to `out` as RGB PNG; (width, height, source mode) or _Skip."""
    try:
        with warnings.catch_warnings():
            # Pillow only warns between 1x and 2x MAX_IMAGE_PIXELS; both are refusals here.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise _Skip(f"image too large: {exc}") from None
    except UnidentifiedImageError:
        raise _Skip("cannot decode image: not a recognised image file") from None
    except Exception as exc:  # Pillow raises many types on malformed headers
        raise _Skip(f"cannot decode image: {exc}") from None
    with img:
        if img.format not in _FORMATS:
            raise _Skip(f"unsupported format {img.format}")
        pixels = img.width * img.height
        if pixels > limits.max_image_pixels:
            raise _Skip(
                f"image too large: {img.width}x{img.height} = {pixels:,} pixels, over the limit "
                f"of {limits.max_image_pixels:,}"
            )
        mode = img.mode
        try:
            img.load()  # Image.open is lazy; truncated data only fails here
            rgb = _to_rgb(_upright(img))
        except Exception as exc:
            raise _Skip(f"cannot decode image: {exc}") from None
    # Drop ICC profile, tRNS and EXIF: they describe the source pixels, not these RGB ones.
    rgb.info.clear()
    rgb.save(out, format="PNG")
    return rgb.width, rgb.height, mode


def _upright(img: Image.Image) -> Image.Image:
    """Apply the EXIF orientation so phone photos are stored the way they are shown."""
    try:
        return ImageOps.exif_transpose(img) or img
    except Exception:  # a broken EXIF block should not cost the image
        return img


def _to_rgb(img: Image.Image) -> Image.Image:
    if img.mode.startswith("I") or img.mode == "F":
        # 16/32-bit grey: Pillow's own conversion clips at 255, turning most images white.
        arr = np.asarray(img).astype(np.float64)
        top = float(arr.max(initial=0))
        if img.mode.startswith("I;16") or top > 255:
            arr = arr / 257.0
        elif img.mode == "F" and top <= 1.0:
            arr = arr * 255.0
        img = Image.fromarray(np.clip(np.rint(arr), 0, 255).astype(np.uint8))
    if img.has_transparency_data:
        rgba = img.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    return img.convert("RGB")


# --- labels and output ---


def _common_prefix(paths: list[list[str]]) -> list[str]:
    prefix = list(paths[0])
    for p in paths[1:]:
        n = 0
        while n < min(len(prefix), len(p)) and prefix[n] == p[n]:
            n += 1
        del prefix[n:]
    return prefix


def _label(decoded: list[_Decoded]) -> tuple[list[dict[str, object]], list[tuple[str, str]]]:
    """Index rows (one per label and distinct image) and skips, by the rule in the docstring."""
    prefix = _common_prefix([d.folders for d in decoded])
    depth = len(prefix)
    if all(len(d.folders) == depth for d in decoded):
        if not prefix:
            raise BadInput(
                "the images are not inside class folders; put each class's images in its own "
                "folder (e.g. cats/ and dogs/) and zip those folders."
            )
        depth -= 1  # everything is in one folder: that folder is the (only) class
    rest = [d.folders[depth:] for d in decoded]
    if all(len(r) >= 2 and r[0].lower() in _SPLIT_NAMES for r in rest):
        depth += 1

    rows: list[dict[str, object]] = []
    skipped: list[tuple[str, str]] = []
    first_entry: dict[tuple[str, str], str] = {}
    for d in decoded:
        if len(d.folders) <= depth:
            skipped.append((d.entry, "not inside a class folder"))
            continue
        # Zips made on macOS store decomposed Unicode; "café" must be one class either way.
        label = unicodedata.normalize("NFC", d.folders[depth])
        key = (label, d.digest)
        if key in first_entry:
            skipped.append((d.entry, f"duplicate of '{first_entry[key]}'"))
            continue
        first_entry[key] = d.entry
        path = f"images/{label}/{d.digest}.png"
        rows.append(
            {
                "path": path,
                "label": label,
                "width": d.width,
                "height": d.height,
                "source_mode": d.mode,
                "source_entry": d.entry,
            }
        )

    classes = sorted({str(r["label"]) for r in rows})
    if len(classes) < 2:
        raise BadInput(
            f"found images in only one class folder '{classes[0]}': an image classifier needs "
            "at least two class folders."
        )
    return rows, skipped


class _Created:
    """What this call made on disk, so a failure can leave dest_dir as it was."""

    def __init__(self) -> None:
        self.dirs: list[Path] = []
        self.files: list[Path] = []

    def mkdir(self, path: Path) -> None:
        missing = []
        while not path.exists():
            missing.append(path)
            path = path.parent
        for d in reversed(missing):
            d.mkdir()
            self.dirs.append(d)

    def rollback(self) -> None:
        for f in reversed(self.files):
            f.unlink(missing_ok=True)
        for d in reversed(self.dirs):
            shutil.rmtree(d, ignore_errors=True)


def _place(rows: list[dict[str, object]], staging: Path, dest_dir: Path, created: _Created) -> None:
    """Move decoded files from staging to their class folders (a file per label and digest)."""
    for row in rows:
        target = dest_dir / str(row["path"])
        if target.exists():  # same entry bytes from an earlier import: same pixels
            continue
        created.mkdir(target.parent)
        source = staging / target.name
        try:
            os.link(source, target)  # the same image may sit in two class folders
        except OSError:
            shutil.copyfile(source, target)
        created.files.append(target)
