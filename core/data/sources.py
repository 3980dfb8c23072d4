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
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pyarrow as pa

from core.data.limits import max_table_bytes
from core.data.parsing import (
    NumberFormat,
    normalise_text_columns,
)
from core.data.sniff import (  # noqa: F401  (re-exported: the reader's public names)
    ARROW_CODEC,
    DELIMITERS,
    SNIFF_BYTES,
    CsvPlan,
    ReadOptions,
    ReadResult,
    arrow_error,
    check_text,
    csv_plan,
    detect_delimiter,
    detect_encoding,
    detect_format,
    finish_columns,
)
from core.errors import BadInput

BLOCK_BYTES = 1 << 24  # pyarrow CSV block: the unit its threads parse
SAMPLE_BLOCK_BYTES = 1 << 23  # the first block, that column types are inferred from
TYPED_BLOCK_BYTES = 1 << 23  # blocks of a read with the types given (less memory in flight)
TYPED_MIN_BYTES = 2 * SAMPLE_BLOCK_BYTES  # smaller files are read in one go
SPLIT_MAX_COLUMNS = 100  # pandas' threshold for a fragmented frame


def _read_csv(source: Path | bytes, name: str, opts: ReadOptions) -> ReadResult:
    import pyarrow.csv as pacsv

    head = source[:SNIFF_BYTES] if isinstance(source, bytes) else _head(source)
    if (opts.encoding or detect_encoding(head[:4])) in ("utf-16", "utf-16-le", "utf-16-be"):
        return _read_utf16(source, name, opts)
    plan = csv_plan(head, name, opts, whole=len(head) < SNIFF_BYTES)

    skipped: list[int] = []

    def skip(row) -> str:
        skipped.append(row.number)
        return "skip"

    read_options = pacsv.ReadOptions(
        encoding=plan.arrow_encoding, block_size=BLOCK_BYTES, skip_rows=plan.comments
    )
    parse_options = pacsv.ParseOptions(
        delimiter=plan.delimiter,
        newlines_in_values=True,
        invalid_row_handler=skip if opts.skip_bad_rows else None,
    )
    convert = plan.convert_options()
    try:
        table = (
            None
            if plan.comments
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
                    memory_pool=memory_pool(),
                )
    except pa.ArrowInvalid as exc:
        raise arrow_error(exc, name, plan.text) from None
    if plan.encoding not in ARROW_CODEC and any(pa.types.is_binary(f.type) for f in table.schema):
        # pyarrow keeps bytes that are not UTF-8 as binary; the sample we sniffed was clean.
        if opts.encoding:
            raise BadInput(
                f"{name} is not valid {opts.encoding} throughout: choose the encoding "
                "Latin-1 (CLI: --encoding latin-1)"
            )
        return _read_csv(source, name, replace(opts, encoding="latin-1"))
    frame, left_as_text = normalise_text_columns(
        finish_columns(_to_pandas(table), name),
        NumberFormat(plan.decimal, plan.thousands),
        plan.markers,
    )
    return plan.result(frame, len(skipped), left_as_text)


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


def rows_are_lines(source: Path | bytes, head: bytes, delimiter: str, quote: str = '"') -> bool:
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
        lines = rows_are_lines(source, head, parse.delimiter, parse.quote_char)
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
            memory_pool=memory_pool(),
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
                memory_pool=memory_pool(),
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
    with pa.OSFile(str(source), memory_pool=memory_pool()) as f:
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
def memory_pool() -> pa.MemoryPool:
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
        return ReadResult(finish_columns(table.to_pandas(), name), "parquet")
    if fmt == "jsonl":
        check_text(head, name)
        try:
            frame = pd.read_json(
                io.BytesIO(source) if isinstance(source, bytes) else source, lines=True
            )
        except (ValueError, TypeError) as exc:
            raise BadInput(
                f"{name} is not valid JSON Lines (one JSON object per line): {exc}"
            ) from None
        return ReadResult(finish_columns(frame, name), "jsonl", encoding="utf-8")
    return _read_csv(source, name, opts)
