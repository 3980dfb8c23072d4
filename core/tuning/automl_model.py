"""AutoML arrays and the saved model: the split rows as the numpy arrays AutoKeras takes, and
AutoKeras' numpy preprocessing rebuilt as Keras layers so the saved model takes raw input.

Keras and TensorFlow are imported inside the functions that build models.
"""

from __future__ import annotations

import numpy as np

from core.runs.reporter import Reporter
from core.specs import AutoMLSpec
from core.training.features import raw_arrays
from core.tuning.automl_plan import AutoMLSplit

# ---------------------------------------------------------------------------------------------
# Data: the split rows as the numpy arrays AutoKeras takes


class Arrays:
    """AutoKeras inputs and targets per split, plus the raw test inputs the saved model takes."""

    def __init__(self, split: AutoMLSplit, spec: AutoMLSpec, reporter: Reporter):
        self.split = split
        contract, parts, kind = split.contract, split.parts, split.plan.input_kind
        self.classes = list(contract.classes)
        if kind == "table":
            self.x = {k: table_x(raw_arrays(v, contract.features)) for k, v in parts.items()}
            self.raw_test: dict[str, np.ndarray] | np.ndarray = raw_arrays(
                parts["test"], contract.features
            )
        elif kind == "text":
            col = split.column
            self.x = {k: v[col].to_numpy(dtype=object).astype(str) for k, v in parts.items()}
            self.raw_test = self.x["test"].reshape(-1, 1)
        else:
            reporter.progress("loading data", 0, 1, "decoding and resizing the images")
            size = (int(spec.image_size), int(spec.image_size))
            self.x = {k: decode_images(v[split.column], size) for k, v in parts.items()}
            self.raw_test = self.x["test"]
        target = contract.target
        if self.classes:
            from core.data.tabular import class_labels

            index = {c: str(i) for i, c in enumerate(self.classes)}
            # Class ids (contract order) go in as strings, so AutoKeras label-encodes them (two
            # integer classes 0/1 would count as already encoded); the saved model maps its
            # label order back to the contract's.
            self.y = {
                k: class_labels(v[target].astype(str) if kind == "image" else v[target])
                .map(index)
                .to_numpy(dtype=object)
                .astype(str)
                for k, v in parts.items()
            }
            self.test_ids = self.y["test"].astype("int64")
        else:
            self.y = {k: v[target].to_numpy("float32") for k, v in parts.items()}
            self.test_ids = self.y["test"]


def table_x(arrays: dict[str, np.ndarray]) -> np.ndarray:
    """Columns side by side as one object array: numbers as floats (NaN for missing, which
    AutoKeras sets to 0), categories as strings (integer codes as their decimal strings)."""
    columns = []
    for values in arrays.values():
        flat = values.reshape(-1)
        if flat.dtype.kind == "f":
            columns.append(flat.astype(object))
        elif flat.dtype.kind in "iu":
            columns.append(np.array([str(int(v)) for v in flat], dtype=object))
        else:
            columns.append(flat.astype(str).astype(object))
    return np.stack(columns, axis=1)


def decode_images(files, size: tuple[int, int]) -> np.ndarray:
    import tensorflow as tf

    from core.data.pipelines import decode_image

    images = [decode_image(tf.constant(str(f)), size).numpy() for f in files]
    return np.stack(images).astype("float32")


# ---------------------------------------------------------------------------------------------
# The saved model: AutoKeras' numpy preprocessing rebuilt as Keras layers


def build_preprocessing(split: AutoMLSplit, pipeline, spec: AutoMLSpec):
    """Raw inputs -> what AutoKeras' network takes, from the fitted AutoKeras pipeline."""
    import keras

    kind = split.plan.input_kind
    steps = pipeline.inputs[0]
    if kind == "table":
        encoder = next(s for s in steps if type(s).__name__ == "CategoricalToNumerical")
        return _table_preprocessing(split.contract.features, encoder), {}
    if kind == "text":
        tokenizer = next(s for s in steps if type(s).__name__ == "TextTokenizer")
        return _text_preprocessing(tokenizer), {
            "sequence_length": int(tokenizer.max_len),
            "vocabulary": len(tokenizer.vocab or {}),
            "tokenizer": "whitespace split, AutoKeras TextTokenizer vocabulary",
        }
    size = int(spec.image_size)
    inputs = keras.Input(shape=(None, None, 3), name="image")
    x = keras.layers.Resizing(size, size, name="resize")(inputs)
    return keras.Model(inputs, x, name="preprocessing"), {"image_size": size}


