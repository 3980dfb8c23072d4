"""Text transfer learning: raw strings -> a KerasHub BERT-family preset's own preprocessor
(tokenizer, [CLS]/[SEP], padding) -> its encoder (frozen) -> a new classification head.

The preset comes from a local folder or by name (downloaded once into kagglehub's cache, see
core.models.pretrained). The preprocessing model holds the tokenizer, so the end-to-end model
takes raw text, also as a SavedModel. Its input is one string per example, shape (batch,), as
TF Serving clients send text (`{"instances": ["some text"]}`); Keras still takes (batch, 1).
Fine-tuning (`fine_tune_layers`/`fine_tune_epochs`) unfreezes the encoder's top transformer
layers like any other backbone.
"""

from __future__ import annotations

from core.errors import BadInput
from core.training.families.common import Prepared
from core.training.families.text_prepared import text_classifier

# Measured with TF 2.19: the TFLite converter takes this model only with Select TF ops and
# TF Text custom ops, and LiteRT then refuses to run it; the TF.js converter has no TF Text ops.
# Said on the run and refused by the export before any job starts.
EXPORT_REFUSALS = {
    "tflite": "TFLite (LiteRT) cannot run the TF Text tokenizer ops inside this model: it "
    "converts only with Select TF ops (CaseFoldUTF8, RegexSplitWithOffsets, StaticRegexReplace) "
    "and TF Text custom ops (FastWordpieceTokenizeWithOffsets, RoundRobinTrim), and LiteRT "
    "refuses it ('Select TensorFlow op(s) ... not supported by this interpreter'); only a "
    "TFLite runtime built with the Flex delegate and TF Text's kernels runs it. Serve the "
    "SavedModel instead",
    "tfjs": "TF.js has no kernels for the TF Text tokenizer ops inside this model (its "
    "converter reports RegexSplitWithOffsets, FastWordpieceTokenizeWithOffsets, CaseFoldUTF8 "
    "and TFText>RoundRobinTrim as unsupported); serve the SavedModel instead",
    "micro": "a BERT encoder with a string tokenizer does not run on a microcontroller",
}


def preset_folder(spec, reporter) -> str:
    from core.models.backbones import describe, fetch

    offline = getattr(spec, "offline", False)
    choice = describe(spec.model, spec.weights, 0, offline, task="text-classification")
    if choice.kind != "kerashub":
        raise BadInput(
            f"{spec.model}: text transfer learning takes a KerasHub BERT-family preset "
            "(kerashub:NAME or kerashub:/preset-folder); see `tfstudio models --source kerashub "
            "--task text-classification`"
        )
    reporter.event(f"text encoder {spec.model}: weights {choice.weights}")
    return fetch(choice, 0, reporter, offline)


def build_text_preprocessing(folder: str, sequence_length: int):
    """keras.Model: (batch,) strings -> the preset's token dict."""
    import keras
    import keras_hub
    import tensorflow as tf

    from core.models.text_layers import PresetTextPreprocess

    try:
        preprocessor = keras_hub.models.TextClassifierPreprocessor.from_preset(
            folder, sequence_length=sequence_length
        )
    except ValueError as exc:  # an image preset, or no tokenizer saved with it
        raise BadInput(
            f"the preset in {folder} has no text preprocessor ({str(exc)[:160]}): "
            "choose a BERT-family text preset"
        ) from None
    sample = preprocessor(tf.constant(["a"]))
    outputs = {k: [v.dtype.name, int(v.shape[-1])] for k, v in sample.items()}
    inputs = keras.Input(shape=(), dtype="string", name="text")
    layer = PresetTextPreprocess(preprocessor, outputs, name="preset_tokenizer")
    return keras.Model(inputs, layer(inputs), name="preprocessing"), outputs


def prepare_pretrained(spec, column: str, parts: dict, classes: list, reporter) -> Prepared:
    if spec.model.startswith("hub:"):  # a TF Hub text encoder (and its preprocessing model)
        from core.training.families.text_hub import prepare_hub_text

        return prepare_hub_text(spec, column, parts, classes, reporter)
    folder = preset_folder(spec, reporter)
    reporter.progress("preprocessing", 0, 1, "loading the preset's tokenizer")
    preprocess, outputs = build_text_preprocessing(folder, spec.sequence_length)
    details = {
        "sequence_length": spec.sequence_length,
        "text_encoder": spec.model,
        "needs_tensorflow_text": True,  # load the SavedModel after `import tensorflow_text`
        "export_refusals": EXPORT_REFUSALS,
    }
    hp = {"token_inputs": outputs, "preset_folder": folder}
    return text_classifier(
        spec,
        column,
        parts,
        classes,
        preprocess,
        details,
        hp,
        one_column=False,
        input_shape=(spec.sequence_length,),
    )
