"""Trial analytics on hand-made trial records (no TensorFlow, no job)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from core.tuning import analytics as an

SPACE = [
    {"name": "learning_rate", "kind": "float", "low": 1e-4, "high": 1e-1, "log": True},
    {"name": "units", "kind": "choice", "choices": [16, 32, 64]},
    {"name": "activation", "kind": "choice", "choices": ["relu", "tanh"]},
    {"name": "dropout", "kind": "float", "low": 0.0, "high": 0.5},
    {"name": "epochs_fixed", "kind": "fixed", "value": 3},
]


def trial(number, score, status="COMPLETED", ended=None, **hps):
    return {
        "trial_id": f"t{number:02d}",
        "number": number,
        "status": status,
        "hyperparameters": hps,
        "score": score,
        "objective": {"name": "val_loss", "direction": "min"},
        "started_at": 1000.0 + number,
        "ended_at": ended if ended is not None else 1000.5 + number,
        "duration_s": 0.5,
        "epochs": 3,
        "history": {"loss": [1.0, 0.8, 0.7], "val_loss": [1.1, 0.9, score or 0.0]},
        "error": None if status != "FAILED" else "ValueError: boom",
        "checkpoint_kept": False,
        "worker": "main",
    }


def random_trials(n=30, seed=0):
    """The score depends only on the learning rate (log-linearly); the rest is noise-free."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        lr = float(10 ** rng.uniform(-4, -1))
        out.append(
            trial(
                i,
                score=abs(math.log10(lr) + 2.5),
                learning_rate=lr,
                units=int(rng.choice([16, 32, 64])),
                activation=str(rng.choice(["relu", "tanh"])),
                dropout=float(rng.uniform(0, 0.5)),
            )
        )
    return out


def test_importance_ranks_the_only_hyperparameter_that_matters_first():
    ranked = an.importance(random_trials(), SPACE)
    assert list(ranked.columns) == ["hyperparameter", "importance"]
    assert ranked.iloc[0]["hyperparameter"] == "learning_rate"
    assert ranked.iloc[0]["importance"] > 0.8
    assert ranked["importance"].sum() == pytest.approx(1.0)
    assert set(ranked["hyperparameter"]) == {"learning_rate", "units", "activation", "dropout"}


def test_importance_groups_a_choice_s_one_hot_columns():
    """A score set by a string choice: its one-hot columns count as one hyperparameter."""
    rng = np.random.default_rng(1)
    trials = [
        trial(
            i,
            score={"relu": 0.2, "tanh": 0.9}[act],
            learning_rate=float(10 ** rng.uniform(-4, -1)),
            activation=act,
            units=int(rng.choice([16, 32, 64])),
            dropout=float(rng.uniform(0, 0.5)),
        )
        for i, act in enumerate(["relu", "tanh"] * 8)
    ]
    ranked = an.importance(trials, SPACE)
    assert ranked.iloc[0]["hyperparameter"] == "activation"
    assert len(ranked) == 4  # one row per hyperparameter, not per one-hot column


def test_importance_needs_enough_completed_trials_and_says_how_many_more():
    few = random_trials(3) + [trial(9, None, status="FAILED", learning_rate=0.01)]
    assert an.importance_shortfall(few) == 1
    assert an.importance(few, SPACE).empty
    assert an.importance_shortfall(random_trials(5)) == 0


def test_importance_of_a_flat_score_is_zero_everywhere():
    trials = [trial(i, 0.5, learning_rate=10.0**-i, units=16) for i in range(1, 6)]
    ranked = an.importance(trials, SPACE)
    assert (ranked["importance"] == 0).all()


def test_best_so_far_respects_the_direction_and_completion_order():
    trials = [
        trial(0, 0.5, ended=10),
        trial(1, 0.9, ended=30),
        trial(2, 0.2, ended=20),  # ended before trial 1
        trial(3, None, status="FAILED", ended=15),
        trial(4, 0.7, status="RUNNING", ended=0),
    ]
    low = an.best_so_far(trials, "min")
    assert low["trial"].tolist() == [0, 2, 1]
    assert low["best"].tolist() == [0.5, 0.2, 0.2]
    high = an.best_so_far(trials, "max")
    assert high["best"].tolist() == [0.5, 0.5, 0.9]
    assert high["completed"].tolist() == [1, 2, 3]


def test_trial_frame_has_one_row_per_trial_with_hyperparameters_as_columns():
    trials = [
        trial(1, 0.4, learning_rate=0.01, units=32, status="score"),
        trial(0, 0.3, learning_rate=0.001, units=16, hidden_units="32-16", status="COMPLETED"),
        trial(2, None, status="FAILED", learning_rate=0.1, epochs_fixed=3),
    ]
    trials[0]["status"] = "COMPLETED"
    trials[0]["hyperparameters"]["score"] = 7  # a hyperparameter named like a base column
    frame = an.trial_frame(trials, SPACE)
    assert frame["trial"].tolist() == [0, 1, 2]
    assert frame.loc[2, "error"] == "ValueError: boom"
    assert math.isnan(frame.loc[2, "score"])
    assert "epochs_fixed" not in frame.columns  # fixed values carry no information
    assert frame.loc[1, "score (hp)"] == 7 and frame.loc[1, "score"] == 0.4
    assert frame.loc[0, "hidden_units"] == "32-16" and pd.isna(frame.loc[1, "hidden_units"])
    assert frame.columns[:9].tolist() == list(an.BASE_COLUMNS)


