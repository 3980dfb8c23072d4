"""Images: files decoded and resized in the pipeline; Rescaling/Resizing as Keras layers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from core.data.resolve import LoadedData
from core.errors import BadInput
from core.models.backbones import describe, fetch
from core.models.catalog import is_transfer
from core.specs import TrainSpec
from core.training.families.classified import classifier_prepared
from core.training.families.common import Prepared
from core.training.features import FeatureSpec
from core.training.split import split_rows


def build_image_preprocessing(size: int, mode: str = "unit"):
    """Any-size RGB (0-255) -> `size` x `size`, scaled as the network expects (see
    ImagePreprocess): [0, 1] for models trained here, the backbone's own scaling otherwise."""
    import keras

    from core.training.layers import ImagePreprocess

    inputs = keras.Input(shape=(None, None, 3), name="image")
    x = keras.layers.Resizing(size, size, name="resize")(inputs)
    if mode == "unit":
        x = keras.layers.Rescaling(1.0 / 255, name="rescale")(x)
    else:
        x = ImagePreprocess(mode, name=f"{mode}_scaling")(x)
    return keras.Model(inputs, x, name="preprocessing")


def check_images(loaded: LoadedData) -> list[str]:
    """The classes of an image dataset; BadInput for anything else."""
    if loaded.dataset is None or loaded.dataset.kind != "images":
        raise BadInput(
            "image classification needs an image dataset: import a zip of class "
            "folders on the Data page (or `tfstudio data import FILE.zip`)"
        )
    classes = sorted(loaded.frame["label"].astype(str).unique())
    if len(classes) < 2:
        raise BadInput("an image classifier needs at least two classes")
    return classes


def prepare(spec: TrainSpec, loaded: LoadedData, run_dir, reporter) -> Prepared:
    import tensorflow as tf

    from core.data.pipelines import AUTOTUNE, decode_image, finish

    classes = check_images(loaded)
    index = loaded.frame
    assert loaded.dataset is not None  # check_images refused data without an image dataset
    folder = Path(loaded.dataset.path)
    index = index.assign(
        file=[str(folder / p) for p in index["path"]],
        y=index["label"].astype(str).map({c: i for i, c in enumerate(classes)}),
    )
    parts = split_rows(
        index,
        spec.validation_fraction,
        spec.test_fraction,
        spec.seed,
        None if spec.split == "random" else index["label"].astype(str),
    )
    size = int(spec.image_size)
    mode = "unit"
    details: dict[str, Any] = {"image_size": size}
    if is_transfer(spec.model):
        offline = getattr(spec, "offline", False)
        choice = describe(spec.model, spec.weights, size, offline)
        mode = choice.preprocessing
        # Download what is missing now, with its size and progress on the run.
        local = fetch(choice, size, reporter, offline)
        if choice.kind == "hub":
            details["hub_savedmodel"] = local
        reporter.event(f"backbone {spec.model}: weights {choice.weights}; input scaling {mode}")
    preprocess = build_image_preprocessing(size, mode)

    def pipeline(part, shuffle):
        ds = tf.data.Dataset.from_tensor_slices(
            (part["file"].tolist(), part["y"].to_numpy("int32"))
        )
        # decode + resize per image (to batch), then the preprocessing model per batch
        ds = ds.map(lambda p, y: (decode_image(p, (size, size)), y), num_parallel_calls=AUTOTUNE)
        ds = finish(ds, spec.batch_size, shuffle, spec.seed, len(part))
        return ds.map(lambda x, y: (preprocess(x), y), num_parallel_calls=AUTOTUNE)

    test = parts["test"]
    test_images = np.stack(
        [decode_image(tf.constant(f), (size, size)).numpy() for f in test["file"]]
    ).astype("float32")
    prepared = classifier_prepared(
        "image",
        "label",
        FeatureSpec("image", "image", "image"),
        classes,
        details,
        preprocess,
        pipeline,
        parts,
        "y",
        test_images,
        (size, size, 3),
    )
    prepared.baseline_data = pixel_baseline(parts, size, spec.seed)
    return prepared


# The linear baseline sees small images (at most this many pixels a side) and at most this many
# training images (a seeded sample, said on the run): it stays quicker than the network.
PIXEL_SIDE = 32
PIXEL_IMAGES = 5000


def pixel_baseline(parts: dict[str, Any], size: int, seed: int):
    """Flattened pixels (0-1) of the training + validation images and of the test images, for
    a logistic regression on the pixels (core/training/baselines.py)."""
    import pandas as pd
    import tensorflow as tf

    from core.data.pipelines import decode_image
    from core.training.baselines import BaselineData

    side = min(size, PIXEL_SIDE)
    seen = pd.concat([parts["train"], parts["validation"]])
    if len(seen) > PIXEL_IMAGES:
        seen = seen.sample(PIXEL_IMAGES, random_state=seed)

    def pixels(files) -> np.ndarray:
        return (
            np.stack(
                [decode_image(tf.constant(f), (side, side)).numpy().reshape(-1) for f in files]
            ).astype("float32")
            / 255.0
        )

    return BaselineData(
        "pixels",
        pixels(seen["file"]),
        seen["y"].to_numpy("int32"),
        pixels(parts["test"]["file"]),
    )
