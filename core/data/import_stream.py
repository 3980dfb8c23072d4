"""Import a large CSV into Parquet a block at a time: memory stays a few blocks, whatever the size.

The whole-file reader (core.data.sources) holds the parsed table and its pandas copy at once
(about 1.5x the file at the peak). Here pyarrow's streaming reader parses one block at a time with
the column types inferred from the first block, each batch gets what the whole-file reader does
after parsing (missing markers in text columns, padded or not, become missing; a trailing
delimiter's empty column is dropped), and row groups of ROW_GROUP_ROWS go straight to the
Parquet file. The result is the table the whole-file reader stores, or None when that cannot be
known in one pass, and the caller reads the file whole, as before:

- a text column of the first block that looks numeric (thousands separators, a few bad values):
  the whole-file reader converts or reports it, which needs the whole column;
- a value later in the file that does not fit its column's type. A whole-number column that
  meets a decimal (or an empty first block's column that meets a number) is widened to float and
  the stream restarts, as inference over the whole file would type it; anything else falls back;
- leading '#' comment lines, UTF-16, compressed files, and a Latin-1 byte in a UTF-8 file.

Wrong field counts give the same message as the whole-file reader, or are skipped and counted.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from core.data.limits import ROW_GROUP_ROWS, stream_above_bytes
from core.data.parsing import NumberFormat, numeric_looking
from core.data.sniff import (
    SNIFF_BYTES,
    CsvPlan,
    ReadOptions,
    ReadResult,
    arrow_error,
    check_header,
    csv_plan,
    detect_encoding,
    detect_format,
)
from core.data.sources import SAMPLE_BLOCK_BYTES, memory_pool, rows_are_lines
from core.errors import BadInput

BLOCK_BYTES = 1 << 20  # measured: the reader holds ~28 blocks at once (8 MiB blocks: +220 MiB)
MAX_WIDENINGS = 8  # restarts to widen a column's type before reading the file whole instead
_WIDEN = {"int64": pa.float64(), "null": pa.float64()}  # what pyarrow's inference would pick


class _Fallback(Exception):
    """The file must be read whole (the reason is for the log)."""


def streamable(path: Path, name: str) -> bool:
    """Whether an import of `path` should stream: a plain CSV file above the streaming size."""
    if not isinstance(path, Path) or path.stat().st_size <= stream_above_bytes():
        return False
    try:
        if pa.Codec.detect(str(path)) is not None:
            return False
    except (TypeError, ValueError):  # pyarrow raises for a name without a codec's suffix
        pass
    with open(path, "rb") as f:
        head = f.read(8)
    return detect_format(head, name) == "csv" and detect_encoding(head[:4]) != "utf-16"


def import_csv(
    path: Path, name: str, out: Path, opts: ReadOptions | None = None
) -> ReadResult | None:
    """Write the CSV at `path` to the Parquet file `out` in row groups; the ReadResult (its frame
    empty: the rows are in `out`), or None when the file must be read whole (nothing is left at
    `out` then). BadInput for a file that cannot be a table."""
    opts = opts or ReadOptions()
    with open(path, "rb") as f:
        head = f.read(SNIFF_BYTES)
    plan = csv_plan(head, name, opts, whole=len(head) < SNIFF_BYTES)
    if plan.comments:
        return None
    types: dict[str, pa.DataType] = {}
    for _ in range(MAX_WIDENINGS):
        try:
            skipped = _write(path, name, out, plan, opts, types)
        except _Widen as widen:
            types[widen.column] = widen.to
            continue
        except _Fallback:
            out.unlink(missing_ok=True)
            return None
        except BaseException:
            out.unlink(missing_ok=True)
            raise
        import pandas as pd

        return plan.result(pd.DataFrame(), skipped, {})
    out.unlink(missing_ok=True)
    return None


class _Widen(Exception):
    def __init__(self, column: str, to: pa.DataType) -> None:
        super().__init__(column)
        self.column, self.to = column, to


def _write(path: Path, name: str, out: Path, plan: CsvPlan, opts: ReadOptions, widened) -> int:
    """One pass over the file; the number of rows skipped for a wrong field count."""
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    skipped = [0]

    def skip(row) -> str:
        skipped[0] += 1
        return "skip"

    with open(path, "rb") as f:
        head = f.read(SNIFF_BYTES)
    parse = pacsv.ParseOptions(
        delimiter=plan.delimiter,
        newlines_in_values=not rows_are_lines(path, head, plan.delimiter),
        invalid_row_handler=skip if opts.skip_bad_rows else None,
    )
    pool = memory_pool()
    types = {**_first_block_types(path, name, plan, parse, pool), **widened}
    skipped[0] = 0
    try:  # small blocks: the streaming reader keeps a few dozen blocks in flight
        reader = pacsv.open_csv(
            pa.OSFile(str(path), memory_pool=pool),
            read_options=pacsv.ReadOptions(encoding=plan.arrow_encoding, block_size=BLOCK_BYTES),
            parse_options=parse,
            convert_options=pacsv.ConvertOptions(**plan.convert_options(column_types=types)),
            memory_pool=pool,
        )
    except pa.ArrowInvalid as exc:
        raise arrow_error(exc, name, plan.text) from None
    names = [n.strip() for n in reader.schema.names]
    check_header(names, name)
    keep = list(range(len(names)))
    if len(names) > 1 and names[-1] == "" and pa.types.is_null(reader.schema.field(-1).type):
        keep.pop()  # a delimiter ending every line; a value in it later fails the null type
    schema = pa.schema([reader.schema.field(i).with_name(names[i]) for i in keep])
    if any(pa.types.is_binary(f.type) for f in schema):
        raise _Fallback("bytes that are not UTF-8")
    wanted = pa.array([m for m in plan.markers if m] + [""], pa.string())
    writer, pending, rows = None, [], 0
    try:
        while True:
            try:
                batch = reader.read_next_batch()
            except StopIteration:
                break
            except pa.ArrowInvalid as exc:
                _raise_for(exc, name, plan, reader.schema)
            batch = pa.record_batch([_masked(batch.column(i), wanted) for i in keep], schema=schema)
            pending.append(batch)
            rows += batch.num_rows
            if sum(b.num_rows for b in pending) >= ROW_GROUP_ROWS:
                writer = writer or pq.ParquetWriter(out, schema)
                pending = _flush(writer, pending, final=False)
        if not rows:
            raise BadInput(f"{name} has a header row but no data rows")
        writer = writer or pq.ParquetWriter(out, schema)
        _flush(writer, pending, final=True)
    finally:
        reader.close()
        if writer is not None:
            writer.close()
    return skipped[0]


def _first_block_types(path: Path, name: str, plan: CsvPlan, parse, pool) -> dict:
    """The column types pyarrow infers from the file's first block, as the whole-file reader
    infers them (core.data.sources._read_csv_typed), and the block's text columns checked."""
    import pyarrow.csv as pacsv

    with open(path, "rb") as f:
        prefix = f.read(2 * SAMPLE_BLOCK_BYTES)
    try:  # the first block of a stream ends at a row's end: the prefix's cut row is not in it
        with pacsv.open_csv(
            pa.BufferReader(prefix),
            read_options=pacsv.ReadOptions(
                encoding=plan.arrow_encoding, block_size=SAMPLE_BLOCK_BYTES
            ),
            parse_options=parse,
            convert_options=pacsv.ConvertOptions(**plan.convert_options()),
            memory_pool=pool,
        ) as reader:
            batch = reader.read_next_batch()
    except StopIteration:
        raise BadInput(f"{name} has a header row but no data rows") from None
    except pa.ArrowInvalid as exc:
        raise arrow_error(exc, name, plan.text) from None
    if len(set(batch.schema.names)) < len(batch.schema.names):
        check_header([n.strip() for n in batch.schema.names], name)
    fmt = NumberFormat(plan.decimal, plan.thousands)
    wanted = pa.array([m for m in plan.markers if m] + [""], pa.string())
    for i, field in enumerate(batch.schema):
        if pa.types.is_string(field.type):
            col = _masked(batch.column(i), wanted).to_pandas()
            if col.notna().any() and numeric_looking(col, fmt, plan.markers) is not None:
                raise _Fallback(f"column {field.name!r} looks numeric")
    return {f.name: f.type for f in batch.schema if not pa.types.is_null(f.type)}


