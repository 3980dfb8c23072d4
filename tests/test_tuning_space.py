"""Search spaces and tune specs, checked before any run starts (no TensorFlow)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from core.errors import BadInput
from core.runs.status import RunStatus
from core.specs import TrainSpec, TuneSpec
from core.tuning.promote import promote_spec
from core.tuning.space import (
    check_objective,
    check_tune_spec,
    decode_value,
    decode_values,
    default_space,
    validate_space,
)
from tests.conftest import REPO, tfstudio


def test_default_space_encodes_tuple_choices_and_decodes_them_back():
    space = default_space("mlp")
    by_name = {s["name"]: s for s in space}
    assert by_name["hidden_units"]["choices"] == ["16", "32-16", "64-32", "128-64-32"]
    assert by_name["hidden_units"]["default"] == "32-16"
    assert by_name["learning_rate"]["log"] is True and by_name["learning_rate"]["low"] == 1e-4
    assert by_name["dropout"]["step"] == 0.1 and by_name["dropout"]["high"] == 0.5
    assert validate_space([], "mlp") == validate_space(space, "mlp")
    assert decode_values({"hidden_units": "64-32", "dropout": 0.1, "tuner/epochs": 3}, "mlp") == {
        "hidden_units": (64, 32),
        "dropout": 0.1,
    }
    assert decode_value("16", True) == (16,)
    # A user may write layer widths as lists in JSON.
    checked = validate_space(
        [{"name": "hidden_units", "kind": "choice", "choices": [[8], [8, 4]]}], "mlp"
    )
    assert checked[0]["choices"] == ["8", "8-4"]


@pytest.mark.parametrize(
    "space, message",
    [
        (
            [{"name": "dropout", "kind": "float", "low": 0.5, "high": 0.1}],
            "min 0.5 is larger than max 0.1",
        ),
        (
            [{"name": "dropout", "kind": "float", "low": 0, "high": 0.5, "step": 0}],
            "step must be above 0",
        ),
        (
            [{"name": "dropout", "kind": "float", "low": 0, "high": 0.5, "step": -1}],
            "step must be above 0",
        ),
        (
            [{"name": "dropout", "kind": "float", "low": 0, "high": 0.5, "step": 2}],
            "larger than the range",
        ),
        ([{"name": "hidden_units", "kind": "choice", "choices": []}], "at least one value"),
        ([{"name": "hidden_units", "kind": "choice"}], "at least one value"),
        ([{"name": "dropout", "kind": "gaussian", "low": 0, "high": 1}], "unknown kind 'gaussian'"),
        (
            [
                {"name": "dropout", "kind": "float", "low": 0, "high": 0.5},
                {"name": "dropout", "kind": "float", "low": 0, "high": 0.3},
            ],
            "appears twice",
        ),
        (
            [{"name": "layers", "kind": "int", "low": 1, "high": 3}],
            "has no hyperparameter 'layers'",
        ),
        (
            [{"name": "learning_rate", "kind": "float", "low": 0, "high": 0.1, "log": True}],
            "log sampling",
        ),
        (
            [
                {
                    "name": "dropout",
                    "kind": "float",
                    "low": 0,
                    "high": 0.5,
                    "parent": {"name": "hidden_units", "values": ["16"]},
                }
            ],
            "not in the search space",
        ),
        (
            [
                {"name": "hidden_units", "kind": "choice", "choices": ["16", "32-16"]},
                {
                    "name": "dropout",
                    "kind": "float",
                    "low": 0,
                    "high": 0.5,
                    "parent": {"name": "hidden_units", "values": ["64"]},
                },
            ],
            "cannot take",
        ),
        ([{"name": "dropout", "kind": "choice", "choices": [0.1, "x"]}], "not a mix"),
        ([{"name": "dropout", "kind": "float", "low": 0, "high": 0.5, "default": 0.9}], "outside"),
        ([{"name": "dropout", "kind": "fixed"}], "needs a value"),
        (
            [
                {
                    "name": "learning_rate",
                    "kind": "float",
                    "low": 1e-4,
                    "high": 0.1,
                    "log": True,
                    "step": 0.5,
                }
            ],
            "step multiplies",
        ),
        ([{"name": "hidden_units", "kind": "choice", "choices": ["8", "0-4"]}], "at least 1"),
        ([{"name": "dropout", "kind": "float", "low": "a", "high": 0.5}], "must be a number"),
    ],
)
def test_bad_spaces_are_refused_with_a_clear_message(space, message):
    with pytest.raises(BadInput, match=message):
        validate_space(space, "mlp")


def test_conditional_children_come_after_their_parent():
    space = validate_space(
        [
            {
                "name": "dropout",
                "kind": "float",
                "low": 0,
                "high": 0.5,
                "parent": {"name": "hidden_units", "values": [[64, 32]]},
            },
            {"name": "hidden_units", "kind": "choice", "choices": ["16", "64-32"]},
        ],
        "mlp",
    )
    assert [s["name"] for s in space] == ["hidden_units", "dropout"]
    assert space[1]["parent"] == {"name": "hidden_units", "values": ["64-32"]}


def test_objective_must_be_a_logged_metric():
    assert check_objective("val_accuracy", "", "classification") == ("val_accuracy", "max")
    assert check_objective("val_loss", "", "regression") == ("val_loss", "min")
    with pytest.raises(
        BadInput, match="never logged.*it logs: loss, accuracy, val_loss, val_accuracy"
    ):
        check_objective("val_auc", "", "classification")
    with pytest.raises(BadInput, match="val_mae"):
        check_objective("val_accuracy", "", "regression")
    with pytest.raises(BadInput, match="min or max"):
        check_objective("val_loss", "up", "regression")


def test_check_tune_spec_refuses_bad_settings(ws):
    base = TrainSpec(data="sample:iris", target="species", epochs=2).to_dict()
    planned, space, objective, direction = check_tune_spec(TuneSpec(base=base, tuner="grid"), ws)
    assert planned.model == "mlp" and len(space) == 3 and direction == "min"
    for bad, message in [
        (dict(tuner="annealing"), "unknown tuner"),
        (dict(max_trials=0), "max trials must be at least 1"),
        (dict(objective="val_mae"), "never logged"),
        (
            dict(space=({"name": "dropout", "kind": "float", "low": 1, "high": 0},)),
            "larger than max",
        ),
        (dict(base={**base, "target": "nope"}), "no column 'nope'"),
        (dict(hyperband_factor=1), "reduction factor"),
    ]:
        with pytest.raises(BadInput, match=message):
            check_tune_spec(TuneSpec(**{"base": base, "tuner": "hyperband", **bad}), ws)


def test_cli_refuses_a_bad_search_before_starting_a_run(ws, tmp_path):
    space = tmp_path / "space.json"
    space.write_text(json.dumps([{"name": "dropout", "kind": "float", "low": 0.4, "high": 0.1}]))
    args = [
        "tune",
        "--data",
        "sample:iris",
        "--target",
        "species",
        "--max-trials",
        "2",
        "--home",
        str(ws.root),
    ]
    r = tfstudio(*args, "--space", str(space), "--json")
    assert r.returncode == 2 and "min 0.4 is larger than max 0.1" in r.stderr
    r = tfstudio(*args, "--objective", "val_precision", "--json")
    assert r.returncode == 2 and "it logs: loss, accuracy, val_loss, val_accuracy" in r.stderr
    space.write_text("[]")
    r = tfstudio(*args, "--space", str(space), "--model", "cnn")
    assert r.returncode == 2 and "model 'cnn' takes image input" in r.stderr
    from core.runs.store import RunStore

    assert RunStore(ws.db_path).list_runs() == []


def test_promote_spec_takes_the_best_trial_and_refuses_unfinished_searches(store):
    base = TrainSpec(data="sample:iris", target="species", epochs=3, learning_rate=0.05)
    run = store.create_run("tune", TuneSpec(base=base.to_dict()).to_dict())
    with pytest.raises(BadInput, match="only a finished search"):
        promote_spec(store.get_run(run.id))
    store.set_status(run.id, RunStatus.RUNNING)
    store.finish_run(
        run.id,
        {
            "model": "mlp",
            "task": "classification",
            "best": {
                "trial_id": "2",
                "score": 0.93,
                "hyperparameters": {"hidden_units": "64-32", "learning_rate": 0.003},
            },
        },
    )
    spec = promote_spec(store.get_run(run.id))
    assert spec.fit_on_validation and spec.model == "mlp" and spec.task == "classification"
    assert spec.hidden_units == (64, 32) and spec.learning_rate == 0.003
    assert spec.hyperparameters == {"hidden_units": (64, 32), "learning_rate": 0.003}
    assert spec.epochs == 3 and spec.target == "species"
    empty = store.create_run("tune", TuneSpec(base=base.to_dict()).to_dict())
    store.set_status(empty.id, RunStatus.RUNNING)
    store.finish_run(empty.id, {"best": None})
    with pytest.raises(BadInput, match="no completed trial"):
        promote_spec(store.get_run(empty.id))


def test_space_module_imports_no_tensorflow():
    code = (
        "import sys, core.tuning.space, core.tuning.promote, core.tuning.trials;"
        "bad=[m for m in ('tensorflow','keras','keras_tuner') if m in sys.modules];"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    r = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
