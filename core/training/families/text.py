"""Text: raw strings in; TextVectorization (adapted on the training texts) inside the model."""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.data.resolve import LoadedData
from core.data.tabular import class_labels
from core.errors import BadInput
from core.spec_search import AutoMLSpec
from core.specs import TrainSpec
from core.training.families.common import Prepared
from core.training.families.text_prepared import text_classifier
from core.training.split import split_rows


def text_column(spec: TrainSpec | AutoMLSpec, loaded: LoadedData) -> str:
    if spec.text_column:
        if spec.text_column not in loaded.frame.columns:
            raise BadInput(f"there is no text column {spec.text_column!r}")
        return spec.text_column
    if loaded.schema:
        texts = [c["name"] for c in loaded.schema["columns"] if c["type"] == "text"]
        if texts:
            return texts[0]
    candidates = [
        c
        for c in loaded.frame.columns
        if c != spec.target and not pd.api.types.is_numeric_dtype(loaded.frame[c])
    ]
    if not candidates:
        raise BadInput("no column of text found: choose the text column")
    return max(candidates, key=lambda c: loaded.frame[c].astype(str).str.len().mean())


# The TF-IDF model weighs single words. Word pairs (ngrams=2) would need TensorFlow's
# StringNGrams op, which converts to neither a TFLite op nor a Select TF op: the model would
# lose its TFLite file.
TFIDF_NGRAMS = None
TFIDF_MODELS = ("tfidf-text",)


def build_text_preprocessing(texts: np.ndarray, max_tokens: int, length: int, tfidf: bool = False):
    """TextVectorization adapted on the training texts: token ids padded to `length`, or (tfidf)
    the TF-IDF weights of the `max_tokens` most frequent words and word pairs."""
    import keras

    if tfidf:
        vectorize = keras.layers.TextVectorization(
            max_tokens=max_tokens, ngrams=TFIDF_NGRAMS, output_mode="tf_idf", name="vectorize"
        )
    else:
        vectorize = keras.layers.TextVectorization(
            max_tokens=max_tokens, output_sequence_length=length, name="vectorize"
        )
    vectorize.adapt(texts)
    inputs = keras.Input(shape=(1,), dtype="string", name="text")
    x = vectorize(inputs)
    size = len(vectorize.get_vocabulary())
    if tfidf:  # one weight vector per text, of unit length (as TfidfVectorizer's norm="l2")
        x = keras.layers.Reshape((size,), name="one_vector")(x)
        x = keras.layers.UnitNormalization(name="unit_length")(x)
    return keras.Model(inputs, x, name="preprocessing"), size


def split_texts(spec: TrainSpec, loaded: LoadedData):
    """(text column, {train, validation, test} frames with a `_y` class id, classes)."""
    column = text_column(spec, loaded)
    if spec.target not in loaded.frame.columns:
        raise BadInput(
            f"there is no column {spec.target!r}; columns are: "
            f"{', '.join(map(str, loaded.frame.columns))}"
        )
    frame = loaded.frame[[column, spec.target]].dropna(subset=[spec.target])
    frame = frame.assign(**{column: frame[column].fillna("").astype(str)})
    labels = class_labels(frame[spec.target])
    classes = sorted(labels.unique())
    if len(classes) < 2:
        raise BadInput(f"the target {spec.target!r} has a single class: a classifier needs two")
    frame = frame.assign(_y=labels.map({c: i for i, c in enumerate(classes)}).to_numpy("int32"))
    parts = split_rows(
        frame,
        spec.validation_fraction,
        spec.test_fraction,
        spec.seed,
        None if spec.split == "random" else labels,
    )
    return column, parts, classes


def prepare(spec: TrainSpec, loaded: LoadedData, run_dir, reporter) -> Prepared:
    from core.models.catalog import DEFAULT_MODEL, is_transfer

    column, parts, classes = split_texts(spec, loaded)
    if is_transfer(spec.model):  # a pretrained encoder with its own tokenizer
        from core.training.families.text_pretrained import prepare_pretrained

        return prepare_pretrained(spec, column, parts, classes, reporter)
    reporter.progress("preprocessing", 0, 1, "adapting TextVectorization on the training texts")
    tfidf = (spec.model or DEFAULT_MODEL["text-classification"]) in TFIDF_MODELS
    preprocess, vocabulary = build_text_preprocessing(
        parts["train"][column].to_numpy(dtype=object).astype(str).reshape(-1, 1),
        spec.max_tokens,
        spec.sequence_length,
        tfidf,
    )

    details = {"max_tokens": spec.max_tokens, "sequence_length": spec.sequence_length}
    hp = {"vocabulary": vocabulary}
    shape = (spec.sequence_length,)
    if tfidf:
        details = {
            "max_tokens": spec.max_tokens,
            "ngrams": TFIDF_NGRAMS,
            "output": "tf_idf",
        }
        shape = (vocabulary,)
    return text_classifier(
        spec, column, parts, classes, preprocess, details, hp, one_column=True, input_shape=shape
    )
