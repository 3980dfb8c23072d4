"""Preprocessing as Keras layers, adapted on the training split and saved as its own model.

Numbers: FillMissing(train mean) -> LogScale (when skewed) -> Normalization. Strings: StringLookup
one-hot (missing -> "", unseen -> the OOV slot); strings with many distinct values: Hashing into
fixed one-hot bins; whole-number codes the schema calls categorical: IntegerLookup; numbers the
user bucketizes: Discretization into quantile bins.
The preprocessing model maps raw inputs to one float vector; the network model maps that vector
to predictions; the end-to-end model chains them for serving.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.training.features import FeatureSpec, raw_arrays

# Many-valued strings share this many one-hot bins (collisions are the price of a fixed size).
HASH_BINS = 64
# Bucketized numbers get this many quantile bins (Discretization), one-hot encoded.
BUCKETS = 10


# A non-negative column whose training values have a skewness above this is log-scaled before
# normalisation (prices, populations, counts; a long right tail).
SKEW_LIMIT = 1.0


def skewed(values: np.ndarray) -> bool:
    """Non-negative, not constant, and a long right tail (sample skewness > SKEW_LIMIT)."""
    v = np.asarray(values, "float64").ravel()
    v = v[np.isfinite(v)]
    if len(v) < 3 or v.min() < 0 or v.std() == 0:
        return False
    return float(((v - v.mean()) ** 3).mean() / v.std() ** 3) > SKEW_LIMIT


def log_scaled(preprocess, features: list[FeatureSpec]) -> list[str]:
    """The columns a preprocessing model log-scales (said on the run)."""
    names = {layer.name for layer in preprocess.layers}
    return [f.column for f in features if f"{f.input}_log" in names]


def build_preprocessing_model(
    train: pd.DataFrame | None,
    features: list[FeatureSpec],
    stats: dict[str, dict] | None = None,
):
    """Adapted on the training rows `train`; or, for a streamed table, set from `stats`
    (input name -> mean and variance of the filled values, vocabulary, codes, or a bounded
    `sample` for quantile bins), gathered by core.data.stream.train_statistics."""
    import keras

    from core.training.layers import FillMissing, LogScale

    arrays = raw_arrays(train, features) if stats is None else {}
    inputs, encoded = {}, []
    for f in features:
        given = (stats or {}).get(f.input)
        if f.dtype == "float32" and given is not None:
            inp = keras.Input(shape=(1,), name=f.input, dtype="float32")
            mean = given["mean"]
            norm = keras.layers.Normalization(
                mean=mean, variance=given["variance"], name=f"{f.input}_norm"
            )
            encoded.append(norm(FillMissing(mean, name=f"{f.input}_fill")(inp)))
        elif f.dtype == "float32":
            inp = keras.Input(shape=(1,), name=f.input, dtype="float32")
            values = arrays[f.input]
            mean = float(np.nanmean(values)) if np.isfinite(values).any() else 0.0
            filled = np.where(np.isnan(values), mean, values)
            x = FillMissing(mean, name=f"{f.input}_fill")(inp)
            if skewed(filled):
                x = LogScale(name=f"{f.input}_log")(x)
                filled = np.log1p(filled)
            norm = keras.layers.Normalization(name=f"{f.input}_norm")
            norm.adapt(filled)
            encoded.append(norm(x))
        elif f.dtype == "float32_binned":
            inp = keras.Input(shape=(1,), name=f.input, dtype="float32")
            values = arrays[f.input] if given is None else given["sample"]
            mean = float(np.nanmean(values)) if np.isfinite(values).any() else 0.0
            if given is not None:
                mean = given["mean"]
            # int bucket ids, then one-hot: Discretization's own one-hot mode reports a wrong
            # symbolic width (1), which breaks the end-to-end model's shapes.
            bins = keras.layers.Discretization(num_bins=BUCKETS, name=f"{f.input}_bins")
            bins.adapt(np.where(np.isnan(values), mean, values))
            onehot = keras.layers.CategoryEncoding(
                BUCKETS, output_mode="one_hot", name=f"{f.input}_onehot"
            )
            encoded.append(onehot(bins(FillMissing(mean, name=f"{f.input}_fill")(inp))))
        elif f.dtype == "int64":
            inp = keras.Input(shape=(1,), name=f.input, dtype="int64")
            codes = (
                given["codes"]
                if given is not None
                else sorted({int(v) for v in arrays[f.input].ravel() if v != -1})
            )
            lookup = keras.layers.IntegerLookup(
                vocabulary=codes, output_mode="one_hot", name=f"{f.input}_lookup"
            )
            encoded.append(lookup(inp))
        elif f.dtype == "string_hashed":
            inp = keras.Input(shape=(1,), name=f.input, dtype="string")
            encoded.append(
                keras.layers.Hashing(HASH_BINS, output_mode="one_hot", name=f"{f.input}_hash")(inp)
            )
        else:
            inp = keras.Input(shape=(1,), name=f.input, dtype="string")
            vocab = (
                given["vocabulary"]
                if given is not None
                else sorted({v for v in arrays[f.input].ravel() if v != ""})
            )
            lookup = keras.layers.StringLookup(
                vocabulary=vocab, output_mode="one_hot", name=f"{f.input}_lookup"
            )
            encoded.append(lookup(inp))
        inputs[f.input] = inp
    merged = encoded[0] if len(encoded) == 1 else keras.layers.Concatenate(name="features")(encoded)
    return keras.Model(inputs, merged, name="preprocessing")
