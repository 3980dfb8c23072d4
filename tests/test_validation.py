"""Validation of new data against a reference: one crafted frame per anomaly kind."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

from core.data.validation import KINDS, Anomaly, ValidationReport, validate_frame

N = 600
SCHEMA = {
    "target": "label",
    "columns": [
        {"name": "x", "type": "numeric"},
        {"name": "age", "type": "integer"},
        {"name": "member", "type": "boolean"},
        {"name": "color", "type": "categorical"},
        {"name": "note", "type": "text"},
        {"name": "when", "type": "timestamp"},
        {"name": "photo", "type": "image_path"},
        {"name": "label", "type": "categorical"},
    ],
}


def make_frame(seed: int = 0, n: int = N) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "x": rng.normal(0.0, 1.0, n),
            "age": rng.integers(18, 80, n),
            "member": rng.random(n) < 0.4,
            "color": rng.choice(["red", "green", "blue"], n, p=[0.5, 0.3, 0.2]),
            "note": [f"note {i}" for i in range(n)],
            "when": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 365, n), "D"),
            "photo": [f"img/{i}.png" for i in range(n)],
            "label": rng.choice(["yes", "no"], n),
        }
    )


REF = make_frame(0)


def only(
    report: ValidationReport, kind: str, column: str, severity: str = "", says: tuple = ()
) -> Anomaly:
    """The one anomaly of `kind` on `column`; with `severity` and `says`, checked to be that
    severe and to say each of `says` in its detail."""
    hits = [a for a in report.anomalies if a.kind == kind and a.column == column]
    assert len(hits) == 1, report.to_dict()
    if severity:
        assert hits[0].severity == severity, hits[0]
    for part in says:
        assert part in hits[0].detail, hits[0].detail
    return hits[0]


def kinds(report: ValidationReport) -> set[tuple[str, str]]:
    return {(a.kind, a.column) for a in report.anomalies}


def number_in(detail: str) -> bool:
    return re.search(r"\d", detail) is not None


def test_identical_data_has_no_anomalies():
    report = validate_frame(REF.copy(), REF, SCHEMA)
    assert report.anomalies == []
    assert report.worst() is None
    assert not report.blocks("low")
    assert (report.rows_new, report.rows_reference) == (N, N)


def test_csv_round_trip_strings_parse_cleanly():
    new = REF.astype(str)  # what a CSV read as text delivers, booleans as "True"/"False"
    assert validate_frame(new, REF, SCHEMA).anomalies == []
    new = REF.astype("string")
    assert validate_frame(new, REF, SCHEMA).anomalies == []
    ref = REF.astype({"x": float, "member": object, "when": object})
    ref.loc[::10, ["x", "member", "when"]] = None
    assert validate_frame(ref.astype(str), ref, SCHEMA).anomalies == []  # "nan", "None"


def test_missing_feature_and_target_are_high():
    report = validate_frame(REF.drop(columns=["x", "label"]), REF, SCHEMA)
    feature = only(report, "missing_column", "x")
    target = only(report, "missing_column", "label")
    assert feature.severity == target.severity == "high"
    assert "Target" in target.detail and "retraining" in target.detail
    assert number_in(feature.detail)


def test_new_column_is_low():
    new = REF.assign(extra=np.arange(N))
    only(validate_frame(new, REF, SCHEMA), "new_column", "extra", "low", (str(N),))


@pytest.mark.parametrize(
    ("column", "as_type", "last", "value", "shown"),
    [
        ("x", object, 59, "n/a", ("10.0%", "'n/a'")),  # 60 of 600 non-missing values: 10 %
        ("age", float, 5, 30.5, ("30.5", "6 of 600")),
        ("when", str, 29, "not a date", ("5.0%", "'not a date'")),
    ],
    ids=["numbers-that-stop-parsing", "fractions-in-an-integer-column", "unparseable-timestamps"],
)
def test_values_the_column_cannot_hold_are_a_type_change(column, as_type, last, value, shown):
    new = REF.copy()
    new[column] = new[column].astype(as_type)
    new.loc[:last, column] = value
    only(validate_frame(new, REF, SCHEMA), "type_change", column, "high", shown)


def test_a_few_unparseable_values_are_tolerated():
    new = REF.copy()
    new["x"] = new["x"].astype(object)
    new.loc[:2, "x"] = "oops"  # 0.5 %
    assert ("type_change", "x") not in kinds(validate_frame(new, REF, SCHEMA))


def test_unseen_categories_severity_follows_row_share():
    new = REF.astype({"member": object})
    new.loc[:29, "color"] = "purple"  # 5 % of rows
    new.loc[0, "member"] = "maybe"  # 1 row: under 1 %
    report = validate_frame(new, REF, SCHEMA)
    only(report, "unseen_categories", "color", "medium", ("'purple'", "5.0%"))
    only(report, "unseen_categories", "member", "low", ("'maybe'",))


def test_boolean_spellings_match():
    new = REF.copy()
    new["member"] = np.where(REF["member"], "yes", "no")
    assert validate_frame(new, REF, SCHEMA).anomalies == []


def test_out_of_range_numbers_and_timestamps():
    new = REF.copy()
    new.loc[:19, "x"] = 100.0  # 20 rows, 3.3 %
    new.loc[0, "age"] = 5  # 1 row
    new.loc[:9, "when"] = pd.Timestamp("2026-06-01")
    report = validate_frame(new, REF, SCHEMA)
    only(report, "out_of_range", "x", "medium", ("20 values", "3.3%"))
    only(report, "out_of_range", "age", "low", ("1 below", "[18, 79]"))
    only(report, "out_of_range", "when", "medium", ("10 after", "2024-01-01"))


def test_missing_rate_jump_medium_high_and_all_missing():
    new = REF.copy()
    new.loc[: int(N * 0.2) - 1, "x"] = np.nan  # 0 % -> 20 %
    new["age"] = new["age"].astype(float)
    new.loc[: int(N * 0.6) - 1, "age"] = np.nan  # 0 % -> 60 %
    new["note"] = None  # every value missing
    report = validate_frame(new, REF, SCHEMA)
    x = only(report, "missing_rate_jump", "x")
    assert x.severity == "medium" and "20.0%" in x.detail
    assert only(report, "missing_rate_jump", "age").severity == "high"
    note = only(report, "missing_rate_jump", "note")
    assert note.severity == "high" and f"All {N}" in note.detail


def test_blank_strings_count_as_missing():
    new = REF.copy()
    new["color"] = new["color"].astype(object)
    new.loc[: N // 4 - 1, "color"] = "  "
    report = validate_frame(new, REF, SCHEMA)
    assert only(report, "missing_rate_jump", "color").severity == "medium"
    assert ("unseen_categories", "color") not in kinds(report)


def test_shifted_normal_drifts_high():
    new = REF.copy()
    new["x"] = np.random.default_rng(7).normal(1.0, 1.0, N)  # mean + 1 std
    report = validate_frame(new, REF, SCHEMA)
    a = only(report, "drift", "x")
    assert a.severity == "high"
    assert "PSI" in a.detail and "KS statistic" in a.detail
    psi = float(re.search(r"PSI (\d+\.\d+)", a.detail).group(1))
    assert psi > 0.5
    assert report.blocks()


def test_resampled_data_does_not_drift():
    report = validate_frame(make_frame(1), REF, SCHEMA)
    assert not [a for a in report.anomalies if a.kind == "drift"], report.to_dict()
    assert not report.blocks("medium"), report.to_dict()


def test_unconfirmed_psi_is_low():
    # Few values: a modest shift can exceed the PSI threshold yet not pass KS.
    rng = np.random.default_rng(3)
    ref = pd.DataFrame({"x": rng.normal(0, 1, 25)})
    new = pd.DataFrame({"x": rng.normal(0.3, 1, 25)})
    schema = {"target": None, "columns": [{"name": "x", "type": "numeric"}]}
    report = validate_frame(new, ref, schema, psi_threshold=0.05, ks_alpha=1e-6)
    a = only(report, "drift", "x")
    assert a.severity == "low" and "not confirmed" in a.detail


def test_categorical_frequency_shift_drifts():
    rng = np.random.default_rng(5)
    new = REF.copy()
    new["color"] = rng.choice(["red", "green", "blue"], N, p=[0.2, 0.3, 0.5])
    a = only(validate_frame(new, REF, SCHEMA), "drift", "color")
    assert a.severity == "medium"  # about 0.3: above 0.2, below 0.4
    linf = float(re.search(r"L-infinity distance (\d+\.\d+)", a.detail).group(1))
    assert 0.2 < linf <= 0.4
    high = only(validate_frame(new, REF, SCHEMA, linf_threshold=0.1), "drift", "color")
    assert high.severity == "high"


def test_small_samples_skip_drift():
    ref = pd.DataFrame({"x": np.arange(10.0)})
    new = pd.DataFrame({"x": np.arange(10.0) + 0.5})
    schema = {"target": None, "columns": [{"name": "x", "type": "numeric"}]}
    assert "drift" not in {a.kind for a in validate_frame(new, ref, schema).anomalies}


def test_text_and_image_columns_skip_drift():
    new = REF.copy()
    new["note"] = "completely different"
    new["photo"] = "other/path.png"
    assert validate_frame(new, REF, SCHEMA).anomalies == []


def test_empty_new_frame():
    report = validate_frame(REF.iloc[0:0], REF, SCHEMA)
    assert [(a.kind, a.column, a.severity) for a in report.anomalies] == [("empty", "", "high")]
    assert report.rows_new == 0 and report.blocks()
    bare = validate_frame(pd.DataFrame(), REF, SCHEMA)
    assert [a.kind for a in bare.anomalies] == ["empty"]


def test_empty_reference_and_all_missing_columns_do_not_crash():
    all_missing = pd.DataFrame({c: [None] * 50 for c in REF.columns})
    report = validate_frame(all_missing, all_missing, SCHEMA)
    assert report.anomalies == []
    report = validate_frame(all_missing, REF, SCHEMA)
    assert {a.kind for a in report.anomalies} == {"missing_rate_jump"}
    assert all(a.severity == "high" for a in report.anomalies)
    report = validate_frame(REF, all_missing, SCHEMA)
    assert report.anomalies == []
    report = validate_frame(REF, REF.iloc[0:0], SCHEMA)
    assert report.anomalies == [] and report.rows_reference == 0


def test_mixed_dtypes_do_not_crash():
    new = REF.copy().astype(object)
    odd = {"x": {"a": 1}, "age": [1, 2], "when": 3.5, "color": 7, "member": 1, "label": ["yes"]}
    for row, (column, value) in enumerate(odd.items()):
        values = new[column].tolist()
        values[row] = value
        new[column] = pd.Series(values, dtype=object)
    report = validate_frame(new, REF, SCHEMA)
    assert ("unseen_categories", "color") in kinds(report)
    assert ("unseen_categories", "label") in kinds(report)
    assert ("type_change", "x") not in kinds(report)  # 1 bad value of 600 is under 1 %


def test_report_to_dict_is_json_serialisable():
    new = REF.drop(columns=["photo"]).assign(extra=1)
    new.loc[:29, "color"] = "purple"
    data = validate_frame(new, REF, SCHEMA).to_dict()
    decoded = json.loads(json.dumps(data))
    assert decoded["rows_new"] == N and decoded["rows_reference"] == N
    assert decoded["counts"] == {"high": 1, "medium": 1, "low": 1}
    assert set(decoded["anomalies"][0]) == {"column", "kind", "severity", "detail"}
    assert decoded["anomalies"][0]["severity"] == "high"  # most severe first


def test_blocks_worst_and_count():
    report = ValidationReport(
        [
            Anomaly("a", "new_column", "low", "1"),
            Anomaly("b", "unseen_categories", "medium", "2"),
        ],
        rows_new=5,
        rows_reference=5,
    )
    assert report.worst() == "medium"
    assert report.count() == 2 and report.count("low") == 1 and report.count("high") == 0
    assert not report.blocks()
    assert report.blocks("medium") and report.blocks("low")
    with pytest.raises(ValueError):
        report.blocks("critical")
    with pytest.raises(ValueError):
        Anomaly("a", "nonsense", "low", "")


def test_every_kind_has_a_default_severity():
    assert set(KINDS) == {
        "missing_column",
        "new_column",
        "type_change",
        "unseen_categories",
        "out_of_range",
        "missing_rate_jump",
        "drift",
        "empty",
    }
    assert set(KINDS.values()) <= {"low", "medium", "high"}


def test_unknown_schema_type_is_rejected():
    with pytest.raises(ValueError, match="unknown type"):
        validate_frame(REF, REF, {"target": None, "columns": [{"name": "x", "type": "float"}]})
