"""Text transfer learning: raw strings -> a KerasHub BERT-family preset's own preprocessor
(tokenizer, [CLS]/[SEP], padding) -> its encoder (frozen) -> a new classification head.

The preset comes from a local folder or by name (downloaded once into kagglehub's cache, see
core.models.pretrained). The preprocessing model holds the tokenizer, so the end-to-end model
takes raw text, also as a SavedModel. Fine-tuning (`fine_tune_layers`/`fine_tune_epochs`)
unfreezes the encoder's top transformer layers like any other backbone.
"""

from __future__ import annotations

from core.errors import BadInput
from core.training.families.common import Prepared
from core.training.features import FeatureSpec, ModelContract

# The converters do not take KerasHub's tokenizer ops (TF Text): said on the run and in exports.
EXPORT_REFUSALS = {
    "tflite": "TFLite has no kernels for the TF Text tokenizer ops inside this model "
    "(FastWordpieceTokenize, RegexSplit...); serve the SavedModel instead",
    "tfjs": "TF.js has no TF Text tokenizer ops; serve the SavedModel instead",
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
    """keras.Model: (batch, 1) strings -> the preset's token dict."""
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
    inputs = keras.Input(shape=(1,), dtype="string", name="text")
    layer = PresetTextPreprocess(preprocessor, outputs, name="preset_tokenizer")
    return keras.Model(inputs, layer(inputs), name="preprocessing"), outputs


def prepare_pretrained(spec, column: str, parts: dict, classes: list, reporter) -> Prepared:
    from core.data.pipelines import AUTOTUNE, text_dataset

    folder = preset_folder(spec, reporter)
    reporter.progress("preprocessing", 0, 1, "loading the preset's tokenizer")
    preprocess, outputs = build_text_preprocessing(folder, spec.sequence_length)

    def pipeline(part, shuffle):
        texts = part[column].to_numpy(dtype=object).reshape(-1, 1)
        ds = text_dataset(texts, part["_y"].to_numpy("int32"), spec.batch_size, shuffle, spec.seed)
        return ds.map(lambda x, y: (preprocess(x), y), num_parallel_calls=AUTOTUNE)

    contract = ModelContract(
        "text-classification",
        spec.target,
        [FeatureSpec(column, "text", "string")],
        classes,
        "text",
        {
            "sequence_length": spec.sequence_length,
            "text_encoder": spec.model,
            "needs_tensorflow_text": True,  # load the SavedModel after `import tensorflow_text`
            "export_refusals": EXPORT_REFUSALS,
        },
    )
    return Prepared(
        task="text-classification",
        input_kind="text",
        contract=contract,
        preprocess=preprocess,
        train=pipeline(parts["train"], True),
        train_labels=parts["train"]["_y"].to_numpy("int32"),
        validation=pipeline(parts["validation"], False),
        test_inputs=parts["test"][column].to_numpy(dtype=object).astype(str).reshape(-1, 1),
        test_y=parts["test"]["_y"].to_numpy("int32"),
        outputs=len(classes),
        network_input_shape=(spec.sequence_length,),
        rows={k: len(v) for k, v in parts.items()},
        hp={"token_inputs": outputs, "preset_folder": folder},
    )
