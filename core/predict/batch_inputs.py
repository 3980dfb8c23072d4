"""What a batch prediction reads: a whole file, folder or dataset, in chunks of bounded size,
checked against the model's contract before any TensorFlow loads.

Pure Python (pandas, pyarrow, csv): `open_source` looks at the file's head and header (missing
columns, an empty file, a table given to an image model) so a mistake fails in a second with a
message that says what to fix; `Source.chunks()` then yields the examples a chunk at a time, each
with the rows that could not be read (by their row or line number, or file name) and why.
"""

from __future__ import annotations

import io
import json
import math
import warnings
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from core.data.datasets import DatasetStore
from core.data.parsing import MISSING_MARKERS, parse_numbers
from core.data.sniff import ReadOptions, csv_plan, detect_format
from core.errors import BadInput
from core.predict.inputs import NUMERIC_DTYPES
from core.training.features import ModelContract
from core.workspace import Workspace

HEAD_BYTES = 1 << 20
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp")
SKIPPED_PARTS = ("__MACOSX", ".DS_Store", "Thumbs.db")
_CODEC = {"utf-8": "utf-8", "utf-8-sig": "utf-8-sig", "cp1252": "cp1252", "latin-1": "latin-1"}


@dataclass
class BadRow:
    where: str  # "row 12", "line 7", "cats/x.png"
    reason: str

    def to_dict(self) -> dict[str, str]:
        return {"where": self.where, "reason": self.reason}


@dataclass
class Chunk:
    """Examples read together: `ids` names each one in the output (row number or file name)."""

    ids: list
    frame: pd.DataFrame | None = None  # tables (typed feature columns) and texts ("text")
    images: list[bytes] = field(default_factory=list)
    bad: list[BadRow] = field(default_factory=list)
    done: float = 0.0  # how far through the source, in `Source.total` units


@dataclass
class Source:
    """An opened input: what it is, how big, what the output's id column is called."""

    kind: str  # table | text | image | sequence
    path: Path
    fmt: str  # csv | parquet | jsonl | txt | zip | folder | dataset
    total: float  # bytes or files, for progress
    id_column: str  # row | line | file | step
    ignored_columns: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    _header: list[str] = field(default_factory=list)
    _plan: object = None
    _files: list = field(default_factory=list)


# -- opening -------------------------------------------------------------------------------


def resolve_data(data: str, ws: Workspace) -> Path:
    """A file or folder path, or a dataset id's stored table or image folder."""
    if not str(data).strip():
        raise BadInput("choose the file to predict on: a table, texts, an image zip or folder")
    path = Path(data).expanduser()
    if path.exists():
        return path
    store = DatasetStore(ws)
    if store.is_ref(data):
        version = store.get(data)
        return version.folder if version.kind == "images" else store.table_path(version)
    raise BadInput(f"no such file, folder or dataset: {data}")


def open_source(data: str, contract: ModelContract, ws: Workspace) -> Source:
    """The input checked against the model: BadInput for what cannot be predicted on."""
    path = resolve_data(data, ws)
    kind = contract.input_kind
    if kind == "image":
        return _open_images(path)
    if path.is_dir():
        raise BadInput(f"{path.name} is a folder: this {kind} model takes a table file")
    if path.stat().st_size == 0:
        raise BadInput(f"{path.name} is empty: give a file with a header row and data rows")
    with path.open("rb") as f:
        head = f.read(HEAD_BYTES)
    fmt = detect_format(head, path.name)
    if fmt == "zip":
        raise BadInput(f"{path.name} is a zip archive, but this {kind} model takes a table file")
    if kind == "text" and path.suffix.lower() == ".txt" and _one_text_per_line(head):
        return Source("text", path, "txt", path.stat().st_size, "line")
    source = Source(kind, path, fmt, float(path.stat().st_size), "row")
    if fmt == "parquet":
        import pyarrow.parquet as pq

        try:
            source._header = list(pq.read_schema(path).names)
        except Exception as exc:  # noqa: BLE001 - pyarrow raises several types for a bad file
            raise BadInput(f"{path.name} is not a readable Parquet file: {exc}") from None
    elif fmt == "jsonl":
        source.id_column = "line"
        source._header = _jsonl_keys(head, path.name)
    else:
        if head.startswith((b"\xff\xfe", b"\xfe\xff")):
            raise BadInput(f"{path.name} is UTF-16: save it as UTF-8 and try again")
        plan = csv_plan(head, path.name, ReadOptions(), whole=len(head) < HEAD_BYTES)
        source._plan = plan
        source._header = [h.strip() for h in plan.rows[0]] if plan.rows else []
    _check_columns(source, contract)
    return source


