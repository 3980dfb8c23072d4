"""KerasHub's own preset registry, read from the installed package's source without importing it.

keras_hub ships every built-in preset as a literal dict in `keras_hub/src/models/*/*_presets.py`
(name, description, parameter count, Kaggle handle). Importing keras_hub would import
TensorFlow, which the UI must not do, so the files are parsed with `ast` instead: the catalog is
browsable offline and in the Streamlit process. Downloads go through kagglehub's cache layout
(`$KAGGLEHUB_CACHE/models/<owner>/<model>/<framework>/<variation>/<version>`), the folder KerasHub
itself reads from, so a preset fetched once by either tool is found by both.
"""

from __future__ import annotations

import ast
import importlib.util
import os
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

# What a preset family is for here: the tasks TF Studio trains it on, or a wider task name
# shown in the catalog only (generation, detection... are listed, not trained).
FAMILY_TASK = {
    **dict.fromkeys(
        (
            "bert",
            "albert",
            "distil_bert",
            "roberta",
            "xlm_roberta",
            "deberta_v3",
            "electra",
            "f_net",
        ),
        "text-classification",
    ),
    **dict.fromkeys(
        (
            "resnet",
            "mobilenet",
            "efficientnet",
            "vit",
            "densenet",
            "vgg",
            "xception",
            "cspnet",
            "deit",
            "hgnetv2",
            "dinov2",
        ),
        "image-classification",
    ),
}
# Families the text classifier can put a head on (a BERT-style backbone + tokenizer).
BERT_FAMILIES = ("bert", "albert", "distil_bert", "roberta", "xlm_roberta", "deberta_v3", "electra")
# Licences as published on the families' Kaggle model pages; anything else says "see the model
# page" rather than guess.
LICENCE = {
    **dict.fromkeys(
        ("bert", "albert", "distil_bert", "electra", "f_net", "t5", "mistral", "mixtral"),
        "Apache 2.0",
    ),
    **dict.fromkeys(
        ("resnet", "mobilenet", "efficientnet", "vit", "densenet", "vgg", "xception"), "Apache 2.0"
    ),
    **dict.fromkeys(("roberta", "xlm_roberta", "deberta_v3", "gpt2", "phi3"), "MIT"),
    "gemma": "Gemma terms of use",
    "gemma3": "Gemma terms of use",
    "llama": "Llama 2 Community License",
    "llama3": "Llama 3 Community License",
}


@dataclass(frozen=True)
class PresetInfo:
    name: str
    family: str  # the keras_hub/src/models folder: bert, mobilenet, gemma, ...
    description: str
    params: int
    kaggle_handle: str  # kaggle://owner/model/framework/variation/version
    task: str  # text-classification | image-classification | other
    licence: str

    @property
    def approx_bytes(self) -> int:
        """Float32 weights plus the small config/tokenizer files: an estimate shown before the
        download (Kaggle states the exact size on its page, not in the package)."""
        return self.params * 4 + 1_000_000

    @property
    def page(self) -> str:
        owner, model = self.kaggle_handle.removeprefix("kaggle://").split("/")[:2]
        return f"https://www.kaggle.com/models/{owner}/{model}"

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "approx_bytes": self.approx_bytes, "page": self.page}


def _models_folder() -> Path | None:
    spec = importlib.util.find_spec("keras_hub")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "src" / "models"


def _literal_presets(path: Path) -> dict[str, Any]:
    try:
        tree = ast.parse(path.read_text())
    except (OSError, SyntaxError):
        return {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            getattr(t, "id", "") == "backbone_presets" for t in node.targets
        ):
            try:
                return ast.literal_eval(node.value)
            except ValueError:  # built with code, not a literal: not listed
                return {}
    return {}


@lru_cache(maxsize=1)
def presets() -> dict[str, PresetInfo]:
    """Every built-in preset of the installed keras_hub, by name (empty if it is missing)."""
    folder = _models_folder()
    found: dict[str, PresetInfo] = {}
    if folder is None:
        return found
    for path in sorted(folder.glob("*/*_presets.py")):
        family = path.parent.name
        for name, entry in _literal_presets(path).items():
            meta = entry.get("metadata", {})
            found[name] = PresetInfo(
                name=name,
                family=family,
                description=" ".join(str(meta.get("description", "")).split()),
                params=int(meta.get("params", 0) or 0),
                kaggle_handle=str(entry.get("kaggle_handle", "")),
                task=FAMILY_TASK.get(family, "other"),
                licence=LICENCE.get(family, "see the model page"),
            )
    return found


def kagglehub_cache() -> Path:
    return Path(
        os.environ.get("KAGGLEHUB_CACHE", Path.home() / ".cache" / "kagglehub")
    ).expanduser()


def cache_folder(info: PresetInfo) -> Path:
    """Where kagglehub (and so KerasHub) keeps this preset's files."""
    parts = info.kaggle_handle.removeprefix("kaggle://").split("/")
    return kagglehub_cache() / "models" / Path(*parts)


def is_cached(info: PresetInfo) -> bool:
    return (cache_folder(info) / "config.json").is_file()
