"""Windows gathered by the tf.data pipeline are exactly the preview's windows, whether an epoch
is gathered in one go (small enough), batch by batch, or in chunks of whole batches (beyond
EPOCH_BYTES); chunks serve the very batches, in the same order, that one gather per batch does."""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.slow


ROW_BYTES = 4 * (7 * 3 + 2 * 1)  # the spec below: 7 steps of 3 features in, 2 of 1 target out


@pytest.mark.parametrize("mode", ["at_once", "per_batch", "chunked"])
def test_window_dataset_matches_make_windows(monkeypatch, mode):
    from core.data import pipelines
    from core.data.windows import WindowSpec, make_windows, window_starts

    if mode != "at_once":
        monkeypatch.setattr(pipelines, "EPOCH_BYTES", 1)
        # 3 batches of 16 per chunk (with a partial chunk and a partial batch at the end), or 1
        monkeypatch.setattr(
            pipelines, "CHUNK_BYTES", 3 * 16 * ROW_BYTES if mode == "chunked" else 1
        )
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


@pytest.mark.parametrize("windows", [146, 96])  # a partial chunk and batch at the end, or none
def test_chunked_windows_are_the_per_batch_windows(monkeypatch, windows):
    from core.data import pipelines
    from core.data.windows import WindowSpec, window_starts

    rng = np.random.default_rng(1)
    spec = WindowSpec(input_width=7, horizon=2, stride=2, targets=("a",), features=())
    values = rng.normal(size=(300, 3)).astype("float32")
    starts = window_starts(len(values), spec)[:windows]
    monkeypatch.setattr(pipelines, "EPOCH_BYTES", 1)

    def epochs(chunk_bytes):
        monkeypatch.setattr(pipelines, "CHUNK_BYTES", chunk_bytes)
        ds = pipelines.window_dataset(values, values[:, :1], starts, spec, 16, shuffle=True, seed=5)
        assert ds.element_spec[0].shape.as_list() == [None, 7, 3]
        return [[(x.numpy(), y.numpy()) for x, y in ds] for _ in range(2)]

    per_batch, chunked = epochs(1), epochs(3 * 16 * ROW_BYTES)
    assert len(per_batch[0]) == len(chunked[0]) == -(-windows // 16)
    for one, other in zip(per_batch, chunked, strict=True):
        for (x1, y1), (x2, y2) in zip(one, other, strict=True):
            np.testing.assert_array_equal(x1, x2)
            np.testing.assert_array_equal(y1, y2)
