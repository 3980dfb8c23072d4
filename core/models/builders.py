"""Keras builders for catalog entries (imported only inside workers).

Every builder has the same signature, `build(hp, input_shape, task, outputs)`, so plain training
and tuning call them alike: `hp` holds hyperparameters by name (missing ones take the catalog's
defaults), `outputs` is the number of classes (classification), 1 (regression) or
(horizon, n_targets) (forecasting).
"""

from __future__ import annotations

from typing import Any


def _head(x, task: str, outputs):
    import keras

    if task in ("classification", "image-classification", "text-classification"):
        return keras.layers.Dense(int(outputs), activation="softmax", name="probabilities")(x)
    if task == "forecasting":
        horizon, n_targets = outputs
        x = keras.layers.Dense(horizon * n_targets, name="forecast_flat")(x)
        return keras.layers.Reshape((horizon, n_targets), name="forecast")(x)
    return keras.layers.Dense(int(outputs), name="prediction")(x)


def _dense_stack(x, hp: dict[str, Any], default=(32, 16)):
    import keras

    for i, units in enumerate(hp.get("hidden_units", default)):
        x = keras.layers.Dense(int(units), activation="relu", name=f"dense_{i}")(x)
        if float(hp.get("dropout", 0.0)) > 0:
            x = keras.layers.Dropout(float(hp["dropout"]), name=f"dropout_{i}")(x)
    return x


def build_mlp(hp: dict[str, Any], input_shape: tuple, task: str, outputs):
    """Dense layers on a preprocessed feature vector."""
    import keras

    inputs = keras.Input(shape=input_shape, name="features")
    return keras.Model(inputs, _head(_dense_stack(inputs, hp), task, outputs), name="mlp")


def build_cnn(hp: dict[str, Any], input_shape: tuple, task: str, outputs):
    """A small convolutional network: conv blocks with pooling, then global pooling."""
    import keras

    inputs = keras.Input(shape=input_shape, name="image")
    x = inputs
    filters = int(hp.get("filters", 16))
    for i in range(int(hp.get("blocks", 3))):
        x = keras.layers.Conv2D(
            filters * 2**i, 3, padding="same", activation="relu", name=f"conv_{i}"
        )(x)
        x = keras.layers.MaxPooling2D(name=f"pool_{i}")(x)
    x = keras.layers.GlobalAveragePooling2D(name="gap")(x)
    if float(hp.get("dropout", 0.2)) > 0:
        x = keras.layers.Dropout(float(hp.get("dropout", 0.2)), name="dropout")(x)
    return keras.Model(inputs, _head(x, task, outputs), name="cnn")


def build_text(hp: dict[str, Any], input_shape: tuple, task: str, outputs):
    """Token ids -> embedding -> average over the sequence -> dense layers."""
    import keras

    inputs = keras.Input(shape=input_shape, dtype="int64", name="tokens")
    x = keras.layers.Embedding(
        int(hp["vocabulary"]), int(hp.get("embedding_dim", 32)), mask_zero=False, name="embedding"
    )(inputs)
    x = keras.layers.GlobalAveragePooling1D(name="average")(x)
    x = _dense_stack(x, hp, default=(32,))
    return keras.Model(inputs, _head(x, task, outputs), name="text_classifier")


def build_tfidf_text(hp: dict[str, Any], input_shape: tuple, task: str, outputs):
    """TF-IDF weights of the text's words and word pairs -> dropout -> (dense layers) -> classes:
    TF-IDF + logistic regression as a Keras model when there are no hidden layers."""
    import keras

    inputs = keras.Input(shape=input_shape, name="tfidf")
    x = inputs
    if float(hp.get("input_dropout", 0.5)) > 0:
        x = keras.layers.Dropout(float(hp.get("input_dropout", 0.5)), name="input_dropout")(x)
    x = _dense_stack(x, hp, default=())
    return keras.Model(inputs, _head(x, task, outputs), name="tfidf_text")


def build_dense_forecast(hp: dict[str, Any], input_shape: tuple, task: str, outputs):
    """The whole input window flattened into dense layers: a strong baseline for short series."""
    import keras

    inputs = keras.Input(shape=input_shape, name="window")
    x = keras.layers.Flatten(name="flatten")(inputs)
    return keras.Model(inputs, _head(_dense_stack(x, hp), task, outputs), name="dense_forecast")


def _recurrent(layer_name: str):
    def build(hp: dict[str, Any], input_shape: tuple, task: str, outputs):
        import keras

        inputs = keras.Input(shape=input_shape, name="window")
        layer = getattr(keras.layers, layer_name)
        # Unrolled over the fixed window: the TFLite file then needs builtin ops only. A
        # rolled loop converts to TensorList ops that need Select TF ops, and no Python TFLite
        # runtime runs those since TensorFlow 2.20 (docs/stack.md).
        unroll = input_shape[0] is not None
        x = layer(int(hp.get("units", 32)), unroll=unroll, name=layer_name.lower())(inputs)
        return keras.Model(inputs, _head(x, task, outputs), name=layer_name.lower())

    build.__doc__ = f"A {layer_name} over the input window, then a dense forecast head."
    return build