def _flush(writer, pending: list[pa.RecordBatch], final: bool) -> list[pa.RecordBatch]:
    """Write whole row groups of ROW_GROUP_ROWS (and the rest when `final`); what is left over."""
    if not pending:
        return []
    table = pa.Table.from_batches(pending)
    full = table.num_rows // ROW_GROUP_ROWS * ROW_GROUP_ROWS
    cut = table.num_rows if final else full
    for start in range(0, cut, ROW_GROUP_ROWS):
        writer.write_table(table.slice(start, min(ROW_GROUP_ROWS, cut - start)))
    return [] if final else table.slice(cut).to_batches()


def _masked(col: pa.Array, wanted: pa.Array) -> pa.Array:
    """A text column's missing markers, padded or not, as missing (the whole-file reader's rule)."""
    if not pa.types.is_string(col.type):
        return col
    import pyarrow.compute as pc

    trimmed = pc.utf8_trim_whitespace(col)
    is_marker = pc.fill_null(pc.is_in(trimmed, value_set=wanted), False)
    if not pc.any(is_marker).as_py():
        return col
    return pc.if_else(is_marker, pa.nulls(len(col), col.type), col)


def _raise_for(exc: pa.ArrowInvalid, name: str, plan: CsvPlan, schema: pa.Schema):
    """A failure mid-file: widen a column and restart, read the file whole, or say what is wrong."""
    import re

    message = str(exc)
    match = re.search(r"In CSV column #(\d+): CSV conversion error to (\w+)", message)
    if match:
        index, to = int(match.group(1)), match.group(2)
        if to in _WIDEN and index < len(schema):
            raise _Widen(schema.field(index).name, _WIDEN[to]) from None
        raise _Fallback(message) from None
    if "invalid UTF8" in message or "conversion error" in message:
        raise _Fallback(message) from None
    raise arrow_error(exc, name, plan.text) from None
