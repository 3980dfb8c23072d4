"""Read a table from CSV/TSV, Parquet or JSON Lines into pandas, detecting what can be detected.

CSV detection: encoding (UTF-8, UTF-8 with BOM, UTF-16 with BOM, else cp1252/Latin-1), delimiter
(, ; tab |), decimal mark, thousands separator and missing-value markers (core.data.parsing), each
of which the caller can also fix; what was detected is applied, and reported in `describe()`.
Parsing uses pyarrow's multithreaded reader (fast on large files), and every failure becomes a
BadInput that says what is wrong and what to do.
"""

from __future__ import annotations

import contextlib
import csv
import functools
import io
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

import pandas as pd
import pyarrow as pa

from core.data.limits import MAX_COLUMNS, max_table_bytes
from core.data.parsing import (
    MISSING_MARKERS,
    NumberFormat,
    detect_number_format,
    markers_found,
    normalise_text_columns,
    sample_rows,
)
from core.errors import BadInput

SNIFF_BYTES = 1 << 20
BLOCK_BYTES = 1 << 24  # pyarrow CSV block: the unit its threads parse
SAMPLE_BLOCK_BYTES = 1 << 23  # the first block, that column types are inferred from
TYPED_BLOCK_BYTES = 1 << 23  # blocks of a read with the types given (less memory in flight)
TYPED_MIN_BYTES = 2 * SAMPLE_BLOCK_BYTES  # smaller files are read in one go
SPLIT_MAX_COLUMNS = 100  # pandas' threshold for a fragmented frame
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
        best = max(counts, key=counts.get)
        return best if counts[best] else ","


def _check_text(head: bytes, name: str) -> None:
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


def _finish(frame: pd.DataFrame, name: str) -> pd.DataFrame:
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


def _read_csv(source: Path | bytes, name: str, opts: ReadOptions) -> ReadResult:
    import pyarrow.csv as pacsv

    head = source[:SNIFF_BYTES] if isinstance(source, bytes) else _head(source)
    if (opts.encoding or detect_encoding(head[:4])) in ("utf-16", "utf-16-le", "utf-16-be"):
        return _read_utf16(source, name, opts)
    _check_text(head, name)
    encoding = opts.encoding or detect_encoding(head, whole=len(head) < SNIFF_BYTES)
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
    if len(header) > MAX_COLUMNS:
        _finish(pd.DataFrame(columns=range(len(header))), name)
    if len(set(header)) < len(header):
        _finish(pd.DataFrame(columns=header), name)

    skipped: list[int] = []

    def skip(row) -> str:
        skipped.append(row.number)
        return "skip"

    read_options = pacsv.ReadOptions(
        encoding=_ARROW_CODEC.get(encoding, "utf8"), block_size=BLOCK_BYTES, skip_rows=comments
    )
    parse_options = pacsv.ParseOptions(
        delimiter=delimiter,
        newlines_in_values=True,
        invalid_row_handler=skip if opts.skip_bad_rows else None,
    )
    convert = {
        "decimal_point": decimal,
        "null_values": list(markers) or [""],
        "strings_can_be_null": True,
        "quoted_strings_can_be_null": False,
    }
    try:
        table = (
            None
            if comments
            else _read_csv_typed(source, head, read_options.encoding, parse_options, convert)
        )
        if table is None:
            skipped.clear()
            with _input(source) as data:
                table = pacsv.read_csv(
                    data,
                    read_options=read_options,
                    parse_options=parse_options,
                    convert_options=pacsv.ConvertOptions(**convert),
                    memory_pool=_memory_pool(),
                )
    except pa.ArrowInvalid as exc:
        message = str(exc)
        if "Empty CSV file" in message:
            raise BadInput(
                f"{name} has a header row but no data rows"
                if text.strip()
                else f"{name} is empty: give a file with a header row and data rows"
            ) from None
        match = re.search(r"Expected (\d+) columns, got (\d+): (.*)", message)
        if match:
            expected, got, row = match.groups()
            raise BadInput(
                f"{name} has a row with {got} fields where the header has {expected} "
                f"({row.strip()[:60]!r}): fix the file, or choose 'skip bad rows' "
                "(CLI: --skip-bad-rows)"
            ) from None
        raise BadInput(f"{name} could not be read as CSV: {message.splitlines()[0]}") from None
    if encoding not in _ARROW_CODEC and any(pa.types.is_binary(f.type) for f in table.schema):
        # pyarrow keeps bytes that are not UTF-8 as binary; the sample we sniffed was clean.
        if opts.encoding:
            raise BadInput(
                f"{name} is not valid {opts.encoding} throughout: choose the encoding "
                "Latin-1 (CLI: --encoding latin-1)"
            )
        return _read_csv(source, name, replace(opts, encoding="latin-1"))
    number_format = NumberFormat(decimal, thousands)
    frame, left_as_text = normalise_text_columns(
        _finish(_to_pandas(table), name), number_format, markers
    )
    notes = [f"skipped {len(skipped)} row(s) with the wrong number of fields"] if skipped else []
    if comments:
        notes.append(f"skipped {comments} comment line(s) starting with '#' above the header")
    return ReadResult(
        frame,
        "csv",
        delimiter,
        encoding,
        decimal,
        len(skipped),
        notes,
        thousands=thousands,
        missing=markers,
        markers_found=markers_found(rows, markers),
        left_as_text=left_as_text,
    )


