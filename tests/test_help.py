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


def test_tune_page_explains_each_tuner(ws):
    at = open_page("tune")
    assert not at.exception, at.exception
    tuner = next(w for w in at.selectbox if w.label == "Tuner")
    assert "Hyperband: trains many trials for a few epochs" in tuner.help


# The controls that show a shared help text (core.help), by page: (widget, label) -> its key.
SHARED_HELP = {
    "train": {
        ("number_input", "Epochs"): "epochs",
        ("number_input", "Early stopping patience (0 = off)"): "early_stopping",
        ("selectbox", "Learning-rate schedule"): "schedule",
        ("selectbox", "Column to predict (target)"): "target",
        ("selectbox", "Model"): "model",
        ("number_input", "Seed"): "seed",
        (
            "multiselect",
            "Bucketize (Discretization into quantile bins instead of Normalization)",
        ): "bucketize",
    },
    "tune": {("radio", "Engine"): "engine", ("number_input", "Batch size"): "batch_size"},
}


@pytest.mark.parametrize("page", list(SHARED_HELP))
def test_every_control_a_newcomer_decides_on_has_help(ws, page):
    """The choices of what to train and how: target, model, seed, search engine, profiler
    knobs (each one's text from core.help, so the CLI and the docs can quote the same)."""
    at = open_page(page)
    assert not at.exception, at.exception
    for (widget, label), key in SHARED_HELP[page].items():
        assert {w.label: w.help for w in getattr(at, widget)}[label] == HELP[key], label
