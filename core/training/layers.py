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
