"""The stack move (#36): AutoKeras' guarded fix, the TF.js converter without TF-DF, LiteRT only."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import REPO


@pytest.mark.slow
def test_autokeras_stores_plain_int_shapes_and_refuses_other_versions(monkeypatch):
    import autokeras
    import keras

    from core.tuning.autokeras_compat import AutoKerasVersionError, import_autokeras

    ak = import_autokeras()
    node = ak.StructuredDataInput()
    head = ak.ClassificationHead()
    graph = autokeras.graph.Graph(inputs=node, outputs=head(ak.DenseBlock()(node)))
    from autokeras.utils import data_utils

    # what AutoKeras' tuner passes: the data's shapes as numpy arrays (numpy ints inside)
    x, y = np.zeros((10, 4), "float32"), np.zeros((10, 3), "float32")
    graph.set_io_shapes(data_utils.dataset_shape(([x], [y])))
    assert node.shape == (4,) and type(node.shape[0]) is int
    assert type(head.shape[0]) is int
    keras.layers.Dense(units=head.shape[0])  # Keras >= 3.13 refuses numpy ints here

    monkeypatch.setattr(autokeras, "__version__", "3.1.0")
    with pytest.raises(AutoKerasVersionError, match="found AutoKeras 3.1.0"):
        import_autokeras()


@pytest.mark.slow
def test_tfjs_converter_imports_without_tf_decision_forests():
    import importlib.util

    from core.export.tfjs import _import_converter

    assert importlib.util.find_spec("tensorflow_decision_forests") is None
    assert callable(_import_converter())
    assert "tensorflow_decision_forests" not in sys.modules  # the stand-in is gone again


@pytest.mark.slow
def test_a_select_tf_model_is_named_not_run_and_builtin_models_run_on_litert(tmp_path):
    import tensorflow as tf

    from core.export.convert import NeedsFlex, load_interpreter, tflite_predict
    from core.export.micro import tflite_ops

    class Strings(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
        def f(self, x):
            return {"y": tf.strings.length(tf.strings.lower(x))}

    module = Strings()
    tf.saved_model.save(module, str(tmp_path / "sm"), signatures={"serving_default": module.f})
    converter = tf.lite.TFLiteConverter.from_saved_model(str(tmp_path / "sm"))
    converter.target_spec.supported_ops = [
        tf.lite.OpsSet.TFLITE_BUILTINS,
        tf.lite.OpsSet.SELECT_TF_OPS,
    ]
    flex = converter.convert()
    assert "FlexStringLower" in tflite_ops(flex)
    with pytest.raises(NeedsFlex, match="Select TF ops"):
        load_interpreter(flex)
    # its signature can still be described without running it
    assert list(load_interpreter(flex, allocate=False).get_signature_runner().get_input_details())

    import keras

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    x = np.arange(6, dtype="float32").reshape(2, 3)
    got = tflite_predict(converter.convert(), x)
    np.testing.assert_allclose(got, model.predict(x, verbose=0), atol=1e-5)


def test_no_tensorflow_lite_interpreter_left_in_the_product():
    hits = [
        str(p.relative_to(REPO))
        for folder in ("core", "dashboard", "pages")
        for p in Path(REPO, folder).rglob("*.py")
        if "lite.Interpreter" in p.read_text()
    ]
    assert hits == []
