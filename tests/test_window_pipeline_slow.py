"""Windows gathered by the tf.data pipeline are exactly the preview's windows, whether an epoch
is gathered in one go (small enough) or batch by batch (beyond EPOCH_BYTES)."""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("at_once", [True, False])
def test_window_dataset_matches_make_windows(monkeypatch, at_once):
    from core.data import pipelines
    from core.data.windows import WindowSpec, make_windows, window_starts

    if not at_once:
        monkeypatch.setattr(pipelines, "EPOCH_BYTES", 1)
    rng = np.random.default_rng(0)
    values = rng.normal(size=(300, 3)).astype("float32")
    targets = values[:, :1]
    spec = WindowSpec(input_width=7, horizon=2, stride=2, targets=("a",), features=())
    starts = window_starts(len(values), spec)
    wx, wy = make_windows(values, targets, starts, spec)

    plain = pipelines.window_dataset(values, targets, starts, spec, 16)
    x = np.concatenate([b[0].numpy() for b in plain])
    y = np.concatenate([b[1].numpy() for b in plain])
    np.testing.assert_array_equal(x, wx)
    np.testing.assert_array_equal(y, wy)

    shuffled = pipelines.window_dataset(values, targets, starts, spec, 16, shuffle=True, seed=3)
    epochs = []
    for _ in range(2):
        batches = list(shuffled)
        assert [len(b[0]) for b in batches] == [16] * (len(starts) // 16) + (
            [len(starts) % 16] if len(starts) % 16 else []
        )
        sx = np.concatenate([b[0].numpy() for b in batches])
        # every window exactly once per epoch, in a new order each epoch
        key = sx[:, 0, 0]
        np.testing.assert_array_equal(np.sort(key), np.sort(wx[:, 0, 0]))
        epochs.append(key)
    assert not np.array_equal(epochs[0], epochs[1])
