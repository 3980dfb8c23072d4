"""One source for every CLI default and choice list: the spec fields and the catalog (no TF)."""

from __future__ import annotations

import argparse
import dataclasses
import pathlib

import pytest

from core import specs
from core.cli import cmd_compress, cmd_data, cmd_export, cmd_train
from core.cli.main import build_parser
from core.models.catalog import default_hp
from core.specs import CompressSpec, ExportSpec, TrainSpec, field_default
from core.training.build import learning_rate_for


def _parse(*argv: str):
    return build_parser().parse_args(list(argv))


def _choices(command: str, option: str) -> tuple:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    action = next(a for a in sub.choices[command]._actions if option in a.option_strings)
    return tuple(action.choices)


@pytest.mark.parametrize("model, rate", [("cnn", 0.001), ("lstm", 0.003), ("mlp", 0.003)])
def test_train_without_a_rate_uses_the_catalog_default(model, rate):
    # Regression: `tfstudio train` used to send 0.01 whatever the model.
    args = _parse("train", "--data", "sample:iris", "--model", model)
    spec = cmd_train.spec_from_args(args)
    assert spec.learning_rate == 0.0
    assert default_hp(model)["learning_rate"] == rate
    assert learning_rate_for(spec, model) == rate


def test_an_explicit_rate_wins_over_the_catalog():
    args = _parse("train", "--data", "sample:iris", "--model", "cnn", "--learning-rate", "0.02")
    assert learning_rate_for(cmd_train.spec_from_args(args), "cnn") == 0.02


def test_train_defaults_equal_the_spec_defaults():
    spec = cmd_train.spec_from_args(_parse("train", "--data", "sample:iris"))
    expected = TrainSpec(data="sample:iris")
    for f in dataclasses.fields(TrainSpec):
        assert getattr(spec, f.name) == getattr(expected, f.name), f.name
    assert spec.epochs == 100 and spec.early_stopping == 10 and spec.refit


def test_no_refit_and_split_shares_reach_the_spec():
    args = _parse(
        "train", "--data", "sample:iris", "--no-refit", "--validation-fraction", "0.1",
        "--test-fraction", "0.3",
    )  # fmt: skip
    spec = cmd_train.spec_from_args(args)
    assert (spec.refit, spec.validation_fraction, spec.test_fraction) == (False, 0.1, 0.3)


def test_train_choice_lists_come_from_the_specs():
    assert _choices("train", "--task") == specs.TASKS
    assert _choices("train", "--split") == specs.SPLITS
    assert _choices("train", "--optimizer") == specs.OPTIMIZERS
    assert _choices("train", "--schedule") == specs.SCHEDULES
    assert _choices("train", "--class-weights") == specs.CLASS_WEIGHTS
    assert _choices("train", "--strategy") == specs.STRATEGIES


def test_train_page_reads_the_spec_defaults_and_lists(ws):
    # The page shows the same starting numbers as the CLI (it once started at 30 epochs and
    # patience 10 against the spec's 20 and 0): read off the rendered page.
    from tests.test_pages import open_page

    at = open_page("train")
    assert not at.exception, at.exception
    for key, field in (("epochs", "epochs"), ("patience", "early_stopping"), ("seed", "seed"),
                       ("batch", "batch_size"), ("validation_fraction", "validation_fraction"),
                       ("test_fraction", "test_fraction")):  # fmt: skip
        assert at.number_input(key=f"train-{key}").value == field_default(TrainSpec, field)
    assert at.checkbox(key="train-refit").value == field_default(TrainSpec, "refit")
    source = pathlib.Path("pages/train.py").read_text()
    for name in ("SPLITS", "OPTIMIZERS", "SCHEDULES", "CLASS_WEIGHTS", "STRATEGIES"):
        assert f"list({name})" in source
    assert '"rmsprop"' not in source and '"multiworker"]' not in source


def test_export_and_compress_defaults_come_from_their_specs():
    args = _parse("export", "r1", "--format", "c-array", "--out", "x")
    spec = cmd_export.spec_from_args(args)
    assert spec == ExportSpec(source_run="r1", format="micro")
    assert _choices("export", "--quantize") == ("none", "uint8", "float16")
    args = _parse("compress", "r1", "--method", "prune")
    assert cmd_compress.spec_from_args(args) == CompressSpec(source_run="r1", method="prune")


def test_data_import_kinds_match_the_dataset_kinds():
    from core.data.datasets import KINDS

    assert cmd_data.IMPORT_KINDS == ("auto", *KINDS)
    args = _parse("data", "import", "f.csv", "--kind", "timeseries")
    assert args.kind == "timeseries"


def test_field_default_and_unknown_field():
    assert field_default(TrainSpec, "hyperparameters") == {}
    assert field_default(CompressSpec, "sparsity") == 0.8
    with pytest.raises(KeyError):
        field_default(TrainSpec, "nope")


def test_every_command_lives_in_a_command_module():
    source = pathlib.Path("core/cli/main.py").read_text()
    assert "def cmd_" not in source and "add_parser(" not in source
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    expected = {"app", "automl", "compress", "data", "datasets", "export", "models"}
    expected |= {"pipeline", "profile", "registry", "runs", "serve", "train", "tune"}
    assert expected <= set(sub.choices)


def test_the_readme_quotes_the_training_defaults_of_the_spec():
    readme = pathlib.Path("README.md").read_text()
    epochs, patience = (field_default(TrainSpec, f) for f in ("epochs", "early_stopping"))
    assert f"trains up to {epochs} epochs with early stopping (patience {patience}" in readme
