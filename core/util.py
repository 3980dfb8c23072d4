"""Small helpers every subsystem shares: atomic writes, free local ports, KerasTuner's env keys.

No TensorFlow, no Streamlit: any layer may import this.
"""

from __future__ import annotations

import json
import os
import socket
import uuid
from pathlib import Path
from typing import Any

# KerasTuner switches into distributed mode when these are set (the id containing "chief" runs
# the oracle). Workers never inherit them; AutoKeras must never see them.
KERASTUNER_ENV = ("KERASTUNER_ORACLE_IP", "KERASTUNER_ORACLE_PORT", "KERASTUNER_TUNER_ID")


def write_text_atomic(path: str | Path, text: str) -> Path:
    """Write beside `path`, then rename over it: a reader sees the old file or the new one, never
    half of one. The temporary name is unique per call, so threads and processes do not collide."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        tmp.write_text(text)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)  # only left when writing failed
    return path


def write_json_atomic(
    path: str | Path, data: Any, indent: int | None = None, default: Any = str
) -> str:
    """`data` as JSON, written atomically; returns the text written."""
    text = json.dumps(data, indent=indent, default=default)
    write_text_atomic(path, text)
    return text


def free_ports(n: int, host: str = "127.0.0.1") -> list[int]:
    """`n` distinct ports free on `host` right now (all held open together, then released)."""
    sockets = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind((host, 0))
            sockets.append(s)
        return [int(s.getsockname()[1]) for s in sockets]
    finally:
        for s in sockets:
            s.close()


def free_port(host: str = "127.0.0.1") -> int:
    return free_ports(1, host)[0]


def freeze_heap() -> None:
    """Collect once, then move every object alive now out of the garbage collector's sight.
    KerasTuner (and AutoKeras over it) clears the Keras session and calls gc.collect() twice per
    trial; after TensorFlow's import a full collection walks ~500,000 objects, 0.3 s each time
    here (benchmarks/README.md, tune_vs_keras_tuner). What is alive when a search starts (modules,
    the prepared data) lives as long as the search anyway; newer objects are collected as usual."""
    import gc

    gc.collect()
    gc.freeze()


def utf8_bytes(values):
    """A numpy array of text as UTF-8 bytes objects, for TFLite string inputs.

    `astype(bytes)` encodes with ASCII and raises on a curly apostrophe, a dash, an accent or any
    non-Latin script; TensorFlow's string tensors are UTF-8.
    """
    import numpy as np

    arr = np.asarray(values)
    flat = [
        v if isinstance(v, bytes) else (v if isinstance(v, str) else str(v)).encode("utf-8")
        for v in arr.ravel().tolist()
    ]
    out = np.empty(len(flat), dtype=object)
    out[:] = flat
    return out.reshape(arr.shape)