def _one_text_per_line(head: bytes) -> bool:
    """A .txt with no delimiter-separated header: one text per line."""
    first = head.split(b"\n", 1)[0]
    return not any(d in first for d in (b",", b"\t", b";", b"|"))


def _jsonl_keys(head: bytes, name: str) -> list[str]:
    for line in head.decode("utf-8", errors="replace").splitlines():
        if line.strip():
            try:
                first = json.loads(line)
            except json.JSONDecodeError:
                raise BadInput(f"the first line of {name} is not a JSON object") from None
            if not isinstance(first, dict):
                raise BadInput(f"each line of {name} must be a JSON object of column -> value")
            return list(first)
    raise BadInput(f"{name} holds no JSON lines")


def needed_columns(contract: ModelContract) -> list[str]:
    if contract.input_kind == "text":
        return [contract.features[0].column] if contract.features else ["text"]
    return [f.column for f in contract.features]


def _check_columns(source: Source, contract: ModelContract) -> None:
    """Missing columns refuse the file; others are ignored and named (reordering is fine)."""
    header = source._header
    needed = needed_columns(contract)
    if source.kind == "text" and needed[0] not in header and "text" in header:
        needed = ["text"]
    missing = [c for c in needed if c not in header]
    if missing:
        raise BadInput(
            f"{source.path.name} lacks the column{'s' if len(missing) > 1 else ''} "
            f"{', '.join(map(repr, missing))} that the model takes (it takes "
            f"{', '.join(needed)}; the file has {', '.join(header[:20]) or 'no columns'})"
        )
    targets = set(contract.target.split(","))
    extra = [c for c in header if c not in needed and c not in targets]
    if source.kind == "sequence":
        extra = [c for c in extra if c != contract.details.get("time_column")]
    source.ignored_columns = extra
    source._header = needed


def _open_images(path: Path) -> Source:
    if path.is_dir():
        files = sorted(
            p
            for p in path.rglob("*")
            if p.is_file()
            and p.suffix.lower() in IMAGE_SUFFIXES
            and not any(s in p.parts for s in SKIPPED_PARTS)
        )
        rel = [(str(p.relative_to(path)), p) for p in files]
        fmt = "folder"
    else:
        if not zipfile.is_zipfile(path):
            raise BadInput(
                f"{path.name} is not a zip archive or a folder: this image model takes images "
                "(a zip or a folder of PNG or JPEG files)"
            )
        with zipfile.ZipFile(path) as z:
            names = [
                n
                for n in z.namelist()
                if not n.endswith("/")
                and Path(n).suffix.lower() in IMAGE_SUFFIXES
                and not any(s in Path(n).parts for s in SKIPPED_PARTS)
            ]
        rel = [(n, n) for n in sorted(names)]
        fmt = "zip"
    if not rel:
        raise BadInput(f"{path.name} holds no images (PNG, JPEG, BMP, GIF or WebP files)")
    return Source("image", path, fmt, float(len(rel)), "file", _files=rel)


# -- reading -------------------------------------------------------------------------------


def chunks(source: Source, contract: ModelContract, rows: int) -> Iterator[Chunk]:
    """The source's examples, `rows` at a time (images: at most 256 at a time)."""
    if source.kind == "image":
        yield from _image_chunks(source, min(rows, 256))
    elif source.fmt == "txt":
        yield from _txt_chunks(source, rows)
    elif source.fmt == "jsonl":
        yield from _typed(source, contract, _jsonl_frames(source, rows))
    elif source.fmt == "parquet":
        yield from _typed(source, contract, _parquet_frames(source, rows))
    else:
        yield from _typed(source, contract, _csv_frames(source, rows))


