"""Sliding windows over a time series, as index arithmetic (numpy only).

The Data page previews windows with these indices and the tf.data pipeline gathers with the very
same ones, so what the user sees is what the model is trained on.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from core.errors import BadInput


@dataclass(frozen=True)
class WindowSpec:
    """`input_width` past steps predict `horizon` steps ahead; a new window every `stride`.

    Args:
        input_width: number of past time steps the model sees.
        horizon: number of future steps to predict (1 = the next step).
        stride: steps between the starts of consecutive windows.
        targets: columns to predict.
        features: extra input columns (the targets' past values are always inputs).
    """

    input_width: int = 24
    horizon: int = 1
    stride: int = 1
    targets: tuple[str, ...] = ()
    features: tuple[str, ...] = ()

    @property
    def total_width(self) -> int:
        return self.input_width + self.horizon

    @property
    def input_columns(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys((*self.targets, *self.features)))

    def to_dict(self) -> dict:
        return asdict(self)


def window_starts(n_rows: int, spec: WindowSpec) -> np.ndarray:
    """Start index of every complete window in a series of `n_rows` steps."""
    if spec.input_width < 1 or spec.horizon < 1 or spec.stride < 1:
        raise BadInput("input width, horizon and stride must each be at least 1")
    last = n_rows - spec.total_width
    if last < 0:
        raise BadInput(
            f"the series has {n_rows} steps, fewer than one window needs "
            f"({spec.input_width} in + {spec.horizon} ahead): shorten the window"
        )
    return np.arange(0, last + 1, spec.stride)


def make_windows(
    values: np.ndarray, targets: np.ndarray, starts: np.ndarray, spec: WindowSpec
) -> tuple[np.ndarray, np.ndarray]:
    """Inputs (n, input_width, n_inputs) and labels (n, horizon, n_targets) for `starts`."""
    offsets_in = np.arange(spec.input_width)
    offsets_out = spec.input_width + np.arange(spec.horizon)
    x = values[starts[:, None] + offsets_in]
    y = targets[starts[:, None] + offsets_out]
    return x, y