def _table_preprocessing(features, encoder):
    """Per column: numbers with missing -> 0; categories -> AutoKeras' label codes (the order of
    its fitted labels; an unseen value -> len(labels), as AutoKeras' LabelEncoder does)."""
    import keras

    inputs, columns = {}, []
    for f, label_encoder in zip(features, encoder.encoders, strict=True):
        dtype = {"float32": "float32", "int64": "int64"}.get(f.dtype, "string")
        x = inputs[f.input] = keras.Input(shape=(1,), dtype=dtype, name=f.input)
        if label_encoder is None:
            x = keras.ops.where(keras.ops.isnan(x), keras.ops.zeros_like(x), x)
        else:
            labels = list(label_encoder.labels)
            n = len(labels)
            if dtype == "int64":
                vocab = np.array([int(v) for v in labels], dtype="int64")
                lookup = keras.layers.IntegerLookup(
                    vocabulary=vocab,
                    num_oov_indices=1,
                    oov_token=int(vocab.min()) - 1,
                    name=f"lookup_{f.input}",
                )
            else:
                lookup = keras.layers.StringLookup(
                    vocabulary=labels, num_oov_indices=1, name=f"lookup_{f.input}"
                )
            # Keras puts the unknown value first (0) and label i at i + 1; AutoKeras uses i and n.
            index = lookup(x)
            x = keras.ops.cast(keras.ops.mod(index + n, n + 1), "float32")
        columns.append(x)
    out = keras.layers.Concatenate(name="encoded")(columns) if len(columns) > 1 else columns[0]
    return keras.Model(inputs, out, name="preprocessing")


def _text_preprocessing(tokenizer):
    """AutoKeras' TextTokenizer as TextVectorization: whitespace split, first `max_len` tokens,
    zero padding; its ids are 1.. in vocabulary order with 0 for unknown words."""
    import keras

    vocab = sorted((tokenizer.vocab or {}).items(), key=lambda kv: kv[1])
    words = [w for w, _ in vocab]
    inputs = keras.Input(shape=(1,), dtype="string", name="text")
    vectorize = keras.layers.TextVectorization(
        standardize=None,
        split="whitespace",
        output_mode="int",
        output_sequence_length=int(tokenizer.max_len),
        vocabulary=words or None,
        name="vectorize",
    )
    # TextVectorization: 0 padding, 1 unknown, words from 2; AutoKeras: 0 both, words from 1.
    ids = keras.ops.maximum(vectorize(inputs) - 1, 0)
    return keras.Model(inputs, keras.ops.cast(ids, "int32"), name="preprocessing")


def class_mapping(labels: list[str], n_classes: int, outputs: int):
    """(W, b) taking AutoKeras' output (its own label order; one sigmoid unit for two classes)
    to probabilities over the contract's classes (ids 0..n-1); None when already in order."""
    order = [int(float(label)) for label in labels]
    if outputs == n_classes and order == list(range(n_classes)):
        return None
    w = np.zeros((outputs, n_classes), dtype="float32")
    b = np.zeros(n_classes, dtype="float32")
    if outputs == 1:  # binary: p is the probability of labels[1]
        w[0, order[0]], b[order[0]] = -1.0, 1.0
        if len(order) > 1:
            w[0, order[1]] = 1.0
    else:
        for j, cls in enumerate(order):
            w[j, cls] = 1.0
    return w, b


def end_to_end_model(preprocess, network, mapping):
    import keras

    inputs = preprocess.input
    out = network(preprocess(inputs))
    if isinstance(out, list | tuple):  # AutoKeras' network lists its one output
        out = out[0]
    if mapping is not None:
        w, b = mapping
        to_classes = keras.layers.Dense(w.shape[1], trainable=False, name="to_class_order")
        out = to_classes(out)
        to_classes.set_weights([w, b])
    return keras.Model(inputs, out, name="end_to_end")


def predict(model, inputs) -> np.ndarray:
    from core.training.build import to_tensors

    return np.asarray(model.predict(to_tensors(inputs), verbose=0))


def head_rows(inputs, n: int):
    if isinstance(inputs, dict):
        return {k: v[:n] for k, v in inputs.items()}
    return inputs[:n]


def reference_probabilities(network, pipeline, x, mapping) -> np.ndarray:
    """AutoKeras' path (its numpy pipeline, then its network) in the contract's class order."""
    out = np.asarray(network.predict(pipeline.transform_x(x), verbose=0), dtype="float32")
    if mapping is None:
        return out
    w, b = mapping
    return out @ w + b


class EvalTarget:
    """What `core.training.evaluation.evaluate` reads."""

    def __init__(self, contract, test_y):
        from core.training.families.common import CLASSIFICATION_TASKS

        self.contract = contract
        self.task = contract.task
        self.test_y = test_y
        self.is_classification = contract.task in CLASSIFICATION_TASKS
