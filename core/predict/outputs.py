"""Predictions written as they come, a chunk at a time: CSV, Parquet or JSON lines.

The file appears under its name only when every chunk is written (a `.partial` file until then,
removed on failure), so a half-written prediction file is never mistaken for a whole one.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd

from core.errors import BadInput
from core.specs import PREDICTION_FORMATS


def check_out(out: str | Path) -> Path:
    """The output path: a known suffix and a folder that exists (BadInput otherwise)."""
    path = Path(out).expanduser()
    if path.suffix.lower() not in PREDICTION_FORMATS:
        raise BadInput(
            f"write predictions to a {', '.join(PREDICTION_FORMATS)} file, not {path.name!r}"
        )
    if not path.parent.is_dir():
        raise BadInput(f"the folder {str(path.parent)!r} does not exist")
    if path.is_dir():
        raise BadInput(f"{path} is a folder: give a file name such as predictions.csv")
    return path


class PredictionWriter:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.fmt = path.suffix.lower()
        self.partial = path.with_name(path.name + ".partial")
        self.rows = 0
        self._parquet = None
        self._file = None

    def write(self, frame: pd.DataFrame) -> None:
        if frame.empty:
            return
        if self.fmt == ".parquet":
            import pyarrow as pa
            import pyarrow.parquet as pq

            table = pa.Table.from_pandas(frame, preserve_index=False)
            if self._parquet is None:
                self._parquet = pq.ParquetWriter(self.partial, table.schema)
            self._parquet.write_table(table.cast(self._parquet.schema))
        elif self.fmt == ".jsonl":
            if self._file is None:
                self._file = self.partial.open("w", encoding="utf-8")
            for record in frame.to_dict(orient="records"):
                clean = {k: _json_value(v) for k, v in record.items()}
                self._file.write(json.dumps(clean, ensure_ascii=False) + "\n")
        else:
            first = self._file is None
            if first:
                self._file = self.partial.open("w", encoding="utf-8", newline="")
            frame.to_csv(self._file, header=first, index=False)
        self.rows += len(frame)

    def close(self) -> None:
        """Finish the file and give it its name."""
        if self._parquet is not None:
            self._parquet.close()
        if self._file is not None:
            self._file.close()
        if not self.partial.exists():
            self.partial.write_text("")  # no rows: an empty file, not a missing one
        self.partial.replace(self.path)

    def abort(self) -> None:
        if self._parquet is not None:
            self._parquet.close()
        if self._file is not None:
            self._file.close()
        self.partial.unlink(missing_ok=True)


def _json_value(value):
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "item"):
        return value.item()
    return value