def _csv_frames(source: Source, rows: int):
    plan = source._plan
    raw = source.path.open("rb")
    first_row = 1
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            reader = pd.read_csv(
                raw,
                sep=plan.delimiter,
                encoding=_CODEC.get(plan.encoding, "utf-8"),
                dtype=str,
                keep_default_na=False,
                na_filter=False,
                skiprows=plan.comments,
                skipinitialspace=True,
                on_bad_lines="warn",
                chunksize=rows,
            )
            for frame in reader:
                frame.columns = [str(c).strip() for c in frame.columns]
                bad = [BadRow(*_line_of(w)) for w in caught]
                caught.clear()
                ids = list(range(first_row, first_row + len(frame)))
                first_row += len(frame)
                yield ids, frame, bad, float(raw.tell())
    except pd.errors.ParserError as exc:
        raise BadInput(f"{source.path.name} could not be read as a table: {exc}") from None
    except UnicodeDecodeError:
        raise BadInput(
            f"{source.path.name} changes its text encoding part way through: save it as UTF-8"
        ) from None
    finally:
        raw.close()


def _line_of(w: warnings.WarningMessage) -> tuple[str, str]:
    """pandas' 'Skipping line 7: expected 5 fields, saw 6' as ("line 7", the reason)."""
    text = str(w.message).strip()
    head, _, reason = text.partition(":")
    where = head.replace("Skipping ", "").strip() or "a line"
    return where, (reason.strip() or text) + " (wrong number of fields)"


def _parquet_frames(source: Source, rows: int):
    import pyarrow.parquet as pq

    f = pq.ParquetFile(source.path)
    total = max(1, f.metadata.num_rows)
    first_row = 1
    for batch in f.iter_batches(batch_size=rows, columns=source._header):
        frame = batch.to_pandas()
        ids = list(range(first_row, first_row + len(frame)))
        first_row += len(frame)
        yield ids, frame, [], source.total * min(1.0, (first_row - 1) / total)


def _jsonl_frames(source: Source, rows: int):
    records: list[dict] = []
    ids: list[int] = []
    bad: list[BadRow] = []
    done = 0
    with source.path.open("rb") as f:
        for number, line in enumerate(f, start=1):
            done += len(line)
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except (json.JSONDecodeError, UnicodeDecodeError):
                bad.append(BadRow(f"line {number}", "not valid JSON (UTF-8)"))
                continue
            if not isinstance(value, dict):
                bad.append(BadRow(f"line {number}", "not a JSON object of column -> value"))
                continue
            if any(isinstance(value.get(c), dict | list) for c in source._header):
                bad.append(BadRow(f"line {number}", "a cell holds a list or an object"))
                continue
            records.append({c: value.get(c) for c in source._header})
            ids.append(number)
            if len(records) >= rows:
                yield ids, pd.DataFrame(records, columns=source._header), bad, float(done)
                records, ids, bad = [], [], []
    if records or bad:
        yield ids, pd.DataFrame(records, columns=source._header), bad, float(done)


def _typed(source: Source, contract: ModelContract, frames) -> Iterator[Chunk]:
    """Raw frames -> the model's typed columns; rows with a value that cannot be read are bad."""
    markers = tuple(getattr(source._plan, "markers", MISSING_MARKERS))
    decimal = getattr(source._plan, "decimal", ".")
    thousands = getattr(source._plan, "thousands", None)
    word = "line" if source.id_column == "line" else "row"
    for ids, frame, bad, done in frames:
        bad = list(bad)
        keep = np.ones(len(frame), dtype=bool)
        typed: dict[str, pd.Series] = {}
        if source.kind == "text":
            column = source._header[0]
            texts = frame[column].astype(object).where(frame[column].notna(), "").astype(str)
            empty = texts.str.strip().eq("").to_numpy()
            for i in np.flatnonzero(empty & keep):
                bad.append(BadRow(f"{word} {ids[i]}", "the text is empty"))
            keep &= ~empty
            typed["text"] = texts
        else:
            for f in contract.features:
                col = frame[f.column].reset_index(drop=True)
                if f.dtype in NUMERIC_DTYPES or f.dtype in ("int64", "window"):
                    values, problems = _numbers(col, f.column, f.dtype, decimal, thousands, markers)
                    for i, reason in problems:
                        if keep[i]:
                            bad.append(BadRow(f"{word} {ids[i]}", reason))
                        keep[i] = False
                    typed[f.column] = values
                else:
                    text = col.astype(object).where(col.notna(), "").map(_cell)
                    typed[f.column] = text.where(~text.str.strip().isin(markers), "")
        out = pd.DataFrame(typed)[keep].reset_index(drop=True)
        yield Chunk([ids[i] for i in np.flatnonzero(keep)], out, bad=bad, done=done)


