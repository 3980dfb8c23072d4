"""The raw-feature contract of a tabular model: which columns go in, under what input names.

Saved as `features.json` beside every model, so exports, the CLI and tests can feed raw rows.
Pure Python + pandas; `to_inputs` imports TensorFlow only when called.
"""

from __future__ import annotations

import json
import keyword
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class FeatureSpec:
    column: str  # name in the user's table
    input: str  # name of the model input (a safe identifier)
    dtype: str  # float32 | float32_binned | string | string_hashed | int64


@dataclass
class ModelContract:
    """What the end-to-end model takes and gives.

    `input_kind` is table (one named input per column), image (float RGB, any size, 0-255),
    text (one string per example) or sequence (a window of shape (steps, len(features))).
    """

    task: str
    target: str
    features: list[FeatureSpec]
    classes: list[str] = field(default_factory=list)
    input_kind: str = "table"
    details: dict[str, Any] = field(default_factory=dict)  # window spec, image size, ...

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)

    @classmethod
    def load(cls, path: str | Path) -> ModelContract:
        d = json.loads(Path(path).read_text())
        d["features"] = [FeatureSpec(**f) for f in d["features"]]
        return cls(**d)

    def save(self, path: str | Path) -> None:
        Path(path).write_text(self.to_json())


def safe_input_names(columns: list[str]) -> dict[str, str]:
    """Column -> model input name valid in SavedModel signatures and TFLite, unique."""
    out: dict[str, str] = {}
    used: set[str] = set()
    for col in columns:
        name = re.sub(r"_+", "_", re.sub(r"[^A-Za-z0-9_]", "_", col)).strip("_") or "col"
        if not name[0].isalpha():
            name = "f_" + name
        if keyword.iskeyword(name):  # a SavedModel signature's inputs are Python parameters
            name += "_"
        base, i = name, 2
        while name.lower() in used:
            name, i = f"{base}_{i}", i + 1
        used.add(name.lower())
        out[col] = name
    return out


def raw_arrays(frame: pd.DataFrame, features: list[FeatureSpec]) -> dict[str, np.ndarray]:
    """Rows as numpy arrays keyed by input name, shape (n, 1); missing numbers stay NaN."""
    arrays: dict[str, np.ndarray] = {}
    for f in features:
        col = frame[f.column]
        if f.dtype in ("float32", "float32_binned"):
            arrays[f.input] = pd.to_numeric(col, errors="coerce").to_numpy("float32").reshape(-1, 1)
        elif f.dtype == "int64":  # missing codes become -1, which the lookup treats as unseen
            values = pd.to_numeric(col, errors="coerce").fillna(-1)
            arrays[f.input] = values.to_numpy("int64").reshape(-1, 1)
        else:
            values = col.astype(object).where(col.notna(), "").astype(str)
            arrays[f.input] = values.to_numpy(dtype=object).reshape(-1, 1)
    return arrays


def to_inputs(frame: pd.DataFrame, features: list[FeatureSpec]) -> dict[str, Any]:
    """Rows as TensorFlow tensors (Keras 3 refuses numpy string arrays)."""
    import tensorflow as tf

    return {
        k: tf.constant(v.astype(str) if v.dtype == object else v)
        for k, v in raw_arrays(frame, features).items()
    }
