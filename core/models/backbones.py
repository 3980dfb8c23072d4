"""Pretrained backbones for transfer learning: Keras Applications, TF Hub handles, KerasHub presets.

No internet is assumed. Weights come from a local file (`--weights PATH`), the Keras cache
(`$KERAS_HOME/models`, where Keras itself keeps downloads), a local SavedModel folder (TF Hub) or a
local preset folder (KerasHub). A handle that needs a download fails with a message that says how
to supply a local copy, and a backbone without weights is labelled "random initialisation", never
passed off as pretrained. Descriptions are plain data; loaders import Keras lazily.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from core.errors import BadInput

# name -> (keras.applications attribute, preprocessing mode, what the mode means)
# Modes: "tf" scales to [-1, 1]; "caffe" is BGR with ImageNet means subtracted; "raw" keeps
# 0-255 because the model rescales inside (EfficientNet, MobileNetV3); "unit" scales to [0, 1].
KERAS_APPS: dict[str, str] = {
    "MobileNetV2": "tf",
    "MobileNetV3Small": "raw",
    "MobileNetV3Large": "raw",
    "EfficientNetB0": "raw",
    "ResNet50": "caffe",
}
PREFIXES = ("keras-app:", "hub:", "kerashub:")


@dataclass(frozen=True)
class BackboneChoice:
    kind: str  # keras-app | hub | kerashub
    handle: str  # application name, Hub URL or folder, preset folder
    preprocessing: str  # tf | caffe | raw | unit
    weights: str  # what initialises it, in words, for the run and the page


def keras_home() -> Path:
    return Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")).expanduser()


def cached_weights_file(name: str, image_size: int) -> Path:
    """Where Keras caches the no-top ImageNet weights of an application."""
    if name == "MobileNetV2":
        rows = min((96, 128, 160, 192, 224), key=lambda r: abs(r - image_size))
        fname = f"mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_{rows}_no_top.h5"
    elif name.startswith("MobileNetV3"):
        size = "small" if name.endswith("Small") else "large"
        fname = f"weights_mobilenet_v3_{size}_224_1.0_float_no_top_v2.h5"
    elif name == "EfficientNetB0":
        fname = "efficientnetb0_notop.h5"
    else:
        fname = "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5"
    return keras_home() / "models" / fname


def describe(model: str, weights: str = "", image_size: int = 224) -> BackboneChoice:
    """Resolve a model handle (`keras-app:NAME`, `hub:URL|PATH`, `kerashub:PATH`) without Keras."""
    kind, _, handle = model.partition(":")
    if kind == "keras-app":
        if handle not in KERAS_APPS:
            raise BadInput(
                f"unknown Keras application {handle!r}; choose one of {', '.join(KERAS_APPS)}"
            )
        if weights:
            if not Path(weights).expanduser().is_file():
                raise BadInput(f"no weights file at {weights}")
            source = f"file {Path(weights).name}"
        elif cached_weights_file(handle, image_size).is_file():
            source = "ImageNet (Keras cache)"
        else:
            source = "random initialisation"
        return BackboneChoice(kind, handle, KERAS_APPS[handle], source)
    if kind == "hub":
        if handle.startswith(("http://", "https://")):
            return BackboneChoice(kind, handle, "unit", f"TF Hub {handle}")
        path = Path(handle).expanduser()
        if not (path / "saved_model.pb").is_file():
            raise BadInput(
                f"hub:{handle} is neither a URL nor a SavedModel folder (no saved_model.pb inside)"
            )
        return BackboneChoice(kind, str(path.resolve()), "unit", f"SavedModel {path.name}")
    if kind == "kerashub":
        path = Path(handle).expanduser()
        if not (path / "config.json").is_file():
            raise BadInput(
                f"kerashub:{handle} is not a local preset folder (no config.json). Without "
                "network access, download the preset elsewhere (keras_hub ... .save_to_preset) "
                "and pass its folder"
            )
        return BackboneChoice(kind, str(path.resolve()), "unit", f"KerasHub preset {path.name}")
    raise BadInput(f"unknown backbone handle {model!r}; use {', '.join(PREFIXES)}")


def load_backbone(choice: BackboneChoice, weights: str, image_size: int):
    """The backbone as a Keras 3 layer/model mapping (size, size, 3) images to a feature map or
    vector. Raises BadInput when a download would be needed and none is possible."""
    import keras

    shape = (image_size, image_size, 3)
    if choice.kind == "keras-app":
        app = getattr(keras.applications, choice.handle)
        if weights:
            source = str(Path(weights).expanduser())
        elif choice.weights.startswith("ImageNet"):
            source = "imagenet"  # Keras finds its cached file and does not download
        else:
            source = None
        kwargs = {"include_preprocessing": True} if choice.handle.startswith("MobileNetV3") else {}
        return app(include_top=False, weights=source, input_shape=shape, pooling="avg", **kwargs)
    if choice.kind == "hub":
        path = choice.handle
        if path.startswith(("http://", "https://")):
            try:
                import tensorflow_hub as hub

                path = hub.resolve(path)
            except Exception as exc:
                raise BadInput(
                    f"could not fetch {choice.handle} ({type(exc).__name__}). Without network "
                    "access, download the model elsewhere, unpack it, and pass hub:/path/to/folder "
                    "(or point TFHUB_CACHE_DIR at a cache that holds it)"
                ) from None
        # hub.KerasLayer is a Keras 2 layer; a Keras 3 model takes the SavedModel as a TFSMLayer.
        return keras.layers.TFSMLayer(path, call_endpoint="serving_default", name="hub_backbone")
    import keras_hub

    return keras_hub.models.Backbone.from_preset(choice.handle)
