"""The random and stratified splits are scikit-learn's `train_test_split`, position for position,
without its per-row Python lists (core.training.split.shuffled_positions)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import train_test_split

from core.errors import BadInput
from core.training.split import shuffled_positions, split_rows


def sklearn_positions(n, validation, test, seed, labels):
    """What split_rows did before: two train_test_split calls on a frame."""
    frame = pd.DataFrame({"i": np.arange(n)})
    strat = None if labels is None else pd.Series(labels)
    if strat is not None and strat.value_counts().min() < 3:
        strat = None
    rest, test_part = train_test_split(frame, test_size=test, random_state=seed, stratify=strat)
    rest_strat = strat.loc[rest.index] if strat is not None else None
    train, val = train_test_split(
        rest, test_size=validation / (1 - test), random_state=seed, stratify=rest_strat
    )
    return train["i"].to_numpy(), val["i"].to_numpy(), test_part["i"].to_numpy()


CASES = [
    # rows, classes (0: none), imbalance, validation, test, seed
    (10, 0, False, 0.2, 0.2, 0),
    (150, 3, False, 0.2, 0.2, 42),
    (1000, 2, True, 0.1, 0.3, 7),
    (997, 7, True, 0.25, 0.15, 123),
    (5000, 40, True, 0.2, 0.2, 1),
    (333, 5, False, 0.5, 0.4, 99),
    (64, 20, True, 0.2, 0.2, 3),  # some classes under 3 rows: falls back to random
]


@pytest.mark.parametrize("n,k,skewed,validation,test,seed", CASES)
@pytest.mark.parametrize("kind", ["int32", "str"])
def test_positions_are_scikit_learns(n, k, skewed, validation, test, seed, kind):
    rng = np.random.default_rng(seed)
    labels = None
    if k:
        p = np.arange(1, k + 1, dtype=float) ** (2 if skewed else 0)
        labels = rng.choice(k, size=n, p=p / p.sum()).astype(np.int32) + 5  # not from 0
        if kind == "str":
            labels = np.array([f"class {v}" for v in labels], dtype=object)
    expected = sklearn_positions(n, validation, test, seed, labels)
    got = shuffled_positions(n, validation, test, seed, labels)
    for e, g in zip(expected, got, strict=True):
        np.testing.assert_array_equal(g, e)


def test_split_rows_keeps_the_frames_rows_and_labels_together():
    frame = pd.DataFrame({"x": np.arange(300) * 10, "y": np.repeat(["a", "b", "c"], 100)})
    frame.index = frame.index + 1000  # not a RangeIndex from 0: positions, not labels
    parts = split_rows(frame, 0.2, 0.2, 5, frame["y"])
    assert {k: len(v) for k, v in parts.items()} == {"train": 180, "validation": 60, "test": 60}
    for part in parts.values():
        assert (part["y"] == np.repeat(["a", "b", "c"], 100)[part["x"] // 10]).all()
        assert part["y"].value_counts().nunique() == 1  # stratified: equal shares of a, b, c
    rows = np.concatenate([p["x"].to_numpy() for p in parts.values()])
    assert sorted(rows) == list(frame["x"])


def test_too_few_rows_for_a_train_split_is_a_clear_message():
    with pytest.raises(BadInput, match="train split is empty"):
        split_rows(pd.DataFrame({"i": range(2)}), 0.5, 0.5 - 1e-9, 0)
