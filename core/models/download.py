"""One way to download pretrained files: cache first, offline fails fast, never a half file.

Every source (Keras Applications, KerasHub presets, TF Hub handles) goes through `fetch_file`:
it writes to `<dest>.part` beside the cache entry, resumes with an HTTP Range request when the
server drops mid-file, checks the size and the published hash, and only then renames the file
into place, so the cache holds complete, verified files or nothing. A download that would not
fit on the disk is refused with its size before the first byte. `TFSTUDIO_OFFLINE=1` (or a
spec's `offline`) turns every download into an immediate error that says how to bring the files.

Pure Python (urllib), no TensorFlow: the fast tests run it against a local HTTP server.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import shutil
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from core.errors import BadInput

OFFLINE_ENV = "TFSTUDIO_OFFLINE"
CHUNK = 1 << 16
TIMEOUT_S = 30.0
# Where each kind of file can be brought by hand, for the messages below.
HOW_TO_BRING = (
    "copy the files onto this machine and pass a local path (--weights FILE, hub:/folder, "
    "kerashub:/preset-folder), or point the caches at a copy: KERAS_HOME (Keras Applications "
    "weights in $KERAS_HOME/models), TFHUB_CACHE_DIR (TF Hub), KAGGLEHUB_CACHE (KerasHub "
    "presets); a site mirror can be named with TFSTUDIO_KERAS_APPS_MIRROR, "
    "TFSTUDIO_HUB_MIRROR or TFSTUDIO_KERASHUB_MIRROR"
)

Progress = Callable[[int, int | None], None]  # (bytes so far, total bytes or None)


class DownloadFailed(BadInput):
    """A pretrained file could not be fetched or verified; nothing was left in the cache."""


def is_offline(offline: bool = False) -> bool:
    """The offline setting: a spec's flag, or TFSTUDIO_OFFLINE set to 1/true/yes."""
    return offline or os.environ.get(OFFLINE_ENV, "").strip().lower() in ("1", "true", "yes")


def refuse_offline(what: str, offline: bool = False) -> None:
    """Fail at once (no connection attempt) when the offline setting is on."""
    if is_offline(offline):
        raise DownloadFailed(
            f"{what} is not in the cache and downloads are off (offline setting, "
            f"{OFFLINE_ENV}): {HOW_TO_BRING}"
        )


def human_size(n: int | None) -> str:
    if n is None:
        return "size unknown"
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{n} B"


def check_disk(size: int | None, folder: Path, what: str) -> None:
    """Refuse a download bigger than the free space (plus 5 % and 10 MB of headroom)."""
    if size is None:
        return
    folder.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(folder).free
    if size * 1.05 + 10e6 > free:
        raise DownloadFailed(
            f"{what} is {human_size(size)} but only {human_size(free)} is free in {folder}: "
            "free some space or point the cache at a bigger disk"
        )


def file_hash(path: Path, algorithm: str) -> str:
    digest = hashlib.new(algorithm)
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def hash_algorithm(expected: str) -> str:
    """Keras' own rule: a 64-hex hash is SHA-256, anything else MD5."""
    return "sha256" if len(expected) == 64 else "md5"


def remote_size(url: str) -> int | None:
    """The Content-Length a server announces (HEAD), or None."""
    try:
        with urllib.request.urlopen(
            urllib.request.Request(url, method="HEAD"), timeout=TIMEOUT_S
        ) as resp:
            length = resp.headers.get("Content-Length")
            return int(length) if length else None
    except (OSError, ValueError):  # unreachable, refused, or no usable Content-Length
        return None


def _unreachable(url: str, what: str, exc: Exception) -> DownloadFailed:
    reason = getattr(exc, "reason", None) or exc
    return DownloadFailed(
        f"could not download {what} from {url} ({reason}): without network access, {HOW_TO_BRING}"
    )


def fetch_file(
    url: str,
    dest: Path,
    *,
    what: str = "",
    expected_hash: str = "",
    progress: Progress | None = None,
    attempts: int = 3,
    offline: bool = False,
) -> Path:
    """Download `url` to `dest` (a cache path) unless it is already there.

    Args:
        url: http(s) address of the file.
        dest: final path; written only once the whole file is here and verified.
        what: the file in words, for messages.
        expected_hash: the published MD5 or SHA-256 (hex); a mismatch deletes the file.
        progress: called with (bytes so far, total) as the download advances.
        attempts: connections tried in all; each one after a drop resumes with Range.
        offline: the spec's offline setting (TFSTUDIO_OFFLINE also counts).

    Returns: `dest`. Raises DownloadFailed with a how-to message; nothing is left behind.
    """
    what = what or dest.name
    if dest.is_file():
        return dest
    refuse_offline(what, offline)
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    part.unlink(missing_ok=True)  # a stale part from a killed process: its origin is unknown
    total: int | None = None
    try:
        for attempt in range(attempts):
            have = part.stat().st_size if part.exists() else 0
            headers = {"Range": f"bytes={have}-"} if have else {}
            try:
                resp = urllib.request.urlopen(
                    urllib.request.Request(url, headers=headers), timeout=TIMEOUT_S
                )
            except urllib.error.HTTPError as exc:
                raise DownloadFailed(
                    f"the server refused {what} at {url} (HTTP {exc.code}): check the name, "
                    f"or {HOW_TO_BRING}"
                ) from None
            except (urllib.error.URLError, OSError) as exc:
                if attempt == 0:  # nothing there at all (no network): fail fast
                    raise _unreachable(url, what, exc) from None
                time.sleep(0.5)
                continue
            with resp:
                resumed = have and resp.status == 206
                if not resumed:
                    have = 0  # the server ignored Range: start again
                length = resp.headers.get("Content-Length")
                if total is None and length is not None:
                    total = int(length) + have
                    check_disk(total, dest.parent, what)
                try:
                    with open(part, "ab" if resumed else "wb") as out:
                        while block := resp.read(CHUNK):
                            out.write(block)
                            have += len(block)
                            if progress:
                                progress(have, total)
                except (OSError, http.client.HTTPException):
                    continue  # dropped mid-file: resume on the next attempt
            if total is None or have >= total:
                break
        size = part.stat().st_size if part.exists() else 0
        if total is not None and size != total:
            raise DownloadFailed(
                f"the download of {what} from {url} broke off at {human_size(size)} of "
                f"{human_size(total)} after {attempts} attempts; nothing was kept: try again, "
                f"or {HOW_TO_BRING}"
            )
        if expected_hash:
            algorithm = hash_algorithm(expected_hash)
            actual = file_hash(part, algorithm)
            if actual != expected_hash.lower():
                raise DownloadFailed(
                    f"{what} from {url} does not match its published {algorithm} "
                    f"({actual[:12]}… instead of {expected_hash[:12]}…): the file was deleted; "
                    "the mirror may hold another version"
                )
        os.replace(part, dest)  # atomic on one file system: the cache never sees a part file
        return dest
    finally:
        part.unlink(missing_ok=True)