build_lstm = _recurrent("LSTM")
build_gru = _recurrent("GRU")


def build_conv1d(hp: dict[str, Any], input_shape: tuple, task: str, outputs):
    """1-D convolutions over time, then global pooling."""
    import keras

    inputs = keras.Input(shape=input_shape, name="window")
    x = keras.layers.Conv1D(
        int(hp.get("filters", 32)),
        int(hp.get("kernel_size", 3)),
        padding="causal",
        activation="relu",
        name="conv",
    )(inputs)
    x = keras.layers.GlobalAveragePooling1D(name="gap")(x)
    return keras.Model(inputs, _head(x, task, outputs), name="conv1d")


def build_transfer(hp: dict[str, Any], input_shape: tuple, task: str, outputs):
    """A pretrained backbone (frozen) + global pooling + dropout + a new head.

    `hp["backbone"]` is the handle (`keras-app:NAME`, `hub:...`, `kerashub:...`) and
    `hp["weights"]` an optional local weights file. The backbone layer is named "backbone", so a
    fine-tuning phase can find it and unfreeze its top layers.
    """
    import keras

    from core.models.backbones import describe, load_backbone

    choice = describe(hp["backbone"], hp.get("weights", ""), input_shape[0])
    backbone = load_backbone(choice, hp.get("weights", ""), input_shape[0])
    backbone.trainable = False
    inputs = keras.Input(shape=input_shape, name="image")
    features = backbone(inputs, training=False) if choice.kind != "hub" else backbone(inputs)
    if isinstance(features, dict):  # a SavedModel signature returns named outputs
        features = next(iter(features.values()))
    if len(features.shape) == 4:
        features = keras.layers.GlobalAveragePooling2D(name="pool")(features)
    x = features
    if choice.kind != "hub":
        # Not after a TFSMLayer: `model.export` then traces the dropout in training mode, and
        # the SavedModel/TFLite files would drop features at random (seen with TF 2.19).
        x = keras.layers.Dropout(float(hp.get("dropout", 0.2)), name="head_dropout")(x)
    model = keras.Model(inputs, _head(x, task, outputs), name="transfer")
    model.backbone_name = backbone.name
    return model


def build_text_transfer(hp: dict[str, Any], input_shape: tuple, task: str, outputs):
    """A KerasHub text encoder (frozen) on the preset's token dict + dropout + a new head.

    `hp["preset_folder"]` is the local preset and `hp["token_inputs"]` maps each input of the
    encoder to (dtype, length), as the preprocessing model (text_pretrained) produces them.
    """
    import keras
    import keras_hub

    backbone = keras_hub.models.Backbone.from_preset(hp["preset_folder"])
    backbone.trainable = False
    inputs = {
        k: keras.Input(shape=(int(n),), dtype=d, name=k) for k, (d, n) in hp["token_inputs"].items()
    }
    encoded = backbone(inputs, training=False)
    if isinstance(encoded, dict) and "pooled_output" in encoded:
        features = encoded["pooled_output"]  # BERT's [CLS] projection
    else:
        sequence = encoded["sequence_output"] if isinstance(encoded, dict) else encoded
        features = sequence[:, 0, :]  # the first ([CLS]/<s>) token
    x = keras.layers.Dropout(float(hp.get("dropout", 0.1)), name="head_dropout")(features)
    model = keras.Model(inputs, _head(x, task, outputs), name="text_transfer")
    model.backbone_name = backbone.name
    return model


def build_hub_text_transfer(hp: dict[str, Any], input_shape: tuple, task: str, outputs):
    """A TF Hub text encoder (frozen TFSMLayer) + dropout + a new head.

    The network takes what the run's preprocessing model gives: the token dict of a TF Hub
    preprocessing model (`hp["token_inputs"]`: name -> (dtype, length)), or raw strings
    (batch,) for an encoder that tokenizes inside (NNLM, Universal Sentence Encoder).
    """
    import keras

    from core.models.hub_text import encoder_layer, pick_features

    encoder = encoder_layer(hp["encoder_folder"], name="hub_encoder")
    encoder.trainable = False
    if hp.get("token_inputs"):
        inputs: Any = {
            k: keras.Input(shape=(int(n),), dtype=d, name=k)
            for k, (d, n) in hp["token_inputs"].items()
        }
    else:
        inputs = keras.Input(shape=(), dtype="string", name="text")
    features = pick_features(encoder(inputs))
    x = keras.layers.Dropout(float(hp.get("dropout", 0.1)), name="head_dropout")(features)
    model = keras.Model(inputs, _head(x, task, outputs), name="hub_text_transfer")
    model.backbone_name = encoder.name
    return model
