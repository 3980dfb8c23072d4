"""A table profile's issues: missing, constant, mixed-type and rare-class columns, bad targets."""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.data.profile import profile_table


def test_profile_reports_missing_constant_mixed_and_rare():
    n = 100
    frame = pd.DataFrame(
        {
            "empty": [None] * n,
            "const": ["same"] * n,
            "mixed": [str(i) for i in range(n - 5)] + ["n/a", "abc", "abc", "?", "x"],
            "x": np.arange(n, dtype=float) / 3,
            "label": ["a"] * 60 + ["b"] * 38 + ["c"] * 2,
        }
    )
    prof = profile_table(frame, target="label")
    assert prof.class_balance == {"a": 60, "b": 38, "c": 2}
    assert prof.issues == [
        "column 'empty' is entirely missing",
        "column 'const' is constant: it carries no information",
        "column 'mixed': 3 values could not be read as numbers, e.g. 'abc', 'x'",
        "class 'c' of 'label' is rare (2 rows)",
    ]
    assert prof.column("empty").missing == n
    assert prof.column("mixed").type == "numeric"


def test_profile_reports_a_half_numeric_column_as_mixed():
    frame = pd.DataFrame({"m": ["1", "2", "3", "a", "b", "c", "4", "d", "5", "e"] * 5})
    prof = profile_table(frame)
    assert prof.column("m").type == "categorical"
    assert prof.issues == ["column 'm': mixed types: 50% of values are numbers"]


def test_profile_reports_an_all_missing_target():
    frame = pd.DataFrame({"x": range(20), "y": [None] * 20})
    prof = profile_table(frame, target="y")
    assert "the target 'y' has no values" in prof.issues
    assert "column 'y' is entirely missing" in prof.issues


def test_profile_reports_a_single_class_target():
    frame = pd.DataFrame({"x": range(20), "y": ["only"] * 20})
    prof = profile_table(frame, target="y")
    assert "the target 'y' has a single class" in prof.issues


def test_profile_reports_a_mostly_missing_column():
    frame = pd.DataFrame({"x": range(10), "sparse": [1.5, 2.5, 3.5] + [None] * 7})
    assert "column 'sparse' is 70% missing" in profile_table(frame).issues
