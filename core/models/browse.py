"""The browsable catalog of pretrained models: KerasHub presets, Keras Applications, TF Hub.

One row per model with what a user needs before choosing: what it is for, its size, whether
it is in this machine's cache (so it works offline) and how big the download is otherwise.
Plain data, no TensorFlow: the Models page and `tfstudio models --source` both read `browse`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from core.errors import BadInput
from core.models import download as dl
from core.models import pretrained as pt
from core.models.hub_handles import HUB_HANDLES
from core.models.kerashub_registry import BERT_FAMILIES, is_cached, presets

SOURCES = ("kerashub", "keras-app", "hub")
TRAINED_TASKS = ("image-classification", "text-classification")


@dataclass(frozen=True)
class CatalogRow:
    source: str  # kerashub | keras-app | hub
    model: str  # what --model takes
    title: str
    task: str
    params: int | None
    download_bytes: int | None  # estimated from the parameter count where the source gives none
    cached: bool
    licence: str
    description: str
    trainable: str  # "" when TF Studio trains on it, else why not

    @property
    def download(self) -> str:
        if self.cached:
            return "cached"
        return f"≈ {dl.human_size(self.download_bytes)}" if self.download_bytes else "asked first"

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "download": self.download}


def _kerashub_rows() -> list[CatalogRow]:
    rows = []
    for info in presets().values():
        if info.task == "text-classification" and info.family not in BERT_FAMILIES:
            reason = "text classifiers here take BERT-family encoders"
        elif info.task not in TRAINED_TASKS:
            reason = "listed only: TF Studio trains image and text classifiers"
        else:
            reason = ""
        rows.append(
            CatalogRow(
                "kerashub",
                f"kerashub:{info.name}",
                f"{info.name} ({info.family})",
                info.task,
                info.params or None,
                info.approx_bytes if info.params else None,
                is_cached(info),
                info.licence,
                info.description,
                reason,
            )
        )
    return rows


def _keras_app_rows() -> list[CatalogRow]:
    rows = []
    for name, (_module, _key, params) in pt.KERAS_APP_SOURCES.items():
        weights = pt.keras_app_weights(name, 224)
        rows.append(
            CatalogRow(
                "keras-app",
                f"keras-app:{name}",
                f"{name} (Keras Applications, ImageNet)",
                "image-classification",
                params,
                weights.approx_bytes,
                weights.cache_path.is_file(),
                "Apache 2.0 (Keras); weights: see keras.io/api/applications",
                f"no-top ImageNet weights {weights.filename}"
                + (" (hash published by Keras)" if weights.file_hash else ""),
                "",
            )
        )
    return rows


def _hub_rows() -> list[CatalogRow]:
    return [
        CatalogRow(
            "hub",
            f"hub:{h.handle}",
            h.title,
            h.task,
            h.params,
            h.approx_bytes,
            pt.hub_is_cached(h.handle),
            "see the model page",
            f"{h.kind}; takes {h.inputs}",
            h.trainable_here,
        )
        for h in HUB_HANDLES
    ]


def browse(source: str, query: str = "", task: str = "") -> list[CatalogRow]:
    """Rows of one source, filtered by a search text (name, title, description) and a task."""
    makers = {"kerashub": _kerashub_rows, "keras-app": _keras_app_rows, "hub": _hub_rows}
    if source not in makers:
        raise BadInput(f"unknown source {source!r}; choose one of {', '.join(SOURCES)}")
    words = query.lower().split()
    rows = makers[source]()
    return [
        r
        for r in rows
        if (not task or r.task == task)
        and all(w in f"{r.model} {r.title} {r.description}".lower() for w in words)
    ]
