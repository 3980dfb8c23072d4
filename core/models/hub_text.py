"""TF Hub text models as Keras 3 layers: a SavedModel's callable as a `keras.layers.TFSMLayer`.

`hub.KerasLayer` is a Keras 2 layer that a Keras 3 model rejects, so the SavedModel is wrapped
with TFSMLayer instead. TF Hub's TF2 models expose their computation as the restored
`__call__` (what hub.KerasLayer calls); a model exported by Keras has a `serving_default`
signature. Either is used, in that order. BERT preprocessing models use TF Text's ops, which
are registered before the SavedModel loads.
"""

from __future__ import annotations

from core.errors import BadInput


def endpoint(folder: str) -> str:
    """The callable TFSMLayer should wrap: `__call__` (TF Hub's TF2 models) or
    `serving_default`."""
    import tensorflow as tf

    from core.serving.custom_ops import load_op_libraries

    load_op_libraries(folder)
    loaded = tf.saved_model.load(folder)
    if hasattr(vars(loaded).get("__call__"), "get_concrete_function"):
        return "__call__"
    if "serving_default" in loaded.signatures:
        return "serving_default"
    raise BadInput(
        f"the SavedModel in {folder} has neither a __call__ function nor a serving_default "
        "signature: it is not a TF Hub text model TF Studio can call"
    )


def encoder_layer(folder: str, name: str):
    import keras

    return keras.layers.TFSMLayer(folder, call_endpoint=endpoint(folder), name=name)


def pick_features(encoded):
    """The sentence vector an encoder returns: BERT's `pooled_output`, else its `default`/only
    output, else the first token of `sequence_output`."""
    if not isinstance(encoded, dict):
        return encoded
    for key in ("pooled_output", "default", "outputs", "output_0"):
        if key in encoded:
            return encoded[key]
    if "sequence_output" in encoded:
        return encoded["sequence_output"][:, 0, :]
    if len(encoded) == 1:
        return next(iter(encoded.values()))
    raise BadInput(
        f"this text encoder returns {', '.join(sorted(encoded))}: none is a sentence vector "
        "(pooled_output, default or sequence_output)"
    )