def _leading_comments(text: str) -> int:
    """How many lines at the top start with '#' (only when a header follows them)."""
    n = 0
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        n += 1
    return n if n < len(text.splitlines()) else 0


_PY_CODEC = {"latin-1": "latin-1", "cp1252": "cp1252", "utf-16": "utf-16"}
_ARROW_CODEC = {"latin-1": "latin1", "cp1252": "cp1252"}  # others are read as UTF-8


def _read_utf16(source: Path | bytes, name: str, opts: ReadOptions) -> ReadResult:
    """UTF-16 (Excel's "Unicode text"): decoded to UTF-8 in memory, then read as usual."""
    raw = source if isinstance(source, bytes) else source.read_bytes()
    codec = opts.encoding if opts.encoding in ("utf-16-le", "utf-16-be") else "utf-16"
    try:
        text = raw.decode(codec)
    except UnicodeDecodeError as exc:
        raise BadInput(f"{name} is not valid UTF-16 ({exc.reason} at byte {exc.start})") from None
    result = _read_csv(text.lstrip("\ufeff").encode("utf-8"), name, replace(opts, encoding="utf-8"))
    result.encoding = "utf-16"
    return result


def _rows_are_lines(source: Path | bytes, head: bytes, delimiter: str, quote: str = '"') -> bool:
    """Whether every line break in the file ends a row, so none can be inside a quoted value.

    True when the header line closes every quote it opens and no quote character occurs after
    it (the common case: quoted column names at most). The search runs at memchr speed.
    """
    ends = [i for i in (head.find(b"\n"), head.find(b"\r")) if i >= 0]
    if not ends:
        return False
    end = min(ends)
    try:  # ASCII quote and delimiter sit at the same places whatever the encoding
        list(csv.reader([head[:end].decode("latin-1")], delimiter=delimiter, strict=True))
    except csv.Error:
        return False
    if isinstance(source, bytes):
        return source.find(quote.encode(), end) < 0
    with open(source, "rb") as f:  # read in pieces: mapping the file would count in our RSS
        f.seek(end)
        while chunk := f.read(1 << 22):
            if quote.encode() in chunk:
                return False
    return True


def _read_csv_typed(source: Path | bytes, head: bytes, encoding: str, parse, convert: dict):
    """The table pyarrow's own type inference gives, read in less memory and time; or None.

    pyarrow infers each column's type by trying, in a fixed order, the types its values convert
    to, and keeps every parsed block of the file in memory until the end in case a later block
    forces a wider type: about 2.5x the file's size at the peak. Here the types are inferred from
    the file's first block alone, then the whole file is read with those types given. When every
    value converts, the result is exactly what inference over the whole file gives (the type
    inferred from a prefix is the narrowest that fits the prefix, so no narrower type fits the
    whole column); when some value does not (a wider type is needed further down, or the file is
    malformed), this returns None and the caller reads the file the ordinary way.

    A file whose line breaks all end rows is also read with `newlines_in_values=False`, which
    lets pyarrow's threads split the file cheaply.
    """
    import pyarrow.csv as pacsv

    size = len(source) if isinstance(source, bytes) else source.stat().st_size
    if size <= TYPED_MIN_BYTES:
        return None
    bad_rows = parse.invalid_row_handler
    try:
        lines = _rows_are_lines(source, head, parse.delimiter, parse.quote_char)
        if isinstance(source, bytes):
            prefix = source[: 2 * SAMPLE_BLOCK_BYTES]
        else:
            with open(source, "rb") as f:
                prefix = f.read(2 * SAMPLE_BLOCK_BYTES)
        # the first block of a stream ends at a row's end: the prefix's cut row is not in it
        with pacsv.open_csv(
            pa.BufferReader(prefix),
            read_options=pacsv.ReadOptions(encoding=encoding, block_size=SAMPLE_BLOCK_BYTES),
            parse_options=pacsv.ParseOptions(
                delimiter=parse.delimiter,
                newlines_in_values=not lines,
                invalid_row_handler=(lambda row: "skip") if bad_rows else None,
            ),
            convert_options=pacsv.ConvertOptions(**convert),
            memory_pool=_memory_pool(),
        ) as reader:
            schema = reader.schema
        del prefix
        if len(set(schema.names)) < len(schema.names):
            return None
        types = {f.name: f.type for f in schema if not pa.types.is_null(f.type)}
        with _input(source) as data:
            return pacsv.read_csv(
                data,
                read_options=pacsv.ReadOptions(encoding=encoding, block_size=TYPED_BLOCK_BYTES),
                parse_options=pacsv.ParseOptions(
                    delimiter=parse.delimiter,
                    newlines_in_values=not lines,
                    invalid_row_handler=bad_rows,
                ),
                convert_options=pacsv.ConvertOptions(**convert, column_types=types),
                memory_pool=_memory_pool(),
            )
    except (pa.ArrowException, OSError, ValueError):
        return None


