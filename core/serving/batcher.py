"""Server-side batching: predict calls from many request threads run in shared batches.

A batcher thread takes what queued while the last batch ran (natural batching, or `wait_s`
more), groups requests by signature and per-example input shapes, and runs each group's rows in
one call. Only requests whose inputs all have the same batch size (first dimension) are batched;
the server runs any other request on its own (`batchable`).
"""

from __future__ import annotations

import queue
import threading
from concurrent.futures import Future
from typing import Any

import numpy as np


def batchable(arrays: dict[str, np.ndarray]) -> bool:
    sizes = {a.shape[0] if a.ndim else None for a in arrays.values()}
    return len(sizes) == 1 and None not in sizes


class Batcher:
    """Runs `model.run(arrays, signature)` for many threads in batches of up to `max_rows`."""

    def __init__(self, model, max_rows: int = 256, wait_s: float = 0.0):
        self.model, self.max_rows, self.wait_s = model, max_rows, wait_s
        self.queue: queue.Queue = queue.Queue()
        threading.Thread(target=self._loop, daemon=True, name="batcher").start()

    def run(self, arrays: dict[str, np.ndarray], signature: str = "serving_default"):
        future: Future = Future()
        self.queue.put((signature, arrays, future))
        return future.result()

    def _loop(self) -> None:
        while True:
            batch = [self.queue.get()]
            rows = _rows(batch[0][1])
            while rows < self.max_rows:
                try:
                    item = (
                        self.queue.get(timeout=self.wait_s)
                        if self.wait_s
                        else (self.queue.get_nowait())
                    )
                except queue.Empty:
                    break
                batch.append(item)
                rows += _rows(item[1])
            for group in _groups(batch):
                self._run_group(group)

    def _run_group(self, group) -> None:
        signature = group[0][0]
        try:
            names = list(group[0][1])
            joined = {k: np.concatenate([a[k] for _, a, _ in group]) for k in names}
            out = self.model.run(joined, signature)
        except Exception as exc:  # noqa: BLE001  (every waiting request hears of it)
            for _, _, future in group:
                future.set_exception(exc)
            return
        start = 0
        for _, arrays, future in group:
            n = _rows(arrays)
            future.set_result({k: v[start : start + n] for k, v in out.items()})
            start += n


def _rows(arrays: dict[str, np.ndarray]) -> int:
    return len(next(iter(arrays.values())))


def _groups(batch) -> Any:
    """Requests for the same signature whose inputs have the same per-example shapes."""
    groups: dict[Any, list] = {}
    for signature, arrays, future in batch:
        key = (signature,) + tuple(
            (k, v.shape[1:], v.dtype.kind) for k, v in sorted(arrays.items())
        )
        groups.setdefault(key, []).append((signature, arrays, future))
    return groups.values()
