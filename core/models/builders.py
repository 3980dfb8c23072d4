"""Keras builders for catalog entries (imported only inside workers)."""

from __future__ import annotations

from typing import Any


def build_mlp(hp: dict[str, Any], input_dim: int, task: str, n_classes: int = 0):
    """An MLP on a preprocessed feature vector.

    Classification ends in softmax over `n_classes` (sparse labels); regression in one linear unit.
    """
    import keras

    inputs = keras.Input(shape=(input_dim,), name="features")
    x = inputs
    for i, units in enumerate(hp.get("hidden_units", (32, 16))):
        x = keras.layers.Dense(int(units), activation="relu", name=f"dense_{i}")(x)
        if hp.get("dropout", 0.0) > 0:
            x = keras.layers.Dropout(float(hp["dropout"]), name=f"dropout_{i}")(x)
    if task == "classification":
        outputs = keras.layers.Dense(n_classes, activation="softmax", name="probabilities")(x)
    else:
        outputs = keras.layers.Dense(1, name="prediction")(x)
    return keras.Model(inputs, outputs, name="mlp")