def _numbers(col: pd.Series, name: str, dtype: str, decimal: str, thousands, markers):
    """(the column as floats, [(position, why)] for values a number column cannot take)."""
    values, failed = parse_numbers(col, decimal, thousands, markers)
    problems = [(int(i), f"{name!r} needs a number, not {raw!r}") for i, raw in failed.items()]
    array = values.to_numpy()
    problems += [
        (int(i), f"{name!r} needs a finite number") for i in np.flatnonzero(np.isinf(array))
    ]
    if dtype == "int64":
        finite = np.isfinite(array)
        fraction = finite & (np.floor(np.where(finite, array, 0)) != np.where(finite, array, 0))
        problems += [
            (int(i), f"{name!r} takes whole-number codes") for i in np.flatnonzero(fraction)
        ]
    return values, problems


def _cell(value) -> str:
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        if value.is_integer():
            return str(int(value))  # a category written 3 or 3.0 is the category "3"
    return str(value)


def _txt_chunks(source: Source, rows: int) -> Iterator[Chunk]:
    ids: list[int] = []
    texts: list[str] = []
    bad: list[BadRow] = []
    done = 0
    with source.path.open("rb") as f:
        for number, line in enumerate(f, start=1):
            done += len(line)
            try:
                text = line.decode("utf-8-sig" if number == 1 else "utf-8").rstrip("\r\n")
            except UnicodeDecodeError:
                bad.append(BadRow(f"line {number}", "not UTF-8 text"))
                continue
            if not text.strip():
                continue  # blank lines separate nothing
            ids.append(number)
            texts.append(text)
            if len(texts) >= rows:
                yield Chunk(ids, pd.DataFrame({"text": texts}), bad=bad, done=float(done))
                ids, texts, bad = [], [], []
    if texts or bad:
        yield Chunk(ids, pd.DataFrame({"text": texts}), bad=bad, done=float(done))


def _image_chunks(source: Source, rows: int) -> Iterator[Chunk]:
    from core.predict.inputs import image_format

    z = zipfile.ZipFile(source.path) if source.fmt == "zip" else None
    try:
        for start in range(0, len(source._files), rows):
            ids, data, bad = [], [], []
            for name, where in source._files[start : start + rows]:
                raw = z.read(where) if z is not None else Path(where).read_bytes()
                try:
                    _check_image(raw, image_format)
                except BadInput as exc:
                    bad.append(BadRow(name, str(exc)))
                    continue
                ids.append(name)
                data.append(raw)
            done = float(min(len(source._files), start + rows))
            yield Chunk(ids, images=data, bad=bad, done=done)
    finally:
        if z is not None:
            z.close()


def _check_image(raw: bytes, image_format) -> None:
    """PNG or JPEG that Pillow can decode (others would fail inside TensorFlow's decoder)."""
    try:
        image_format(raw)
    except BadInput:
        from PIL import Image

        try:  # BMP, GIF and WebP: readable, re-encoded as PNG by the caller
            with Image.open(io.BytesIO(raw)) as image:
                image.load()
        except Exception:  # noqa: BLE001 - Pillow raises many types for a broken file
            raise BadInput("this file is not an image that can be decoded") from None


# -- series --------------------------------------------------------------------------------


def last_window(source: Source, contract: ModelContract) -> tuple[np.ndarray, str]:
    """(the series' last window, shape (1, steps, columns); the time of its last step)."""
    from core.data.sources import read_table

    frame = read_table(source.path).frame
    window = contract.details.get("window", {})
    width = int(window.get("input_width", 0))
    columns = [f.column for f in contract.features]
    time_col = contract.details.get("time_column", "")
    if time_col and time_col in frame.columns:
        frame = frame.sort_values(time_col, kind="stable")
    if len(frame) < width:
        raise BadInput(
            f"{source.path.name} has {len(frame)} steps; the model needs the last {width} to "
            "forecast from"
        )
    tail = frame.tail(width)
    values = np.empty((width, len(columns)), dtype="float32")
    for j, c in enumerate(columns):
        numbers, failed = parse_numbers(tail[c])
        if len(failed) or numbers.isna().any():
            raise BadInput(
                f"the last {width} steps of {c!r} must all be numbers: fill the gaps first "
                f"({int(numbers.isna().sum())} missing or unreadable)"
            )
        values[:, j] = numbers.to_numpy("float32")
    last = str(tail[time_col].iloc[-1]) if time_col and time_col in tail.columns else ""
    return values[None], last
