"""What a prediction takes: one typed row, one text, one image file or one saved test window.

Pure Python (pandas, numpy, Pillow): the page uses these to prefill and check its inputs, and the
predict job uses them to turn a spec into model inputs. Every problem is a `BadInput` that says
what to fix. TensorFlow is never imported here.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core.errors import BadInput
from core.models.io import trained_run_dir
from core.runs.store import RunStore
from core.training.families.common import load_test_inputs
from core.training.features import ModelContract
from core.workspace import Workspace

NUMERIC_DTYPES = ("float32", "float32_binned")
IMAGE_FORMATS = {"PNG": ".png", "JPEG": ".jpg"}
PLAYGROUND_DIR = "playground"


def source_run_dir(store: RunStore, ws: Workspace, run_id: str) -> Path:
    """The folder of a SUCCEEDED training run with a model and its contract (BadInput otherwise)."""
    return trained_run_dir(store, ws, run_id, "predictions need a training run")


def load_contract(run_dir: Path) -> ModelContract:
    path = Path(run_dir) / "features.json"
    if not path.is_file():
        raise BadInput(f"{path} is missing: the run has no model contract")
    return ModelContract.load(path)


# -- tables --------------------------------------------------------------------------------


def _number(column: str, value: Any) -> float:
    """A JSON value as a number; None, "" and NaN are a missing value (NaN)."""
    if value is None:
        return math.nan
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        if not value.strip():
            return math.nan
        try:
            number = float(value.strip())
        except ValueError:
            raise BadInput(f"column {column!r} needs a number, not {value!r}") from None
    else:
        raise BadInput(f"column {column!r} needs a number, not {value!r}")
    if math.isinf(number):
        raise BadInput(f"column {column!r} needs a finite number, not {value!r}")
    return number


def _text(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # a category typed as 3 or 3.0 is the category "3"
    if isinstance(value, dict | list):
        raise BadInput(f"a cell holds one value, not {value!r}")
    return str(value)


def parse_row(inputs_json: str, contract: ModelContract) -> pd.DataFrame:
    """A JSON object column -> value as a one-row frame with every input column of the model.

    Missing or empty values become NaN (numbers) or "" (categories), which the model's
    preprocessing treats as missing; the target column is ignored; any other unknown column, or
    a value that is not a number in a numeric column, is a BadInput.
    """
    try:
        row = json.loads(inputs_json) if inputs_json.strip() else {}
    except json.JSONDecodeError as exc:
        raise BadInput(f"the row is not valid JSON: {exc.msg} (at character {exc.pos})") from None
    if not isinstance(row, dict):
        raise BadInput('the row must be a JSON object such as {"column": value, ...}')
    columns = [f.column for f in contract.features]
    unknown = [c for c in row if c not in columns and c != contract.target]
    if unknown:
        raise BadInput(
            f"unknown column{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}: "
            f"the model takes {', '.join(columns)}"
        )
    values: dict[str, Any] = {}
    for f in contract.features:
        raw = row.get(f.column)
        if f.dtype in NUMERIC_DTYPES:
            values[f.column] = _number(f.column, raw)
        elif f.dtype == "int64":
            number = _number(f.column, raw)
            if not math.isnan(number) and not number.is_integer():
                raise BadInput(f"column {f.column!r} takes whole-number codes, not {raw!r}")
            values[f.column] = number
        else:
            values[f.column] = _text(raw)
    return pd.DataFrame([values], columns=columns)


def sample_row(run_dir: Path, contract: ModelContract) -> dict[str, Any]:
    """The first held-out test row of a table run (its input columns), to start editing from.

    Without a saved sample, every column is empty.
    """
    columns = [f.column for f in contract.features]
    path = Path(run_dir) / "test_sample.csv"
    row: dict[str, Any] = {c: None for c in columns}
    if path.is_file():
        head = pd.read_csv(path, nrows=1)
        if len(head):
            for c in columns:
                if c in head.columns:
                    value = head[c].iloc[0]
                    row[c] = None if pd.isna(value) else _plain(value)
    return row


def _plain(value: Any) -> Any:
    """A numpy scalar as the Python value it holds."""
    return value.item() if isinstance(value, np.generic) else value


def row_json(row: dict[str, Any]) -> str:
    """A row (possibly with NaN or numpy scalars) as the JSON a PredictSpec takes."""

    def clean(v: Any) -> Any:
        v = _plain(v)
        if v is None or (isinstance(v, float) and math.isnan(v)):
            return None
        if v is pd.NA or v is pd.NaT:
            return None
        return v

    return json.dumps({str(k): clean(v) for k, v in row.items()})


# -- text ----------------------------------------------------------------------------------


def parse_text(inputs_json: str, contract: ModelContract) -> str:
    """`{"text": "..."}` (or the text column's own name) -> the text; empty text is a BadInput."""
    try:
        data = json.loads(inputs_json) if inputs_json.strip() else {}
    except json.JSONDecodeError as exc:
        raise BadInput(f"the input is not valid JSON: {exc.msg}") from None
    column = contract.features[0].column if contract.features else "text"
    text: object  # whatever the JSON holds; checked below
    if isinstance(data, str):
        text = data
    elif isinstance(data, dict):
        text = data.get("text", data.get(column))
    else:
        text = None
    if not isinstance(text, str) or not text.strip():
        raise BadInput('type a text to classify (the input is {"text": "..."})')
    return text


def sample_text(run_dir: Path) -> str:
    """The first held-out test text of a text run, or "" without one."""
    path = Path(run_dir) / "test_inputs.npz"
    if not path.is_file():
        return ""
    first = load_test_inputs(path).get("input")
    return str(first.reshape(-1)[0]) if first is not None and first.size else ""


# -- images --------------------------------------------------------------------------------


def image_format(data: bytes) -> str:
    """PNG or JPEG for image bytes Pillow can read; BadInput for anything else."""
    import io

    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as image:
            fmt = image.format
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise BadInput("this file is not a PNG or JPEG image") from None
    if fmt not in IMAGE_FORMATS:
        raise BadInput(f"this is a {fmt} image; upload a PNG or JPEG")
    return fmt


def check_image(path: str | Path) -> Path:
    """An existing PNG or JPEG file (BadInput otherwise)."""
    if not str(path):
        raise BadInput("choose an image (PNG or JPEG) to classify")
    p = Path(path)
    if not p.is_file():
        raise BadInput(f"there is no image file {str(p)!r}")
    image_format(p.read_bytes())
    return p


def keep_bytes(folder: Path, data: bytes, name: str) -> Path:
    """Uploaded bytes kept once under `folder`, named by their hash then `name`; written whole
    (a temporary file renamed), so a reader never sees half of it."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{hashlib.sha256(data).hexdigest()[:16]}{name}"
    if not path.is_file():
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_bytes(data)
        tmp.replace(path)
    return path


def save_image(run_dir: Path, data: bytes) -> Path:
    """Keep an uploaded image under `<run_dir>/playground/<sha256>.png|.jpg` (checked first)."""
    suffix = IMAGE_FORMATS[image_format(data)]
    return keep_bytes(Path(run_dir) / PLAYGROUND_DIR, data, suffix)


# -- sequences -----------------------------------------------------------------------------


def saved_windows(run_dir: Path) -> np.ndarray:
    """The saved test windows of a forecasting run, shape (n, steps, columns)."""
    path = Path(run_dir) / "test_inputs.npz"
    if not path.is_file():
        raise BadInput(f"{path} is missing: the run saved no test windows")
    arrays = load_test_inputs(path)
    if "input" not in arrays:
        raise BadInput(f"{path} holds no test windows")
    return arrays["input"]


def pick_window(windows: np.ndarray, index: int) -> np.ndarray:
    """One window, shape (1, steps, columns); BadInput when `index` is out of range."""
    n = len(windows)
    if n == 0:
        raise BadInput("the run saved no test windows")
    if not 0 <= int(index) < n:
        raise BadInput(f"window {index} does not exist: choose a test window from 0 to {n - 1}")
    return windows[int(index) : int(index) + 1].astype("float32")
