"""The export bundle's README states the input shape the exported model really takes."""

from core.export.readme_text import inputs_table
from core.training.features import FeatureSpec, ModelContract


def _text(details: dict) -> ModelContract:
    return ModelContract(
        "text-classification", "y", [FeatureSpec("t", "text", "string")], ["a"], "text", details
    )


def test_pretrained_text_encoder_takes_a_flat_batch_of_strings():
    assert "string (batch,)" in inputs_table(_text({"text_encoder": "kerashub:bert_tiny_en"}))


def test_own_text_model_takes_one_string_column():
    assert "string (batch, 1)" in inputs_table(_text({}))
