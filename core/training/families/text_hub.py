"""Text transfer learning on a TF Hub text encoder: raw strings -> its TF Hub preprocessing
model when it has one (a BERT encoder's bert_*_preprocess: token ids, mask, type ids) -> the
encoder (frozen) -> a new classification head.

Both SavedModels come by URL (downloaded once into the TF Hub cache, core.models.pretrained)
and run as `keras.layers.TFSMLayer`s, so the run needs the user's trust in them
(`--trust-savedmodel`). An encoder that tokenizes inside (NNLM, Universal Sentence Encoder)
takes the strings directly.
"""

from __future__ import annotations

from core.errors import BadInput
from core.training.families.common import Prepared
from core.training.families.text_prepared import text_classifier

MICRO_REFUSAL = "a TF Hub text encoder with a string tokenizer does not run on a microcontroller"


def export_refusals(folders: list[str]) -> dict[str, str]:
    """The formats this run's SavedModels rule out: TFLite and TF.js when a graph holds ops
    outside core TensorFlow (TF Text's, in TF Hub's BERT preprocessing), as measured on
    KerasHub's tokenizer (LiteRT refuses its Select TF ops, the TF.js converter lists them
    unsupported)."""
    from core.serving.custom_ops import custom_ops

    ops = sorted({op for folder in folders for op in custom_ops(folder)})
    if not ops:
        return {"micro": MICRO_REFUSAL}
    named = ", ".join(ops[:5]) + ("..." if len(ops) > 5 else "")
    return {
        "tflite": f"TFLite (LiteRT) cannot run the tokenizer ops outside core TensorFlow inside "
        f"this model (TF Text's {named}): LiteRT refuses the Select TF / custom ops they "
        "convert to. Serve the SavedModel instead",
        "tfjs": f"TF.js has no kernels for the tokenizer ops outside core TensorFlow inside this "
        f"model (TF Text's {named}); serve the SavedModel instead",
        "micro": MICRO_REFUSAL,
    }


def hub_folders(spec, reporter) -> tuple[str, str]:
    """(encoder folder, preprocessing folder or "") in the TF Hub cache, downloaded if needed."""
    from core.models import pretrained as pt
    from core.models.backbones import describe, fetch
    from core.models.hub_handles import BY_HANDLE

    offline = getattr(spec, "offline", False)
    choice = describe(spec.model, "", 0, offline, task="text-classification")
    reporter.event(f"text encoder {spec.model}: weights {choice.weights}")
    encoder = fetch(choice, 0, reporter, offline)
    entry = BY_HANDLE.get(choice.handle)
    if not (entry and entry.preprocess):
        return encoder, ""
    reporter.event(f"its preprocessing model: {entry.preprocess}")
    return encoder, str(pt.ensure_hub(entry.preprocess, reporter, offline))


def build_hub_preprocessing(folder: str):
    """keras.Model: (batch,) strings -> the preprocessing model's token dict (or the strings
    themselves without one); and the dict's (dtype, length) per key ({} for strings)."""
    import keras
    import tensorflow as tf

    from core.models.hub_text import encoder_layer

    inputs = keras.Input(shape=(), dtype="string", name="text")
    if not folder:
        return keras.Model(inputs, keras.layers.Identity(name="raw_text")(inputs)), {}
    layer = encoder_layer(folder, name="hub_preprocessing")
    sample = layer(tf.constant(["a"]))
    if not isinstance(sample, dict):
        raise BadInput(f"the TF Hub preprocessing model in {folder} does not return a token dict")
    outputs = {k: [v.dtype.name, int(v.shape[-1])] for k, v in sample.items()}
    return keras.Model(inputs, layer(inputs), name="preprocessing"), outputs


def prepare_hub_text(spec, column: str, parts: dict, classes: list, reporter) -> Prepared:
    encoder, pre_folder = hub_folders(spec, reporter)
    reporter.progress("preprocessing", 0, 1, "loading the TF Hub preprocessing model")
    preprocess, outputs = build_hub_preprocessing(pre_folder)
    folders = [f for f in (pre_folder, encoder) if f]
    details = {
        "text_encoder": spec.model,
        # the SavedModels inside: their op libraries (TF Text for BERT) load before them
        "savedmodels": folders,
        "export_refusals": export_refusals(folders),
    }
    hp = {"token_inputs": outputs, "encoder_folder": encoder}
    return text_classifier(
        spec, column, parts, classes, preprocess, details, hp, one_column=False, input_shape=()
    )