@contextlib.contextmanager
def _input(source: Path | bytes):
    """What pyarrow reads: the bytes in place, or the file through our memory pool.

    (Given a path, pyarrow would buffer the file's blocks in its default pool, which keeps freed
    memory; a compressed file's name makes pyarrow decompress it, so that stays a path.)
    """
    if isinstance(source, bytes):
        yield pa.BufferReader(source)
        return
    try:
        compressed = pa.Codec.detect(str(source)) is not None
    except (TypeError, ValueError):  # pyarrow raises for a name without a codec's suffix
        compressed = False
    if compressed:
        yield str(source)
        return
    with pa.OSFile(str(source), memory_pool=_memory_pool()) as f:
        yield f


def _to_pandas(table: pa.Table) -> pd.DataFrame:
    """`table.to_pandas()` in about one copy's memory instead of two; the table is consumed.

    self_destruct frees each column's Arrow memory as soon as it is converted, and split_blocks
    gives each column its own array, so nothing is allocated for all columns at once. A column
    made of a single chunk could become a read-only view of Arrow memory, unlike with plain
    `to_pandas()`, so that way is taken only when every column has several chunks (a large file),
    and for at most SPLIT_MAX_COLUMNS columns (more blocks make pandas warn that the frame is
    fragmented when a column is added). The frame's arrays come from Arrow's default pool, as
    with `to_pandas()`, not from ours, which returns the table's memory as it goes.
    """
    split = 0 < table.num_columns <= SPLIT_MAX_COLUMNS and all(
        table.column(i).num_chunks > 1 for i in range(table.num_columns)
    )  # (holding on to the columns would keep their memory through the conversion)
    if split:
        return table.to_pandas(split_blocks=True, self_destruct=True)
    return table.to_pandas(self_destruct=True)


@functools.cache
def _memory_pool() -> pa.MemoryPool:
    """Arrow memory for reading CSV: jemalloc, set to give freed pages back to the system at once.

    The default pool (mimalloc in these wheels) keeps a read's transient buffers for reuse, and
    so does jemalloc with its default decay: each measured as 100-200 MB more peak memory on a
    230 MB file. The decay applies to Arrow's jemalloc only, which nothing else here uses.
    """
    try:
        pool = pa.jemalloc_memory_pool()
        pa.jemalloc_set_decay_ms(0)
    except (NotImplementedError, pa.ArrowException):  # a build without jemalloc
        return pa.default_memory_pool()
    return pool


def _head(path: Path) -> bytes:
    with open(path, "rb") as f:
        return f.read(SNIFF_BYTES)


def check_table_size(path: Path) -> None:
    """BadInput for a table file larger than can be read into memory here."""
    size, limit = path.stat().st_size, max_table_bytes()
    if size > limit:
        raise BadInput(
            f"{path.name} is {size / 2**30:.1f} GB, more than this machine can read into "
            f"memory now ({limit / 2**30:.1f} GB; TFSTUDIO_MAX_TABLE_MB sets it): give a "
            "sample of the rows, or fewer columns"
        )


def read_table(
    source: str | Path | bytes, name: str | None = None, options: ReadOptions | None = None
) -> ReadResult:
    """Read a table file (path or bytes); BadInput for anything that is not a usable table."""
    opts = options or ReadOptions()
    if not isinstance(source, bytes):
        source = Path(source)
        if not source.exists():
            raise BadInput(f"no such file: {source}")
        if source.stat().st_size == 0:
            raise BadInput(f"{source.name} is empty: give a file with a header row and data rows")
        check_table_size(source)
    name = name or (source.name if isinstance(source, Path) else "the file")
    head = source[:SNIFF_BYTES] if isinstance(source, bytes) else _head(source)
    fmt = detect_format(head, name)
    if fmt == "zip":
        raise BadInput(f"{name} is a zip archive: import it as an image dataset")
    if fmt == "parquet":
        try:
            import pyarrow.parquet as pq

            table = pq.read_table(io.BytesIO(source) if isinstance(source, bytes) else source)
        except (pa.ArrowInvalid, OSError) as exc:
            raise BadInput(f"{name} is not a readable Parquet file: {exc}") from None
        return ReadResult(_finish(table.to_pandas(), name), "parquet")
    if fmt == "jsonl":
        _check_text(head, name)
        try:
            frame = pd.read_json(
                io.BytesIO(source) if isinstance(source, bytes) else source, lines=True
            )
        except (ValueError, TypeError) as exc:
            raise BadInput(
                f"{name} is not valid JSON Lines (one JSON object per line): {exc}"
            ) from None
        return ReadResult(_finish(frame, name), "jsonl", encoding="utf-8")
    return _read_csv(source, name, opts)
