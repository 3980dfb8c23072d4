"""CLI calls the slow tests share: a command run as a user would with `--json --home HOME`,
its exit status checked and its JSON payload returned; the iris model most of them start from."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.conftest import tfstudio


def cli_json(home: str | Path, *args: str, code: int = 0) -> Any:
    """`tfstudio ARGS --json --home HOME`: asserts it exits with `code`, returns its JSON."""
    out = tfstudio(*args, "--json", "--home", str(home))
    assert out.returncode == code, out.stderr[-3000:]
    return json.loads(out.stdout)


def train_iris(home: str | Path, epochs: int) -> dict[str, Any]:
    """A training run on the bundled iris sample (target species); its CLI payload."""
    return cli_json(
        home, "train", "--data", "sample:iris", "--target", "species", "--epochs", str(epochs)
    )
