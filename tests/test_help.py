"""Help texts: one for every choice the app offers, shown on the controls (AppTest)."""

from __future__ import annotations

import pytest

from core.help import HELP, choice_help, help_text
from core.specs import AUTOML_TUNERS, COMPRESS_METHODS, EXPORT_FORMATS, TUNERS
from tests.test_pages import open_page


@pytest.mark.parametrize(
    ("prefix", "choices"),
    [
        ("compress", COMPRESS_METHODS),
        ("tuner", TUNERS),
        ("tuner", [t for t in AUTOML_TUNERS if t != "bayesian" and t != "hyperband"]),
        ("export", EXPORT_FORMATS),
        ("drift", ("psi", "ks", "linf")),
    ],
)
def test_every_choice_has_its_own_explanation(prefix, choices):
    text = choice_help(prefix, choices)
    for choice in choices:
        assert f"**{choice}**: {HELP[f'{prefix}.{choice}']}" in text


def test_unknown_key_fails_loudly():
    with pytest.raises(KeyError):
        help_text("epochz")


def test_train_controls_carry_the_shared_help(ws):
    at = open_page("train")
    assert not at.exception, at.exception
    helps = {w.label: w.help for w in at.number_input}
    assert helps["Epochs"] == HELP["epochs"]
    assert helps["Early stopping patience (0 = off)"] == HELP["early_stopping"]
    assert {w.label: w.help for w in at.selectbox}["Learning-rate schedule"] == HELP["schedule"]


def test_tune_page_explains_each_tuner(ws):
    at = open_page("tune")
    assert not at.exception, at.exception
    tuner = next(w for w in at.selectbox if w.label == "Tuner")
    assert "Hyperband: trains many trials for a few epochs" in tuner.help


def test_every_control_a_newcomer_decides_on_has_help(ws):
    """The choices of what to train and how: target, model, seed, search engine, profiler
    knobs (each one's text from core.help, so the CLI and the docs can quote the same)."""
    at = open_page("train")
    assert not at.exception, at.exception
    boxes = {w.label: w.help for w in at.selectbox}
    assert boxes["Column to predict (target)"] == HELP["target"]
    assert boxes["Model"] == HELP["model"]
    assert {w.label: w.help for w in at.number_input}["Seed"] == HELP["seed"]
    assert {w.label: w.help for w in at.multiselect}[
        "Bucketize (Discretization into quantile bins instead of Normalization)"
    ] == HELP["bucketize"]
    at = open_page("tune")
    assert {w.label: w.help for w in at.radio}["Engine"] == HELP["engine"]
    assert {w.label: w.help for w in at.number_input}["Batch size"] == HELP["batch_size"]
