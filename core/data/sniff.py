"""How a text table is read: options, results, and what is detected in a CSV's first megabyte
(encoding, delimiter, number format, comment lines), before any row is parsed. Shared by the
whole-file reader (core.data.sources) and the streaming import (core.data.import_stream).
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow as pa

from core.data.limits import MAX_COLUMNS
from core.data.parsing import (
    MISSING_MARKERS,
    NumberFormat,
    detect_number_format,
    markers_found,
    sample_rows,
)
from core.errors import BadInput

SNIFF_BYTES = 1 << 20
DELIMITERS = ",;\t|"


@dataclass(frozen=True)
class ReadOptions:
    """How to read a text table; None means detect."""

    delimiter: str | None = None
    encoding: str | None = None  # utf-8 | utf-8-sig | utf-16 | cp1252 | latin-1
    decimal: str | None = None  # "." or ","
    skip_bad_rows: bool = False  # skip rows with the wrong number of fields (counted)
    thousands: str | None = None  # "," "." " " "'" or "" for none; None = detect
    missing: tuple[str, ...] | None = None  # values that mean "missing"; None = MISSING_MARKERS


@dataclass
class ReadResult:
    frame: pd.DataFrame
    format: str  # csv | parquet | jsonl
    delimiter: str | None = None
    encoding: str | None = None
    decimal: str | None = None
    skipped_rows: int = 0
    notes: list[str] = field(default_factory=list)
    thousands: str | None = None
    missing: tuple[str, ...] = MISSING_MARKERS  # what was read as missing
    markers_found: dict[str, int] = field(default_factory=dict)  # in the sniffed rows
    left_as_text: dict[str, str] = field(default_factory=dict)  # numeric-looking text columns

    def describe(self) -> dict:
        return {
            "format": self.format,
            "delimiter": self.delimiter,
            "encoding": self.encoding,
            "decimal": self.decimal,
            "thousands": self.thousands,
            "missing": list(self.missing),
            "markers_found": self.markers_found,
            "left_as_text": self.left_as_text,
            "skipped_rows": self.skipped_rows,
        }

    @property
    def number_format(self) -> NumberFormat:
        return NumberFormat(self.decimal or ".", self.thousands or None)


def detect_format(head: bytes, name: str) -> str:
    suffix = Path(name).suffix.lower()
    if head[:4] == b"PAR1" or suffix in (".parquet", ".pq"):
        return "parquet"
    if head[:4] == b"PK\x03\x04" or suffix == ".zip":
        return "zip"
    if suffix in (".jsonl", ".ndjson") or head.lstrip()[:1] == b"{":
        return "jsonl"
    return "csv"


def detect_encoding(head: bytes, whole: bool = True) -> str:
    """UTF-8 (with or without BOM) when the bytes decode as UTF-8; UTF-16 with its BOM; else
    cp1252 when the bytes use its printable characters in 0x80-0x9f (curly quotes, euro), else
    Latin-1.

    `whole` says the sample is the entire file; otherwise a multi-byte character cut by the
    sample's end does not count against UTF-8.
    """
    if head.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if whole or exc.start < len(head) - 4:
            if any(0x80 <= b <= 0x9F for b in head):
                try:
                    head.decode("cp1252")
                    return "cp1252"
                except UnicodeDecodeError:
                    pass
            return "latin-1"
    return "utf-8"


def detect_delimiter(text: str) -> str:
    sample = "\n".join(text.splitlines()[:200])
    try:
        return csv.Sniffer().sniff(sample, delimiters=DELIMITERS).delimiter
    except csv.Error:
        header = sample.splitlines()[0] if sample else ""
        counts = {d: header.count(d) for d in DELIMITERS}
        best = max(counts, key=lambda d: counts[d])
        return best if counts[best] else ","


def check_text(head: bytes, name: str) -> None:
    if not head.strip():
        raise BadInput(f"{name} is empty: give a file with a header row and data rows")
    if b"\x00" in head[:65536]:
        raise BadInput(f"{name} is not a text file (it contains binary data): give a CSV file")
    # Judge printability in the text's own encoding: read as Latin-1, UTF-8's continuation
    # bytes look like control characters and Cyrillic, Greek or CJK text would be refused.
    chunk = head[:65536]
    try:
        sample = chunk.decode("utf-8")
    except UnicodeDecodeError as exc:
        sample = (
            chunk[: exc.start].decode("utf-8")
            if exc.start >= len(chunk) - 4
            else chunk.decode("cp1252", errors="replace")
        )
    sample = sample.lstrip("\ufeff")  # a byte-order mark is not text
    printable = sum(ch.isprintable() or ch in "\r\n\t" for ch in sample)
    if printable < 0.95 * len(sample):
        raise BadInput(f"{name} is not a text file (mostly unprintable bytes): give a CSV file")


def finish_columns(frame: pd.DataFrame, name: str) -> pd.DataFrame:
    if len(frame.columns) > MAX_COLUMNS:
        raise BadInput(
            f"{name} has {len(frame.columns):,} columns; TF Studio takes at most {MAX_COLUMNS:,} "
            "(select the columns you need, or store wide numeric data as images/arrays)"
        )
    names = [str(c).strip() for c in frame.columns]
    # a delimiter at the end of every line makes a last column with no name and no values
    while len(names) > 1 and names[-1] == "" and frame.iloc[:, -1].isna().all():
        frame = frame.iloc[:, :-1]
        names.pop()
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise BadInput(f"{name} has duplicate column names ({', '.join(dupes)}): rename them")
    frame.columns = names
    if len(frame) == 0:
        raise BadInput(f"{name} has a header row but no data rows")
    return frame


@dataclass(frozen=True)
class CsvPlan:
    """How a CSV file will be read: what was detected in its first megabyte, or chosen."""

    encoding: str  # utf-8 | utf-8-sig | cp1252 | latin-1
    delimiter: str
    decimal: str
    thousands: str | None
    markers: tuple[str, ...]  # values read as missing
    comments: int  # '#' lines above the header, skipped
    text: str  # the sniffed text, from the header on
    rows: tuple[tuple[str, ...], ...]  # the sampled rows, header first

    @property
    def arrow_encoding(self) -> str:
        return ARROW_CODEC.get(self.encoding, "utf8")

    def convert_options(self, **extra) -> dict:
        return {
            "decimal_point": self.decimal,
            "null_values": list(self.markers) or [""],
            "strings_can_be_null": True,
            "quoted_strings_can_be_null": False,
            **extra,
        }

    def notes(self, skipped: int) -> list[str]:
        notes = [f"skipped {skipped} row(s) with the wrong number of fields"] if skipped else []
        if self.comments:
            notes.append(
                f"skipped {self.comments} comment line(s) starting with '#' above the header"
            )
        return notes

    def result(self, frame: pd.DataFrame, skipped: int, left_as_text: dict) -> ReadResult:
        return ReadResult(
            frame,
            "csv",
            self.delimiter,
            self.encoding,
            self.decimal,
            skipped,
            self.notes(skipped),
            thousands=self.thousands,
            missing=self.markers,
            markers_found=markers_found([list(r) for r in self.rows], self.markers),
            left_as_text=left_as_text,
        )


def csv_plan(head: bytes, name: str, opts: ReadOptions, whole: bool) -> CsvPlan:
    """Detect (or take from `opts`) how to read a CSV whose first bytes are `head`; `whole` says
    `head` is the entire file. BadInput for what cannot be a table (binary, too many or duplicate
    columns, contradictory number format). Not for UTF-16, which is re-encoded first."""
    check_text(head, name)
    encoding = opts.encoding or detect_encoding(head, whole=whole)
    text = head.decode(_PY_CODEC.get(encoding, "utf-8"), errors="replace")
    text = text.lstrip("\ufeff")
    comments = _leading_comments(text)
    if comments:  # a block of '#' lines above the header (NASA, R and instrument exports)
        text = "\n".join(text.splitlines()[comments:])
    delimiter = opts.delimiter or detect_delimiter(text)
    rows = sample_rows(text, delimiter)
    detected = detect_number_format(rows, delimiter)
    decimal = opts.decimal or detected.decimal
    if opts.thousands is not None:
        thousands = opts.thousands or None
    else:
        thousands = detected.thousands if detected.decimal == decimal else None
    if thousands == decimal:
        raise BadInput(
            f"the decimal mark and the thousands separator of {name} cannot both be "
            f"{decimal!r}: choose different ones"
        )
    markers = tuple(opts.missing) if opts.missing is not None else MISSING_MARKERS
    header = next(csv.reader(io.StringIO(text.splitlines()[0]), delimiter=delimiter), [])
    check_header(header, name)
    return CsvPlan(
        encoding,
        delimiter,
        decimal,
        thousands,
        markers,
        comments,
        text,
        tuple(tuple(r) for r in rows),
    )


def check_header(header: list[str], name: str) -> None:
    """The column-count and duplicate-name rules of `_finish`, before any row is read."""
    if len(header) > MAX_COLUMNS:
        finish_columns(pd.DataFrame(columns=range(len(header))), name)
    if len(set(header)) < len(header):
        finish_columns(pd.DataFrame(columns=header), name)


def arrow_error(exc: pa.ArrowInvalid, name: str, text: str) -> BadInput:
    """What a pyarrow CSV failure means for the user, and what to do about it."""
    message = str(exc)
    if "Empty CSV file" in message:
        return BadInput(
            f"{name} has a header row but no data rows"
            if text.strip()
            else f"{name} is empty: give a file with a header row and data rows"
        )
    match = re.search(r"Expected (\d+) columns, got (\d+): (.*)", message)
    if match:
        expected, got, row = match.groups()
        return BadInput(
            f"{name} has a row with {got} fields where the header has {expected} "
            f"({row.strip()[:60]!r}): fix the file, or choose 'skip bad rows' "
            "(CLI: --skip-bad-rows)"
        )
    return BadInput(f"{name} could not be read as CSV: {message.splitlines()[0]}")


def _leading_comments(text: str) -> int:
    """How many lines at the top start with '#' (only when a header follows them)."""
    n = 0
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        n += 1
    return n if n < len(text.splitlines()) else 0


_PY_CODEC = {"latin-1": "latin-1", "cp1252": "cp1252", "utf-16": "utf-16"}
ARROW_CODEC = {"latin-1": "latin1", "cp1252": "cp1252"}  # others are read as UTF-8
