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
