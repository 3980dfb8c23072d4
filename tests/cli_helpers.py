"""CLI calls the slow tests share: a command run as a user would with `--json --home HOME`,
its exit status checked and its JSON payload returned; the iris model most of them start from
(and a module fixture of one); a small sentiment table for the text models."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

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


def iris_run_fixture(home_name: str, epochs: int = 20):
    """A module-scoped fixture `iris_run`: (a fresh home, the payload of an iris training run
    in it). A test module assigns it: `iris_run = iris_run_fixture("NAME-home")`."""

    @pytest.fixture(scope="module")
    def iris_run(tmp_path_factory):
        home = tmp_path_factory.mktemp(home_name)
        return home, train_iris(home, epochs)

    return iris_run


def write_reviews(path: Path, n: int, fillers: int, pos: list[str], neg: list[str]) -> None:
    """A CSV of `n` reviews (column review) and their sentiment, alternating negative and
    positive: `fillers` neutral words and three of `pos` or `neg`, shuffled (seeded)."""
    rng = np.random.default_rng(0)
    filler = "the movie was a and it plot actors story".split()
    rows = []
    for i in range(n):
        words = list(rng.choice(filler, fillers)) + list(rng.choice(pos if i % 2 else neg, 3))
        rng.shuffle(words)
        rows.append({"review": " ".join(words), "sentiment": "positive" if i % 2 else "negative"})
    pd.DataFrame(rows).to_csv(path, index=False)
