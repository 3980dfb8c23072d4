"""Forecasts a practitioner compares with first (#30): the last value, the value one season ago
(seasonal naive) and exponential smoothing (additive Holt-Winters with a damped trend), made
from the same test windows' origins as the network's. numpy only, TF-free.
"""

from __future__ import annotations

import itertools

import numpy as np

# Candidate seasons a series' own autocorrelation must confirm (hours, days, weeks, months...).
SEASON_CANDIDATES = (4, 5, 7, 12, 24, 52, 168, 365)
MIN_SEASON_ACF = 0.3
# Smoothing parameters tried on the training part (one-step squared error), and the damping.
ALPHAS = (0.1, 0.3, 0.5, 0.8)
BETAS = (0.0, 0.05, 0.2)
GAMMAS = (0.05, 0.2, 0.5)
PHI = 0.98
FIT_TAIL = 5000  # the newest training steps the smoothing parameters are chosen on


def detect_season(train: np.ndarray) -> int:
    """The season length of a 1-D series from its training part: the candidate lag whose
    autocorrelation of the step-to-step changes is highest and at least MIN_SEASON_ACF; 0 if
    none (two full seasons must fit in the training part)."""
    x = np.diff(np.asarray(train, "float64"))
    x = x - x.mean()
    denom = float((x * x).sum())
    if denom <= 0:
        return 0
    best, best_acf = 0, MIN_SEASON_ACF
    for lag in SEASON_CANDIDATES:
        if 2 * lag >= len(x):
            continue
        acf = float((x[lag:] * x[:-lag]).sum() / denom)
        if acf >= best_acf:
            best, best_acf = lag, acf
    return best


def seasonal_naive(series: np.ndarray, origins: np.ndarray, horizon: int, m: int) -> np.ndarray:
    """(windows, horizon): for origin T (last observed step), step h predicts y[T+h-m*k] with
    the smallest k that reaches back into observed steps."""
    out = np.empty((len(origins), horizon))
    for h in range(1, horizon + 1):
        k = (h - 1) // m + 1
        out[:, h - 1] = series[np.maximum(origins + h - m * k, 0)]
    return out


def _smooth(y: np.ndarray, m: int, alpha: float, beta: float, gamma: float, keep: bool = True):
    """Run additive damped Holt-Winters over y: per-step level, trend and seasonal states
    (after each step, when `keep`) and the one-step squared error."""
    n = len(y)
    m = max(m, 1)
    level = float(y[: m if m > 1 else 1].mean())
    trend = 0.0
    season = np.zeros(m)
    if m > 1:
        season[:] = y[:m] - level
    shape = n if keep else 0
    levels, trends, seasons = np.empty(shape), np.empty(shape), np.empty((shape, m))
    sse = 0.0
    for t in range(n):
        s = season[t % m] if m > 1 else 0.0
        forecast = level + PHI * trend + s
        err = y[t] - forecast
        if t >= m:
            sse += err * err
        new_level = alpha * (y[t] - s) + (1 - alpha) * (level + PHI * trend)
        trend = beta * (new_level - level) + (1 - beta) * PHI * trend
        if m > 1:
            season[t % m] = gamma * (y[t] - new_level) + (1 - gamma) * s
        level = new_level
        if keep:
            levels[t], trends[t], seasons[t] = level, trend, season
    return levels, trends, seasons, sse


def exponential_smoothing(
    series: np.ndarray, fit_end: int, origins: np.ndarray, horizon: int, m: int
) -> np.ndarray:
    """(windows, horizon) forecasts from each origin; parameters chosen on series[:fit_end]."""
    y = np.asarray(series, "float64")
    start = max(0, fit_end - FIT_TAIL)
    fit = y[start:fit_end]
    gammas = GAMMAS if m > 1 else (0.0,)
    best = min(
        itertools.product(ALPHAS, BETAS, gammas),
        key=lambda p: _smooth(fit, m, p[0], p[1], p[2], keep=False)[3],
    )
    levels, trends, seasons, _ = _smooth(y[start:], m, *best)
    out = np.empty((len(origins), horizon))
    damp = np.cumsum(PHI ** np.arange(1, horizon + 1))
    for i, origin in enumerate(origins - start):
        seasonal = np.zeros(horizon)
        if m > 1:
            seasonal = seasons[origin][(origin + np.arange(1, horizon + 1)) % m]
        out[i] = levels[origin] + damp * trends[origin] + seasonal
    return out


def series_baselines(
    values: np.ndarray,
    target_idx: list[int],
    starts: np.ndarray,
    input_width: int,
    horizon: int,
    fit_end: int,
) -> tuple[dict[str, np.ndarray], dict[str, int]]:
    """Each baseline's test forecasts shaped like the network's (windows, horizon, targets),
    and the season found for each target (0: none)."""
    origins = np.asarray(starts) + input_width - 1
    seasonal, smooth, seasons = [], [], {}
    for j in target_idx:
        y = np.asarray(values[:, j], "float64")
        m = detect_season(y[:fit_end])
        seasons[str(j)] = m
        if m:
            seasonal.append(seasonal_naive(y, origins, horizon, m))
        smooth.append(exponential_smoothing(y, fit_end, origins, horizon, m))
    out = {"exponential smoothing": np.stack(smooth, axis=-1)}
    if len(seasonal) == len(target_idx):
        out["seasonal naive"] = np.stack(seasonal, axis=-1)
    return out, seasons


def mase_scale(train: np.ndarray, m: int) -> float:
    """MASE's denominator: the in-sample MAE of the (seasonal) naive one-step forecast on the
    training part."""
    lag = m if m and len(train) > m else 1
    diffs = np.abs(np.asarray(train, "float64")[lag:] - np.asarray(train, "float64")[:-lag])
    return float(diffs.mean()) if len(diffs) else 0.0
