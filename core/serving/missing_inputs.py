"""Which inputs of a SavedModel fill missing values themselves, kept beside the graph.

TF Studio's table models replace NaN in every numeric input (`FillMissing`), so the REST server
takes JSON `null` there as a missing value (#34); TF Serving refuses null for any number. The
list rides in the SavedModel's `assets.extra/` (a folder TF Serving and TensorFlow ignore).
"""

from __future__ import annotations

import json
from pathlib import Path

FILE = Path("assets.extra") / "tfstudio_missing_inputs.json"
FILLED_DTYPES = ("float32", "float32_binned")


def write(saved_dir: str | Path, contract) -> None:
    """Record the contract's numeric inputs (those its preprocessing fills) in the SavedModel."""
    if contract is None or contract.input_kind != "table":
        return
    names = [f.input for f in contract.features if f.dtype in FILLED_DTYPES]
    path = Path(saved_dir) / FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"inputs": names}))


def read(saved_dir: str | Path) -> set[str]:
    path = Path(saved_dir) / FILE
    try:
        return set(json.loads(path.read_text()).get("inputs", []))
    except (OSError, ValueError, AttributeError):
        return set()
