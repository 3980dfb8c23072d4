"""Pretrained backbones for transfer learning: Keras Applications, TF Hub handles, KerasHub presets.

Online first, offline always: weights come from a local file (`--weights PATH`), a local
SavedModel or preset folder, or a cache (`$KERAS_HOME/models`, `$TFHUB_CACHE_DIR`,
`$KAGGLEHUB_CACHE`); when none holds them they are downloaded (core.models.pretrained) before
the model is built. Offline (TFSTUDIO_OFFLINE or the spec's `offline`), a missing download fails
at once with a message saying how to bring the files. Random initialisation happens only when
asked for (`--weights random`), and the run says so. Descriptions are plain data; loaders import
Keras lazily.
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


RANDOM = "random"  # `--weights random`: an explicit choice, never a fallback


def keras_home() -> Path:
    return Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")).expanduser()


def cached_weights_file(name: str, image_size: int) -> Path:
    """Where Keras caches the no-top ImageNet weights of an application."""
    from core.models.pretrained import keras_app_weights

    return keras_app_weights(name, image_size).cache_path


def describe(
    model: str,
    weights: str = "",
    image_size: int = 224,
    offline: bool = False,
    task: str = "image-classification",
) -> BackboneChoice:
    """Resolve a handle (`keras-app:NAME`, `hub:URL|PATH`, `kerashub:NAME|PATH`) without Keras
    or any download: BadInput for an unknown name (with close matches), a handle that does not
    fit the task, or a download that the offline setting forbids."""
    from core.models import download as dl
    from core.models import pretrained as pt

    kind, _, handle = model.partition(":")
    if kind == "keras-app":
        if handle not in KERAS_APPS:
            import difflib

            close = difflib.get_close_matches(handle, KERAS_APPS, n=3, cutoff=0.4)
            raise BadInput(
                f"unknown Keras application {handle!r}"
                + (f" (close matches: {', '.join(close)})" if close else "")
                + f"; choose one of {', '.join(KERAS_APPS)}"
            )
        if weights == RANDOM:
            source = "random initialisation (asked for)"
        elif weights:
            if not Path(weights).expanduser().is_file():
                raise BadInput(f"no weights file at {weights}")
            source = f"file {Path(weights).name}"
        else:
            app = pt.keras_app_weights(handle, image_size)
            if app.cache_path.is_file():
                source = "ImageNet (Keras cache)"
            else:
                dl.refuse_offline(f"ImageNet weights of {handle} ({app.filename})", offline)
                source = f"ImageNet (downloaded, about {dl.human_size(app.approx_bytes)})"
        return BackboneChoice(kind, handle, KERAS_APPS[handle], source)
    if kind == "hub":
        from core.models.hub_handles import check_hub_task, normalise

        if handle.startswith(("http://", "https://")):
            handle = normalise(handle)
            check_hub_task(handle, task)
            if pt.hub_is_cached(handle):
                return BackboneChoice(kind, handle, "unit", f"TF Hub {handle} (cache)")
            dl.refuse_offline(f"TF Hub model {handle}", offline)
            return BackboneChoice(kind, handle, "unit", f"TF Hub {handle} (downloaded)")
        path = Path(handle).expanduser()
        if not (path / "saved_model.pb").is_file():
            raise BadInput(
                f"hub:{handle} is neither a URL nor a SavedModel folder (no saved_model.pb inside)"
            )
        return BackboneChoice(kind, str(path.resolve()), "unit", f"SavedModel {path.name}")
    if kind == "kerashub":
        path = Path(handle).expanduser()
        if (path / "config.json").is_file():
            return BackboneChoice(kind, str(path.resolve()), "unit", f"KerasHub preset {path.name}")
        if "/" in handle or handle.startswith("."):
            raise BadInput(f"kerashub:{handle} is not a preset folder (no config.json inside)")
        from core.models.kerashub_registry import is_cached

        info = pt.find_preset(handle)  # close matches for an unknown name
        if info.task != task:
            raise BadInput(
                f"KerasHub preset {handle} is a {info.family} model for {info.task}, so it does "
                f"not fit {task}: see `tfstudio models --source kerashub --task {task}`"
            )
        if is_cached(info):
            return BackboneChoice(kind, handle, "unit", f"KerasHub {handle} (cache)")
        dl.refuse_offline(f"KerasHub preset {handle}", offline)
        return BackboneChoice(
            kind,
            handle,
            "unit",
            f"KerasHub {handle} (downloaded, about {dl.human_size(info.approx_bytes)})",
        )
    raise BadInput(f"unknown backbone handle {model!r}; use {', '.join(PREFIXES)}")


def fetch(choice: BackboneChoice, image_size: int, reporter=None, offline: bool = False) -> str:
    """The local path of a backbone's pretrained files, downloading them if needed (inside the
    job, with progress on the run); "" when there is nothing to fetch (a local file, random)."""
    from core.models import pretrained as pt

    if choice.kind == "keras-app":
        if not choice.weights.startswith("ImageNet"):
            return ""
        return str(pt.ensure_keras_app(choice.handle, image_size, reporter, offline))
    if choice.kind == "hub" and choice.handle.startswith(("http://", "https://")):
        from core.models.hub_handles import BY_HANDLE

        entry = BY_HANDLE.get(choice.handle)
        approx = entry.approx_bytes if entry and entry.approx_bytes else 0
        return str(pt.ensure_hub(choice.handle, reporter, offline, approx))
    if choice.kind == "kerashub" and not Path(choice.handle).is_absolute():
        return str(pt.ensure_kerashub(choice.handle, reporter, offline))
    return choice.handle


def load_backbone(choice: BackboneChoice, weights: str, image_size: int, offline: bool = False):
    """The backbone as a Keras 3 layer/model mapping (size, size, 3) images to a feature map or
    vector. Downloads what is missing (call `fetch` first to report progress on the run)."""
    import keras

    shape = (image_size, image_size, 3)
    local = fetch(choice, image_size, None, offline)
    if choice.kind == "keras-app":
        app = getattr(keras.applications, choice.handle)
        source: str | None
        if weights and weights != RANDOM:
            source = str(Path(weights).expanduser())
        else:
            source = local or None  # the verified cache file: Keras loads it, no download
        kwargs = {"include_preprocessing": True} if choice.handle.startswith("MobileNetV3") else {}
        return app(include_top=False, weights=source, input_shape=shape, pooling="avg", **kwargs)
    if choice.kind == "hub":
        # hub.KerasLayer is a Keras 2 layer; a Keras 3 model takes the SavedModel as a TFSMLayer.
        return keras.layers.TFSMLayer(local, call_endpoint="serving_default", name="hub_backbone")
    import keras_hub

    return keras_hub.models.Backbone.from_preset(local)
