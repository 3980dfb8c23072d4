"""Files the old stack wrote (TF 2.19, Keras 3.12) load on this one and predict the same (#36)."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

from core.errors import BadInput

pytestmark = pytest.mark.slow

OLD = Path(__file__).parent / "data" / "old_stack"


def _inputs(folder: Path):
    import tensorflow as tf

    from core.training.families.common import load_test_inputs

    x = load_test_inputs(folder / "test_inputs.npz")
    return x["input"] if list(x) == ["input"] else {k: tf.constant(v) for k, v in x.items()}


@pytest.mark.parametrize("name", ["table", "forecast"])
def test_an_old_run_model_loads_and_predicts_as_before(name):
    import keras

    from core.export.convert import tflite_predict
    from core.models.io import load_run_model
    from core.training.families.common import load_test_inputs

    folder = OLD / name
    assert json.loads((folder / "stack.json").read_text())["keras"] != keras.__version__
    expected = np.load(folder / "old_predictions.npy")
    got = np.asarray(load_run_model(folder).predict(_inputs(folder), verbose=0))
    np.testing.assert_allclose(got, expected, atol=1e-5)
    # the old converter's .tflite runs on LiteRT with the same numbers
    raw = load_test_inputs(folder / "test_inputs.npz")
    lite = tflite_predict(folder / "model.tflite", raw if len(raw) > 1 else raw[next(iter(raw))])
    np.testing.assert_allclose(lite.reshape(expected.shape), expected, atol=1e-4)


def test_a_model_this_keras_cannot_read_says_which_keras_wrote_it(tmp_path):
    from core.models.io import load_run_model

    folder = tmp_path / "run"
    folder.mkdir()
    with (
        zipfile.ZipFile(OLD / "table" / "model.keras") as src,
        zipfile.ZipFile(folder / "model.keras", "w") as dst,
    ):
        for item in src.infolist():
            data = src.read(item)
            if item.filename == "metadata.json":
                data = json.dumps({**json.loads(data), "keras_version": "9.0.0"}).encode()
            if item.filename == "config.json":  # a layer class this Keras has never heard of
                data = data.replace(b'"Dense"', b'"DenseFromTheFuture"')
            dst.writestr(item, data)
    with pytest.raises(BadInput, match="saved by Keras 9.0.0 and this TF Studio runs Keras"):
        load_run_model(folder)