def test_parallel_frame_encodes_choices_as_codes_with_labels_and_logs_log_ranges():
    trials = [
        trial(0, 0.3, learning_rate=0.001, units=16, activation="tanh"),
        trial(1, 0.2, learning_rate=0.01, units=64, activation="relu"),
        trial(2, 0.1, learning_rate=0.1, units=32),  # activation inactive (conditional)
        trial(3, None, status="FAILED", learning_rate=1.0, units=16, activation="relu"),
    ]
    frame, dims = an.parallel_frame(trials, SPACE)
    assert len(frame) == 3  # completed trials only
    by = {d["column"]: d for d in dims}
    assert by["learning_rate"]["label"] == "log10 learning_rate"
    assert by["learning_rate"]["values"] == pytest.approx([-3, -2, -1])
    assert "ticktext" not in by["units"]  # numeric choices stay numeric (ordered)
    assert by["units"]["values"] == [16, 64, 32]
    act = by["activation"]
    assert act["ticktext"] == ["relu", "tanh", an.MISSING]  # declared order, then inactive
    assert [act["ticktext"][c] for c in act["values"]] == ["tanh", "relu", an.MISSING]
    assert dims[-1]["column"] == "score" and dims[-1]["values"] == [0.3, 0.2, 0.1]


def test_learning_curves_and_failed_trials_and_summary():
    trials = [trial(0, 0.5), trial(1, None, status="FAILED"), trial(2, 0.4, status="RUNNING")]
    curves = an.learning_curves(trials[0])
    assert set(curves["split"]) == {"training", "validation"}
    assert curves[curves["split"] == "validation"]["value"].tolist() == [1.1, 0.9, 0.5]
    assert [t["trial_id"] for t in an.failed_trials(trials)] == ["t01"]
    s = an.summary(trials, "min")
    assert s["counts"]["COMPLETED"] == 1 and s["counts"]["FAILED"] == 1
    assert s["best"]["trial_id"] == "t00" and s["completed"] == 1 and s["total"] == 3


def test_direction_is_inferred_from_the_objective():
    assert an.resolve_direction("val_accuracy") == "max"
    assert an.resolve_direction("val_loss") == "min"
    assert an.resolve_direction("val_mae") == "min"
    assert an.resolve_direction("val_accuracy", "min") == "min"
    assert an.search_direction({"objective": {"name": "val_auc"}}, []) == "max"
    assert an.search_direction({"objective": "accuracy", "direction": "min"}, []) == "min"
    assert an.search_direction({}, [trial(0, 0.1)]) == "min"


def test_parallel_frame_orders_choices_as_the_space_declares_them():
    space = [{"name": "hidden_units", "kind": "choice", "choices": ["16", "32-16", "128-64-32"]}]
    trials = [
        trial(0, 0.3, hidden_units="128-64-32"),
        trial(1, 0.2, hidden_units="16"),
        trial(2, 0.1, hidden_units="32-16"),
    ]
    _, dims = an.parallel_frame(trials, space)
    assert dims[0]["ticktext"] == ["16", "32-16", "128-64-32"]
    assert dims[0]["values"] == [2, 0, 1]
    assert an.fmt_value(0.0031089211420179527) == "0.003109" and an.fmt_value("32-16") == "32-16"


def test_long_autokeras_names_get_short_unambiguous_labels_and_flat_axes_are_dropped():
    names = [
        "structured_data_block_1/dense_block_1/units_0",
        "structured_data_block_1/dense_block_1/dropout",
        "classification_head_1/dropout",
        "optimizer",
    ]
    assert an.short_names(names) == {
        names[0]: "units_0",
        names[1]: "dense_block_1/dropout",
        names[2]: "classification_head_1/dropout",
        "optimizer": "optimizer",
    }
    trials = [
        trial(0, 0.3, **{names[0]: 32, "optimizer": "adam"}),
        trial(1, 0.2, **{names[0]: 64, "optimizer": "adam"}),
    ]
    _, dims = an.parallel_frame(trials, [])
    assert [d["label"] for d in dims] == ["units_0", "score"]  # optimizer never changed


def test_failed_trials_without_a_message_are_counted_together(tmp_path):
    """Regression: a trial that failed without a message counted as 1 each time ("unknown error"
    never showed "(2x)"), because the count was read back under the missing message's key."""
    import time
    from types import SimpleNamespace

    from core.errors import BadInput
    from core.specs import TuneSpec
    from core.tuning import trials as tr
    from core.tuning.records import result_payload

    spec = TuneSpec(max_failed_trials=1)
    ctx = SimpleNamespace(
        run_dir=tmp_path, spec=spec, direction="max", objective="val_accuracy", space=[],
        model="mlp", task="classification", search_dir=tmp_path / "search", spent_before=0.0,
        started=time.time(), stop_reason="",
    )  # fmt: skip
    for i, error in enumerate(["", None, "OOM"]):
        tr.write_trial(
            tmp_path, {"trial_id": str(i), "number": i, "status": "FAILED", "error": error}
        )
    with pytest.raises(BadInput) as caught:
        result_payload(ctx)
    assert "unknown error (2x)" in str(caught.value) and "OOM" in str(caught.value)
