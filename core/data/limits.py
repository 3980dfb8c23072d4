"""Limits on what a user can hand us, in one place (the UI, CLI and tests read them from here)."""

from __future__ import annotations

# Largest upload through the browser, in megabytes; .streamlit/config.toml says the same
# (server.maxUploadSize) and a test keeps the two equal. Larger data is imported by path.
UPLOAD_LIMIT_MB = 200
# A table wider than this is refused: it would not train well here, and its profile would not
# fit on a page. Genuinely wide data (pixels, genomics) belongs in an image or array format.
MAX_COLUMNS = 2_000


def _env_mb(name: str) -> int | None:
    """The environment variable `name`, in megabytes, as bytes; None if unset or not a number
    (then the built-in limit holds)."""
    import os

    try:
        return int(float(os.environ.get(name) or "") * 2**20)
    except ValueError:
        return None


def max_table_bytes() -> int:
    """Largest table file read into memory: TFSTUDIO_MAX_TABLE_MB, else a third of the memory
    available now (reading a CSV peaks at about 2.5x its size). Larger files are refused with a
    message instead of being read until the machine runs out of memory."""
    env = _env_mb("TFSTUDIO_MAX_TABLE_MB")
    if env is not None:
        return env
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024 // 3
    except OSError:
        pass
    return 4 << 30


# A dataset version whose stored Parquet table is larger than this is never read whole by the
# precheck or the training worker: the precheck reads its stored statistics, the worker streams
# row groups (core/data/stream.py). Smaller tables keep the in-memory path, which is faster.
STREAM_ABOVE_BYTES = 64 << 20
# Rows per Parquet row group written at import: the unit a streaming worker reads and shuffles.
ROW_GROUP_ROWS = 65_536
# Distinct values counted per column in the stored statistics; beyond it only "more" is known.
VOCAB_CAP = 1_000


def stream_above_bytes() -> int:
    """STREAM_ABOVE_BYTES, or TFSTUDIO_STREAM_ABOVE_MB (tests stream tiny tables with 0)."""
    env = _env_mb("TFSTUDIO_STREAM_ABOVE_MB")
    return STREAM_ABOVE_BYTES if env is None else env


# Rows that a task which does not stream (a search, AutoML, profiling, compression, comparing
# two models) reads from a large stored table: an even sample (a time series: its last rows),
# said on the run. Training streams every row; the winner of a search is promoted to training.
BOUNDED_ROWS = 1_000_000


def bounded_rows() -> int:
    """BOUNDED_ROWS, or TFSTUDIO_BOUNDED_ROWS (tests bound tiny tables)."""
    import os

    try:
        return int(os.environ.get("TFSTUDIO_BOUNDED_ROWS") or BOUNDED_ROWS)
    except ValueError:
        return BOUNDED_ROWS
