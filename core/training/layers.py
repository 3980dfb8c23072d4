"""Custom Keras layers that saved models need; import this module before loading a `.keras` file."""

from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="tfstudio")
class FillMissing(keras.layers.Layer):
    """Replace NaN with a constant (the training mean), so raw rows with gaps can be served.

    Written as `x != x` rather than `isnan` so that it converts to TFLite builtin ops.
    """

    def __init__(self, value: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        self.value = float(value)

    def call(self, x):
        return ops.where(ops.not_equal(x, x), ops.full_like(x, self.value), x)

    def get_config(self):
        return {**super().get_config(), "value": self.value}


@keras.saving.register_keras_serializable(package="tfstudio")
class LogScale(keras.layers.Layer):
    """log(1 + x) of a skewed non-negative column (prices, populations, counts), so a few huge
    values do not squash the rest after normalisation. Values below 0, unseen in training, count
    as 0. Maximum, add and log: builtin ops in TFLite and kernels in TF.js."""

    def call(self, x):
        return ops.log(ops.add(ops.maximum(x, 0.0), 1.0))


class LastValueConfig:
    """The arguments and config of the last-value skip, shared by the Keras 3 layer below and
    its tf_keras twin in core.compression.tfmot_bridge (mixed in before the framework's Layer),
    so the two always read and write the same config."""

    def __init__(self, indices, mean, std, horizon: int, season: int = 0, **kwargs):
        super().__init__(**kwargs)
        self.indices = [int(i) for i in indices]
        self.mean = [float(v) for v in mean]
        self.std = [float(v) for v in std]
        self.horizon = int(horizon)
        self.season = int(season)  # 0: the last value; m: the value one season (m steps) ago

    def get_config(self):
        return {
            **super().get_config(),  # type: ignore[misc]
            "indices": self.indices,
            "mean": self.mean,
            "std": self.std,
            "horizon": self.horizon,
            "season": self.season,
        }

    def steps(self, width: int) -> list[int]:
        """The window position each horizon step starts from: the last one, or for a seasonal
        series the same phase one season earlier (needs a window of at least one season)."""
        if not self.season:
            return [width - 1] * self.horizon
        return [width - self.season + h % self.season for h in range(self.horizon)]


@keras.saving.register_keras_serializable(package="tfstudio")
class LastValue(LastValueConfig, keras.layers.Layer):
    """The last input step of the target columns, in target units, repeated over the horizon;
    for a seasonal series (`season`), the value one season before each step ahead.

    A forecaster adds its prediction to this, so it learns the change from the last value seen
    (or from the seasonal naive forecast): it starts out as good as that naive forecast and
    trending series do not leave its range.
    Takes the normalised window; `mean`/`std` undo the Normalization for the target columns.
    """

    def call(self, window):
        if self.season:
            picked = ops.take(window, self.steps(int(window.shape[1])), axis=1)
            values = ops.take(picked, self.indices, axis=-1)
            return values * ops.convert_to_tensor(self.std) + ops.convert_to_tensor(self.mean)
        last = ops.take(window[:, -1, :], self.indices, axis=-1)
        last = last * ops.convert_to_tensor(self.std) + ops.convert_to_tensor(self.mean)
        return ops.repeat(ops.expand_dims(last, 1), self.horizon, axis=1)


@keras.saving.register_keras_serializable(package="tfstudio")
class ImagePreprocess(keras.layers.Layer):
    """Scale 0-255 RGB the way a backbone was trained: "unit" -> [0, 1], "tf" -> [-1, 1],
    "caffe" -> BGR minus the ImageNet channel means, "raw" -> unchanged (the model rescales)."""

    def __init__(self, mode: str = "unit", **kwargs):
        super().__init__(**kwargs)
        self.mode = mode

    def call(self, x):
        if self.mode == "unit":
            return x / 255.0
        if self.mode == "tf":
            return x / 127.5 - 1.0
        if self.mode == "caffe":
            bgr = ops.flip(x, axis=-1)
            return bgr - ops.convert_to_tensor([103.939, 116.779, 123.68], dtype=x.dtype)
        return x

    def get_config(self):
        return {**super().get_config(), "mode": self.mode}
