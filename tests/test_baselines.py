"""The baselines beside every result (#30): scores, intervals, sentences, flags, series."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.metrics import f1_score

from core.training.baselines import (
    BaselineData,
    chance_flag,
    compare,
    fit_predict,
    macro_f1_resamples,
    sentence,
)
from core.training.series_baselines import (
    detect_season,
    exponential_smoothing,
    mase_scale,
    seasonal_naive,
)


def test_macro_f1_matches_scikit_learn_on_every_resample():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 3, 200)
    pred = np.where(rng.random(200) < 0.6, y, rng.integers(0, 3, 200))
    idx = rng.integers(0, 200, (20, 200))
    ours = macro_f1_resamples(y, pred, idx, 3)
    theirs = [
        f1_score(y[i], pred[i], labels=range(3), average="macro", zero_division=0) for i in idx
    ]
    np.testing.assert_allclose(ours, theirs)


def _table(frame: pd.DataFrame, target: str, categorical=()):
    numeric = [c for c in frame.columns if c != target and c not in categorical]
    train, test = frame.iloc[::2], frame.iloc[1::2]
    return BaselineData(
        "table", train, train[target].to_numpy(), test, numeric, list(categorical)
    ), test[target].to_numpy()


def test_table_baselines_fit_with_missing_values_and_categories():
    data = load_breast_cancer(as_frame=True).frame
    data.loc[::7, "mean radius"] = np.nan
    data["band"] = np.where(data["mean area"] > 600, "large", "small")
    data.loc[::11, "band"] = np.nan
    baseline, y_test = _table(data, "target", categorical=("band",))
    predictions, failed = fit_predict(baseline, "classification")
    assert failed == {}
    assert set(predictions) == {"logistic regression", "gradient-boosted trees"}
    for probs in predictions.values():
        assert probs.shape == (len(y_test), 2)
        assert (probs.argmax(1) == y_test).mean() > 0.9


def test_a_worse_network_loses_plainly_and_a_better_one_wins():
    data = load_diabetes(as_frame=True).frame
    baseline, y_test = _table(data, "target")
    predictions, _ = fit_predict(baseline, "regression")
    noise = np.random.default_rng(0).normal(0, 80, len(y_test))
    worse = compare("regression", y_test, y_test + noise, predictions)
    assert worse["verdict"] == "linear regression" and worse["difference"]["high"] < 0
    assert sentence(worse).startswith("Linear regression scores R²")
    assert "here linear regression is the better choice" in sentence(worse)
    better = compare("regression", y_test, y_test + noise / 20, predictions)
    assert better["verdict"] == "network" and better["difference"]["low"] > 0
    assert "the network is the better choice" in sentence(better)
    for side in ("network", *better["baselines"].values()):
        score = better["network"] if side == "network" else side
        assert score["low"] <= score["value"] <= score["high"]


def test_text_baseline_is_tfidf_with_logistic_regression_on_any_unicode():
    texts = ["it’s great 😀", "awful — don’t", "素晴らしい film", "最悪 film", "très bien", "nul"]
    y = np.array([1, 0, 1, 0, 1, 0])
    data = BaselineData("text", texts * 5, np.tile(y, 5), ["great 😀 film", "awful 最悪"])
    predictions, failed = fit_predict(data, "text-classification")
    assert failed == {}
    assert predictions["TF-IDF + logistic regression"].argmax(1).tolist() == [1, 0]


@pytest.mark.parametrize(
    ("predicted", "words"),
    [([0] * 10, "one class for every test example"), ([0] * 8 + [1, 0], "no better than always")],
)
def test_a_classifier_at_chance_is_flagged(predicted, words):
    y_test = np.array([0] * 9 + [1])
    probs = np.eye(2)[np.array(predicted)]
    flag = chance_flag("classification", y_test, probs, y_train=np.array([0, 0, 0, 1]))
    assert words in flag


def test_a_classifier_above_chance_is_not_flagged():
    y = np.array([0, 1, 0, 1, 2, 2])
    assert chance_flag("classification", y, np.eye(3)[y], y) == ""


def test_season_is_found_from_autocorrelation_and_absent_in_noise():
    t = np.arange(400)
    rng = np.random.default_rng(0)
    assert detect_season(np.sin(2 * np.pi * t / 12) + rng.normal(0, 0.1, 400)) == 12
    assert detect_season(np.sin(2 * np.pi * t / 24) + rng.normal(0, 0.1, 400)) == 24
    assert detect_season(np.cumsum(rng.normal(0, 1, 400))) == 0


def test_seasonal_naive_and_smoothing_forecast_from_each_origin():
    t = np.arange(240)
    y = 5 + np.sin(2 * np.pi * t / 12) + 0.02 * t
    origins = np.array([200, 210])
    naive = seasonal_naive(y, origins, horizon=3, m=12)
    np.testing.assert_allclose(naive[0], y[[201 - 12, 202 - 12, 203 - 12]])
    smooth = exponential_smoothing(y, 180, origins, 3, 12)
    truth = np.stack([y[o + 1 : o + 4] for o in origins])
    assert np.abs(smooth - truth).mean() < np.abs(naive - truth).mean()
    assert mase_scale(y[:180], 12) == pytest.approx(0.24)
