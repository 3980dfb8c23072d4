"""The Keras layer that puts a KerasHub preset's own preprocessor inside a saved model.

Raw strings (batch, 1) go in; the preset's token dict (token_ids, padding_mask, segment_ids...)
comes out. The output spec is stored in the config, so Keras rebuilds a saved model without
running the tokenizer: KerasHub tokenizers get their vocabulary (an asset) only after the graph
is rebuilt, and a plain functional model holding one fails to reload ("No vocabulary has been
set"). Imported by the model loader (core.models.io) so `model.keras` files load.
"""

from __future__ import annotations

import keras


@keras.saving.register_keras_serializable(package="tfstudio")
class PresetTextPreprocess(keras.layers.Layer):
    """Strings -> the preset's network inputs. `outputs` maps each key to (dtype, length)."""

    def __init__(self, preprocessor, outputs: dict[str, list], **kwargs):
        super().__init__(**kwargs)
        self.preprocessor = preprocessor
        self.outputs_spec = {k: [str(v[0]), int(v[1])] for k, v in outputs.items()}

    def call(self, text):
        return self.preprocessor(keras.ops.reshape(text, (-1,)))

    def compute_output_spec(self, text):
        return {
            k: keras.KerasTensor((text.shape[0], n), dtype=d)
            for k, (d, n) in self.outputs_spec.items()
        }

    def get_config(self):
        return {
            **super().get_config(),
            "preprocessor": keras.saving.serialize_keras_object(self.preprocessor),
            "outputs": self.outputs_spec,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["preprocessor"] = keras.saving.deserialize_keras_object(config["preprocessor"])
        return cls(**config)
