"""The Prepared every text classifier returns (TextVectorization, KerasHub presets, TF Hub),
in a module of its own so the three families share it without importing each other."""

from __future__ import annotations

import numpy as np

from core.training.families.classified import classifier_prepared
from core.training.families.common import Prepared
from core.training.features import FeatureSpec


def text_classifier(
    spec, column, parts, classes, preprocess, details, hp, *, one_column: bool, input_shape
) -> Prepared:
    """What every text classifier trains on: the texts through `preprocess`, class ids as
    labels. TextVectorization takes them as (batch, 1) (`one_column`); the pretrained encoders
    take one string per example, (batch,), as TF Serving clients send text."""
    from core.data.pipelines import AUTOTUNE, text_dataset

    def texts(part):
        values = part[column].to_numpy(dtype=object)
        return values.reshape(-1, 1) if one_column else values

    def pipeline(part, shuffle):
        ds = text_dataset(
            texts(part), part["_y"].to_numpy("int32"), spec.batch_size, shuffle, spec.seed
        )
        return ds.map(lambda x, y: (preprocess(x), y), num_parallel_calls=AUTOTUNE)

    from core.training.baselines import BaselineData

    seen = [parts["train"], parts["validation"]]
    prepared = classifier_prepared(
        "text",
        spec.target,
        FeatureSpec(column, "text", "string"),
        classes,
        details,
        preprocess,
        pipeline,
        parts,
        "_y",
        texts(parts["test"]).astype(str),
        input_shape,
        hp,
    )
    prepared.baseline_data = BaselineData(
        kind="text",
        x_train=[str(t) for p in seen for t in p[column].tolist()],
        y_train=np.concatenate([p["_y"].to_numpy("int32") for p in seen]),
        x_test=[str(t) for t in parts["test"][column].tolist()],
    )
    return prepared
