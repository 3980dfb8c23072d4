"""Version switching for `tfstudio serve`, as TF Serving does with a model base path.

A model base path is a folder of numbered SavedModel folders, `BASE/1/`, `BASE/2/`, ... (the
registry writes one per pushed version, each renamed into place whole). The served version is the
one `BASE/serving.json` names (`{"version": N}`, replaced atomically when a version is promoted or
rolled back), else the highest number. A watcher thread polls the folder; when the chosen version
changes it loads the new SavedModel first and then swaps it in with one assignment. A request
takes the current (model, batcher) pair once when it starts, so a request in flight during a swap
finishes on the version it started with; the next one gets the new version. Nothing is unloaded
until it has been out of service for `RETIRE_S`.

Version labels (TF Serving's `/labels/L` URLs) are `serving.json`'s optional `"labels"` map,
`{"stable": 2, "canary": 3}`; a label names a version, and a request for a version that is not
the one served gets TF Serving's "Servable not found" (404).
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

POINTER = "serving.json"
POLL_S = float(os.environ.get("TFSTUDIO_SERVE_POLL_S", "1.0"))
RETIRE_S = 60.0


def versions_in(base: Path) -> list[int]:
    """Numbered version folders that hold a SavedModel, ascending."""
    if not base.is_dir():
        return []
    return sorted(
        int(p.name)
        for p in base.iterdir()
        if p.is_dir() and p.name.isdigit() and (p / "saved_model.pb").is_file()
    )


def version_dir(base: Path, version: int) -> Path:
    """The folder of `version`: `BASE/N`, or a zero-padded name as TF Serving's `00000123`."""
    plain = Path(base) / str(version)
    if plain.is_dir():
        return plain
    return next(
        (p for p in Path(base).iterdir() if p.name.isdigit() and int(p.name) == version), plain
    )


def is_base_path(folder: Path) -> bool:
    return bool(versions_in(folder))


def chosen_version(base: Path) -> int | None:
    """The version `serving.json` names when that folder exists, else the highest one."""
    have = versions_in(base)
    pointer = base / POINTER
    if pointer.is_file():
        try:
            wanted = int(json.loads(pointer.read_text())["version"])
        except (ValueError, KeyError, TypeError, OSError):
            wanted = None
        if wanted in have:
            return wanted
    return have[-1] if have else None


def labels_in(base: Path) -> dict[str, int]:
    """The version labels `serving.json` names (label -> version); {} without any."""
    try:
        labels = json.loads((Path(base) / POINTER).read_text()).get("labels") or {}
        return {str(k): int(v) for k, v in labels.items()}
    except (ValueError, TypeError, AttributeError, OSError):
        return {}


def point_to(base: Path, version: int, labels: dict[str, int] | None = None) -> None:
    """Name the version a watching server should serve (written to a temp file, then renamed);
    `labels` replaces the version labels (None keeps those already there)."""
    base.mkdir(parents=True, exist_ok=True)
    keep = labels_in(base) if labels is None else {k: int(v) for k, v in labels.items()}
    tmp = base / f".{POINTER}.{os.getpid()}.{threading.get_ident()}"
    record: dict[str, Any] = {"version": int(version), "at": time.time()}
    if keep:
        record["labels"] = keep
    tmp.write_text(json.dumps(record))
    os.replace(tmp, base / POINTER)


class ModelSlot:
    """The served (model, batcher) pair; `current` is read once per request."""

    def __init__(self, model, batching: bool = True, labels: dict[str, int] | None = None):
        self.batching = batching
        self._lock = threading.Lock()
        self.current = (model, self._batcher(model))
        self.switches: list[dict[str, Any]] = []
        self.labels: dict[str, int] = dict(labels or {})

    def _batcher(self, model):
        if not self.batching:
            return None
        from core.serving.batcher import Batcher

        return Batcher(model)

    def version_status(self) -> list[dict[str, Any]]:
        """TF Serving's model_version_status: the served version AVAILABLE, versions served
        before it END (unloaded), highest version first."""
        current = self.current[0].version
        states = {s["from"]: "END" for s in self.switches if s["from"] != current}
        states[current] = "AVAILABLE"
        ok = {"error_code": "OK", "error_message": ""}
        return [
            {"version": str(v), "state": states[v], "status": ok}
            for v in sorted(states, reverse=True)
        ]

    @property
    def model(self):
        return self.current[0]

    def switch(self, model) -> None:
        """Serve `model` from the next request on; the old one retires after RETIRE_S."""
        pair = (model, self._batcher(model))
        with self._lock:
            old = self.current
            self.current = pair  # one assignment: a request sees the old or the new pair
            self.switches.append({"from": old[0].version, "to": model.version, "at": time.time()})
        timer = threading.Timer(RETIRE_S, _retire, args=(old,))
        timer.daemon = True
        timer.start()


def _retire(pair) -> None:
    _, batcher = pair
    if batcher is not None:
        batcher.model = None  # drop the reference so the old SavedModel can be freed


class VersionWatcher:
    """Polls a model base path and switches the slot when the chosen version changes."""

    def __init__(self, slot: ModelSlot, base: Path, name: str, poll_s: float = POLL_S) -> None:
        self.slot, self.base, self.name, self.poll_s = slot, Path(base), name, poll_s
        self.failed: dict[int, float] = {}  # version -> mtime of the folder that failed to load
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True, name="version-watcher")

    def start(self) -> VersionWatcher:
        self.thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def check(self) -> bool:
        """One poll; True when it switched."""
        from core.serving.model import ServedModel

        self.slot.labels = labels_in(self.base)
        wanted = chosen_version(self.base)
        if wanted is None or wanted == self.slot.model.version:
            return False
        folder = version_dir(self.base, wanted)
        mtime = folder.stat().st_mtime
        if self.failed.get(wanted) == mtime:
            return False
        try:
            model = ServedModel(folder, self.name, version=wanted)
        except Exception as exc:  # noqa: BLE001  (keep serving the old version)
            self.failed[wanted] = mtime
            print(
                f"version {wanted} of {self.name} failed to load ({type(exc).__name__}: "
                f"{exc}); still serving version {self.slot.model.version}",
                file=sys.stderr,
                flush=True,
            )
            return False
        previous = self.slot.model.version
        self.slot.switch(model)
        print(
            json.dumps({"event": "switched", "name": self.name, "from": previous, "to": wanted}),
            flush=True,
        )
        return True

    def _loop(self) -> None:
        while not self._stop.wait(self.poll_s):
            try:
                self.check()
            except Exception as exc:  # noqa: BLE001  (a racing rename; try again next poll)
                log.warning("version watcher: %s: %s", type(exc).__name__, exc)


def open_slot(path: Path, name: str, batching: bool = True) -> tuple[ModelSlot, Any]:
    """A slot serving `path`: a model base path (its chosen version, watched) or one SavedModel
    folder (version 1, as before). Returns the slot and the watcher (None for one folder)."""
    from core.serving.model import ServedModel

    path = Path(path)
    version = chosen_version(path) if is_base_path(path) else None
    if version is None:
        return ModelSlot(ServedModel(path, name), batching), None
    model = ServedModel(version_dir(path, version), name, version=version)
    slot = ModelSlot(model, batching, labels_in(path))
    return slot, VersionWatcher(slot, path, name).start()
