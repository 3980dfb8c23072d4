"""Tables that trip models (#30's bad inputs): every column categorical, a class with one example,
a target with 200 classes. Each trains, with its baselines, or gets one clear message; never a
traceback or a silent single-class model."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.cli_helpers import cli_json
from tests.conftest import tfstudio

pytestmark = pytest.mark.slow


def test_a_table_of_only_categories_trains_and_beats_chance(tmp_path):
    rng = np.random.default_rng(0)
    n = 400
    colour = rng.choice(["red", "green", "blue"], n)
    size = rng.choice(["S", "M", "L"], n)
    shape = rng.choice(["round", "square"], n)
    label = np.where((colour == "red") | (size == "L"), "yes", "no")
    path = tmp_path / "cats.csv"
    pd.DataFrame({"colour": colour, "size": size, "shape": shape, "label": label}).to_csv(
        path, index=False
    )
    payload = cli_json(tmp_path, "train", "--data", str(path), "--target", "label")
    assert payload["status"] == "SUCCEEDED"
    assert payload["test_metrics"]["accuracy"] >= 0.95  # the rule is learnable exactly
    assert payload["result"]["baselines"]["baselines"]  # the baselines ran on it too


def test_a_class_with_one_example_trains_or_says_why(tmp_path):
    rng = np.random.default_rng(1)
    n = 300
    x = rng.normal(size=(n, 3))
    label = np.where(x[:, 0] > 0, "a", "b").astype(object)
    label[7] = "rare"
    path = tmp_path / "rare.csv"
    pd.DataFrame({"x0": x[:, 0], "x1": x[:, 1], "x2": x[:, 2], "label": label}).to_csv(
        path, index=False
    )
    done = tfstudio("train", "--data", str(path), "--target", "label", "--json",
                    "--home", str(tmp_path))  # fmt: skip
    text = done.stdout + done.stderr
    assert "Traceback" not in text
    if done.returncode == 2:  # refused: it must name the class and say what to do
        assert "rare" in done.stderr
    else:
        assert done.returncode == 0, text[-2000:]


def test_a_target_with_200_classes_trains_with_its_baselines(tmp_path):
    rng = np.random.default_rng(2)
    classes = 200
    per = 12
    centres = rng.normal(scale=6, size=(classes, 4))
    y = np.repeat(np.arange(classes), per)
    x = centres[y] + rng.normal(scale=0.5, size=(len(y), 4))
    frame = pd.DataFrame(x, columns=["a", "b", "c", "d"]).assign(kind=[f"k{i:03d}" for i in y])
    path = tmp_path / "many.csv"
    frame.sample(frac=1.0, random_state=0).to_csv(path, index=False)
    payload = cli_json(tmp_path, "train", "--data", str(path), "--target", "kind")
    assert payload["status"] == "SUCCEEDED"
    assert len(payload["result"]["classes"]) == classes
    predicted = payload["test_metrics"]["accuracy"]
    assert predicted > 0.5  # far from one class for everything (0.005)
    assert payload["result"]["baselines"]["baselines"]
