"""A curated list of TF Hub / Kaggle Models handles: image feature vectors and text encoders.

tfhub.dev handles now resolve to Kaggle Models (both URL forms are accepted). Parameter counts
are the published architectures'; a size is estimated from them (float32) and the exact one is
asked from the server (Content-Length) right before a download. Plain data: no TensorFlow.
"""

from __future__ import annotations

import difflib
from dataclasses import asdict, dataclass
from typing import Any

from core.errors import BadInput


@dataclass(frozen=True)
class HubHandle:
    handle: str
    title: str
    task: str  # image-classification | text-classification
    kind: str  # image-feature-vector | text-encoder
    params: int | None
    inputs: str  # what the signature takes, in words
    trainable_here: str  # "" when TF Studio trains on it, else the reason it does not
    preprocess: str = ""  # a text encoder's TF Hub preprocessing model (strings -> token ids)

    @property
    def approx_bytes(self) -> int | None:
        return self.params * 4 + 1_000_000 if self.params else None

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "approx_bytes": self.approx_bytes}


_IMG = "float32 images in [0, 1], any size (resized to the run's image size)"
# TF Hub's BERT encoders take token ids; each has a matching preprocessing model (raw strings
# -> input_word_ids, input_mask, input_type_ids), downloaded and chained in front of it.
_EN_UNCASED = "https://tfhub.dev/tensorflow/bert_en_uncased_preprocess/3"
_MULTI_CASED = "https://tfhub.dev/tensorflow/bert_multi_cased_preprocess/3"

HUB_HANDLES: tuple[HubHandle, ...] = (
    HubHandle(
        "https://tfhub.dev/google/imagenet/mobilenet_v2_100_224/feature_vector/5",
        "MobileNet V2 1.0 224 feature vector",
        "image-classification",
        "image-feature-vector",
        2_257_984,
        _IMG,
        "",
    ),
    HubHandle(
        "https://tfhub.dev/google/imagenet/efficientnet_v2_imagenet1k_b0/feature_vector/2",
        "EfficientNet V2 B0 (ImageNet-1k) feature vector",
        "image-classification",
        "image-feature-vector",
        5_919_312,
        _IMG,
        "",
    ),
    HubHandle(
        "https://tfhub.dev/google/imagenet/resnet_v2_50/feature_vector/5",
        "ResNet V2 50 feature vector",
        "image-classification",
        "image-feature-vector",
        23_564_800,
        _IMG,
        "",
    ),
    HubHandle(
        "https://tfhub.dev/google/imagenet/inception_v3/feature_vector/5",
        "Inception V3 feature vector",
        "image-classification",
        "image-feature-vector",
        21_802_784,
        _IMG,
        "",
    ),
    HubHandle(
        "https://tfhub.dev/google/nnlm-en-dim50/2",
        "NNLM English 50-d sentence embedding",
        "text-classification",
        "text-encoder",
        48_190_600,
        "raw strings",
        "",
    ),
    HubHandle(
        "https://tfhub.dev/google/universal-sentence-encoder/4",
        "Universal Sentence Encoder (English, DAN)",
        "text-classification",
        "text-encoder",
        None,
        "raw strings",
        "",
    ),
    HubHandle(
        "https://tfhub.dev/tensorflow/bert_en_uncased_L-12_H-768_A-12/4",
        "BERT base, English uncased",
        "text-classification",
        "text-encoder",
        109_482_241,
        "raw strings, through bert_en_uncased_preprocess (downloaded with it)",
        "",
        _EN_UNCASED,
    ),
    HubHandle(
        "https://tfhub.dev/tensorflow/bert_multi_cased_L-12_H-768_A-12/4",
        "BERT base, multilingual cased (104 languages)",
        "text-classification",
        "text-encoder",
        177_853_441,
        "raw strings, through bert_multi_cased_preprocess (downloaded with it)",
        "",
        _MULTI_CASED,
    ),
    HubHandle(
        "https://tfhub.dev/tensorflow/small_bert/bert_en_uncased_L-4_H-512_A-8/2",
        "Small BERT (4 layers, 512 hidden), English uncased",
        "text-classification",
        "text-encoder",
        28_763_649,
        "raw strings, through bert_en_uncased_preprocess (downloaded with it)",
        "",
        _EN_UNCASED,
    ),
)
BY_HANDLE = {h.handle: h for h in HUB_HANDLES}
_TEXT_WORDS = ("bert", "nnlm", "sentence-encoder", "text", "electra", "albert", "wiki-words")
_IMAGE_WORDS = ("imagenet", "feature_vector", "feature-vector", "image", "bit/", "efficientnet")


def normalise(handle: str) -> str:
    """One spelling per handle: no trailing slash, tfhub.dev for the tfhub.dev form."""
    return handle.rstrip("/").replace("http://tfhub.dev", "https://tfhub.dev")


def close_handles(handle: str) -> str:
    """ " (close matches: ...)" among the curated handles, for a handle the server did not
    know; "" when none is close."""
    close = difflib.get_close_matches(normalise(handle), BY_HANDLE, n=3, cutoff=0.8)
    return f" (close matches: {', '.join(close)})" if close else ""


def guess_task(handle: str) -> str | None:
    """The task a handle fits: the curated entry's, else a guess from words in its URL."""
    entry = BY_HANDLE.get(normalise(handle))
    if entry:
        return entry.task
    low = handle.lower()
    if any(w in low for w in _TEXT_WORDS):
        return "text-classification"
    if any(w in low for w in _IMAGE_WORDS):
        return "image-classification"
    return None


def check_hub_task(handle: str, task: str) -> None:
    """Refuse, before any download, a handle whose model does not fit the task."""
    fits = guess_task(handle)
    if fits is not None and fits != task:
        kind = "a text encoder" if fits == "text-classification" else "an image model"
        raise BadInput(
            f"hub:{handle} is {kind}, so it does not fit {task}: choose one of the "
            f"{'text' if task == 'text-classification' else 'image'} handles listed by "
            f"`tfstudio models --source hub --task {task}`"
        )
    entry = BY_HANDLE.get(normalise(handle))
    if entry and entry.trainable_here:
        raise BadInput(f"hub:{handle} {entry.trainable_here}")
