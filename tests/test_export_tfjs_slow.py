"""TF.js and string preprocessing (marked slow): the export names the ops TF.js lacks."""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.slow


def test_tfjs_names_the_ops_a_text_model_needs_and_it_lacks(tmp_path):
    import keras

    from core.export.convert import to_savedmodel
    from core.export.tfjs import tfjs_ops, unsupported_ops

    vectorize = keras.layers.TextVectorization(max_tokens=20, output_sequence_length=4)
    vectorize.adapt(np.array([["a good film"], ["a bad film"]]))
    text = keras.Input(shape=(1,), dtype="string", name="text")
    x = keras.layers.Embedding(20, 4)(vectorize(text))
    out = keras.layers.Dense(2, activation="softmax")(keras.layers.GlobalAveragePooling1D()(x))
    missing = unsupported_ops(to_savedmodel(keras.Model(text, out), tmp_path / "text"))
    # TextVectorization lowercases and splits strings: TF.js has neither kernel
    assert "StringLower" in missing and "StringSplitV2" in missing
    assert "StaticRegexReplace" in tfjs_ops()  # punctuation stripping alone would convert

    numbers = keras.Input(shape=(3,), name="x")
    dense = keras.Model(numbers, keras.layers.Dense(2)(numbers))
    assert unsupported_ops(to_savedmodel(dense, tmp_path / "dense")) == []
