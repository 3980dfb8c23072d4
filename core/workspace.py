"""The workspace: one folder holding the run store, run artifacts and uploaded data.

Chosen by `--home DIR`, else the `TFSTUDIO_HOME` environment variable, else `~/.tfstudio`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

ENV_HOME = "TFSTUDIO_HOME"


@dataclass(frozen=True)
class Workspace:
    root: Path

    @classmethod
    def resolve(cls, home: str | os.PathLike[str] | None = None) -> Workspace:
        """The workspace folder (argument, $TFSTUDIO_HOME, else ~/.tfstudio), created if needed."""
        chosen = home or os.environ.get(ENV_HOME) or Path.home() / ".tfstudio"
        root = Path(chosen).expanduser().resolve()
        for sub in ("runs", "uploads", "samples"):
            try:
                (root / sub).mkdir(parents=True, exist_ok=True)
            except OSError:
                # read-only or full: reading still works; a write names the fault when it fails
                if not root.is_dir():
                    raise
        return cls(root)

    @property
    def db_path(self) -> Path:
        return self.root / "runs.sqlite"

    @property
    def uploads_dir(self) -> Path:
        return self.root / "uploads"

    @property
    def samples_dir(self) -> Path:
        return self.root / "samples"

    def run_dir(self, run_id: str) -> Path:
        return self.root / "runs" / run_id
