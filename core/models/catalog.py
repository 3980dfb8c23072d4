"""ModelCatalog: every model the product can build, with its task, input kind and hyperparameters.

Entries are plain data, so the UI lists them without TensorFlow; `build` imports Keras lazily.
A builder takes hyperparameters and an input description and serves training and tuning alike.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from core.errors import BadInput
from core.models.backbones import KERAS_APPS


@dataclass(frozen=True)
class HyperParam:
    name: str
    kind: str  # int | float | choice | bool
    default: Any
    low: float | None = None
    high: float | None = None
    choices: tuple[Any, ...] = ()
    log: bool = False
    help: str = ""


@dataclass(frozen=True)
class CatalogEntry:
    name: str
    title: str
    tasks: tuple[str, ...]
    input_kind: str  # table | image | sequence | text
    description: str
    builder: str  # "module:function", imported only when building
    hyperparameters: tuple[HyperParam, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _entry(name, title, tasks, input_kind, description, hps) -> CatalogEntry:
    return CatalogEntry(
        name,
        title,
        tuple(tasks),
        input_kind,
        description,
        f"core.models.builders:build_{name.replace('-', '_')}",
        tuple(hps),
    )


DROPOUT = HyperParam("dropout", "float", 0.0, 0.0, 0.5, help="dropout after hidden layers")
LEARNING_RATE = HyperParam(
    "learning_rate", "float", 0.01, 1e-4, 1e-1, log=True, help="Adam step size"
)
HIDDEN = HyperParam(
    "hidden_units",
    "choice",
    (32, 16),
    choices=((16,), (32, 16), (64, 32), (128, 64, 32)),
    help="width of each hidden layer",
)
FORECAST = ("forecasting",)
# Embeddings and recurrent layers are less stable at the MLP's step size.
# Tables are often small (hundreds of rows): a step of 0.01 overshoots there (tips: test R² -0.09
# at 0.01, 0.33 at 0.001; benchmarks/README.md), and early stopping gives it the epochs it needs.
TABLE_LR = HyperParam("learning_rate", "float", 0.003, 1e-4, 1e-1, log=True, help="Adam step size")
SLOW_LR = HyperParam("learning_rate", "float", 0.003, 1e-4, 1e-1, log=True, help="Adam step size")

ENTRIES = (
    _entry(
        "mlp",
        "Multilayer perceptron",
        ("classification", "regression"),
        "table",
        "Dense layers over the preprocessed columns (normalised numbers, one-hot categories). "
        "A strong, fast baseline for tabular data.",
        (HIDDEN, DROPOUT, TABLE_LR),
    ),
    _entry(
        "cnn",
        "Small CNN",
        ("image-classification",),
        "image",
        "Three convolution + pooling blocks and global average pooling, trained from scratch. "
        "Images are resized and rescaled by Keras layers.",
        (
            HyperParam("filters", "choice", 16, choices=(8, 16, 32), help="filters of block 1"),
            HyperParam("blocks", "int", 3, 1, 4, help="convolution blocks"),
            HyperParam("dropout", "float", 0.2, 0.0, 0.5, help="dropout before the head"),
            HyperParam("learning_rate", "float", 0.001, 1e-4, 1e-2, log=True, help="Adam step"),
        ),
    ),
    _entry(
        "tfidf-text",
        "TF-IDF text classifier",
        ("text-classification",),
        "text",
        "TextVectorization's TF-IDF of the words (adapted on the training texts) -> "
        "dropout -> a softmax layer: TF-IDF + logistic regression, the classic strong text "
        "baseline, as a Keras model. Takes raw strings, also when served.",
        (
            HyperParam(
                "hidden_units",
                "choice",
                (),
                choices=((), (32,), (64,)),
                help="dense layers after TF-IDF (none: a linear model)",
            ),
            HyperParam("input_dropout", "float", 0.5, 0.0, 0.8, help="dropout on TF-IDF"),
            DROPOUT,
            LEARNING_RATE,
        ),
    ),
    _entry(
        "text",
        "Text classifier",
        ("text-classification",),
        "text",
        "TextVectorization (adapted on the training texts) -> embedding -> average -> dense. "
        "Takes raw strings, also when served.",
        (
            HyperParam("embedding_dim", "choice", 32, choices=(16, 32, 64, 128)),
            HyperParam("hidden_units", "choice", (32,), choices=((16,), (32,), (64,))),
            DROPOUT,
            SLOW_LR,
        ),
    ),
    _entry(
        "dense-forecast",
        "Dense forecaster",
        FORECAST,
        "sequence",
        "The input window flattened into dense layers; a strong baseline for short series.",
        (HIDDEN, DROPOUT, SLOW_LR),
    ),
    _entry(
        "lstm",
        "LSTM forecaster",
        FORECAST,
        "sequence",
        "A long short-term memory layer reads the window step by step.",
        (HyperParam("units", "choice", 32, choices=(16, 32, 64, 128)), SLOW_LR),
    ),
    _entry(
        "gru",
        "GRU forecaster",
        FORECAST,
        "sequence",
        "A gated recurrent unit layer: like the LSTM, with fewer parameters.",
        (HyperParam("units", "choice", 32, choices=(16, 32, 64, 128)), SLOW_LR),
    ),
    _entry(
        "conv1d",
        "1-D CNN forecaster",
        FORECAST,
        "sequence",
        "Causal 1-D convolutions over time, then global pooling.",
        (
            HyperParam("filters", "choice", 32, choices=(16, 32, 64)),
            HyperParam("kernel_size", "int", 3, 2, 7),
            SLOW_LR,
        ),
    ),
)

TRANSFER_HPS = (
    HyperParam("dropout", "float", 0.2, 0.0, 0.5, help="dropout before the new head"),
    HyperParam("learning_rate", "float", 0.001, 1e-5, 1e-2, log=True, help="Adam step size"),
)


def _transfer_entry(name: str, title: str, description: str) -> CatalogEntry:
    return CatalogEntry(
        name,
        title,
        ("image-classification",),
        "image",
        description,
        "core.models.builders:build_transfer",
        TRANSFER_HPS,
    )


APPLICATIONS = tuple(
    _transfer_entry(
        f"keras-app:{app}",
        f"{app} (Keras Applications)",
        f"{app} backbone, frozen, with a new classification head; optionally fine-tune its top "
        "layers. ImageNet weights from --weights PATH, the Keras cache, or downloaded once "
        "(offline: a clear error); random initialisation only with --weights random.",
    )
    for app in KERAS_APPS
)

CATALOG: dict[str, CatalogEntry] = {e.name: e for e in (*ENTRIES, *APPLICATIONS)}

# Handles with a free-form part: `hub:URL-or-folder`, `kerashub:preset-folder`.
HANDLES = {
    "hub": _transfer_entry(
        "hub",
        "TF Hub model",
        "A TF Hub image feature vector (URL or local "
        "SavedModel folder) as a frozen backbone, via keras.layers.TFSMLayer.",
    ),
    "kerashub": _transfer_entry(
        "kerashub",
        "KerasHub preset",
        "A KerasHub image backbone, by preset name (downloaded once) or from a local preset "
        "folder (KerasHub is the Keras 3 home of the Model Garden).",
    ),
}

# The new head's hyperparameters on a pretrained text encoder, KerasHub and TF Hub alike.
TEXT_HEAD_HPS = (
    HyperParam("dropout", "float", 0.1, 0.0, 0.5, help="dropout before the new head"),
    HyperParam("learning_rate", "float", 0.001, 1e-5, 1e-2, log=True, help="Adam step"),
)

TEXT_TRANSFER = CatalogEntry(
    "kerashub-text",
    "KerasHub text encoder",
    ("text-classification",),
    "text",
    "A BERT-family KerasHub preset (by name, downloaded once, or a local preset folder): its "
    "own tokenizer and preprocessor, the encoder frozen, a new classification head; optionally "
    "fine-tune its top layers.",
    "core.models.builders:build_text_transfer",
    TEXT_HEAD_HPS,
)

HUB_TEXT_TRANSFER = CatalogEntry(
    "hub-text",
    "TF Hub text encoder",
    ("text-classification",),
    "text",
    "A TF Hub text encoder (URL, downloaded once): raw strings through its preprocessing "
    "model when it has one (BERT: the matching bert_*_preprocess), the encoder frozen "
    "(keras.layers.TFSMLayer), a new classification head.",
    "core.models.builders:build_hub_text_transfer",
    TEXT_HEAD_HPS,
)


def _handle_entry(name: str) -> CatalogEntry:
    """The template for a `hub:`/`kerashub:` handle: text or image, by what the model is."""
    prefix, _, handle = name.partition(":")
    if prefix == "kerashub" and handle_task(name) == "text-classification":
        return TEXT_TRANSFER
    if prefix == "hub" and handle_task(name) == "text-classification":
        from core.models.hub_handles import check_hub_task

        check_hub_task(handle, "text-classification")  # says why a listed encoder is not trained
        return HUB_TEXT_TRANSFER
    return HANDLES[prefix]


def handle_task(name: str) -> str | None:
    """The task a handle's model is for, from KerasHub's registry, a preset folder's config or
    the curated TF Hub list (None when nothing says)."""
    import json
    from pathlib import Path

    from core.models.hub_handles import guess_task
    from core.models.kerashub_registry import BERT_FAMILIES, presets

    prefix, _, handle = name.partition(":")
    if prefix == "hub":
        return guess_task(handle)
    info = presets().get(handle)
    if info is not None:
        return info.task
    config = Path(handle).expanduser() / "config.json"
    if config.is_file():
        try:
            module = str(json.loads(config.read_text()).get("module", ""))
        except (OSError, ValueError):
            return None
        family = module.split(".")[-2] if module.count(".") >= 2 else ""
        return "text-classification" if family in BERT_FAMILIES else "image-classification"
    return None


# The model each task gets when the user does not choose one.
DEFAULT_MODEL = {
    "classification": "mlp",
    "regression": "mlp",
    "forecasting": "dense-forecast",
    "image-classification": "cnn",
    "text-classification": "tfidf-text",
}


def get_entry(name: str) -> CatalogEntry:
    prefix = name.partition(":")[0]
    if prefix in HANDLES and ":" in name:
        return _handle_entry(name)
    try:
        return CATALOG[name]
    except KeyError:
        raise BadInput(f"unknown model {name!r}; the catalog has: {', '.join(CATALOG)}") from None


def list_entries(task: str | None = None, handles: bool = False) -> list[CatalogEntry]:
    """Catalog entries for a task; `handles` adds the hub:/kerashub: templates."""
    templates = (*HANDLES.values(), TEXT_TRANSFER, HUB_TEXT_TRANSFER)
    entries = [*CATALOG.values(), *(templates if handles else ())]
    return [e for e in entries if task is None or task in e.tasks]


def check_fits(name: str, task: str, input_kind: str) -> CatalogEntry:
    """Refuse a model that does not fit the data before any run starts."""
    entry = get_entry(name)
    if input_kind != entry.input_kind or task not in entry.tasks:
        raise BadInput(
            f"model {name!r} takes {entry.input_kind} input for {'/'.join(entry.tasks)}, but "
            f"this is {input_kind} data for {task}: "
            f"try {DEFAULT_MODEL.get(task, 'another model')!r}"
        )
    return entry


def default_hp(name: str) -> dict[str, Any]:
    return {h.name: h.default for h in get_entry(name).hyperparameters}


def build(name: str, hp: dict[str, Any], input_shape: tuple, task: str, outputs):
    """Build a catalog model with Keras (call inside a worker)."""
    import importlib

    entry = get_entry(name)
    module, _, func = entry.builder.partition(":")
    builder = getattr(importlib.import_module(module), func)
    if is_transfer(name):
        hp = {"backbone": name, **hp}
    return builder({**default_hp(name), **hp}, input_shape, task, outputs)


def is_transfer(name: str) -> bool:
    """A pretrained backbone with a new head (keras-app:, hub:, kerashub:)."""
    return name.partition(":")[0] in ("keras-app", "hub", "kerashub") and ":" in name
