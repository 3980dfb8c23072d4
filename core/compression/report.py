"""The honest numbers: size raw and gzipped, the metric with the TFLite interpreter on the test
split, interpreter latency on this machine, sparsity and distinct weight values."""

from __future__ import annotations

import gzip
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from core.training.families.common import CLASSIFICATION_TASKS
from core.util import utf8_bytes

SINGLE_REPEATS = 200
BATCH_REPEATS = 30
BATCH_ROWS = 32


def sizes(path: str | Path) -> dict[str, int]:
    data = Path(path).read_bytes()
    return {"size_bytes": len(data), "gzip_bytes": len(gzip.compress(data, compresslevel=9))}


class TFLiteModel:
    """A TFLite file behind its signature runner; quantizes int8 inputs and dequantizes outputs."""

    def __init__(self, path: str | Path) -> None:
        from core.export.convert import load_interpreter

        self.path = Path(path)
        self.runner = load_interpreter(path).get_signature_runner()
        self.inputs = self.runner.get_input_details()
        self.outputs = self.runner.get_output_details()

    def feed(self, inputs: dict[str, np.ndarray] | np.ndarray) -> dict[str, np.ndarray]:
        if not isinstance(inputs, dict):
            inputs = {next(iter(self.inputs)): inputs}
        feed = {}
        for name, detail in self.inputs.items():
            value = inputs[name]
            dtype = detail["dtype"]
            if value.dtype.kind in "OUS":
                feed[name] = utf8_bytes(value)
            elif dtype in (np.int8, np.uint8) and detail["quantization"][0]:
                scale, zero = detail["quantization"]
                info = np.iinfo(dtype)
                q = np.round(value / scale + zero)
                feed[name] = np.clip(q, info.min, info.max).astype(dtype)
            else:
                feed[name] = value.astype(dtype)
        return feed

    def run(self, feed: dict[str, np.ndarray]) -> np.ndarray:
        name, out = next(iter(self.runner(**feed).items()))
        detail = self.outputs[name]
        if detail["dtype"] in (np.int8, np.uint8) and detail["quantization"][0]:
            scale, zero = detail["quantization"]
            return (out.astype("float32") - zero) * scale
        return np.asarray(out)

    def predict(self, inputs) -> np.ndarray:
        return self.run(self.feed(inputs))


def _rows(inputs, start: int, stop: int):
    if isinstance(inputs, dict):
        return {k: v[start:stop] for k, v in inputs.items()}
    return inputs[start:stop]


def median_ms(fn: Callable[[], Any], repeats: int) -> float:
    fn()  # warm up (allocation, first-call costs)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000


def latency(model: TFLiteModel, inputs) -> dict[str, float]:
    """Median single-row and batch latency with the interpreter (inputs already prepared)."""
    one = model.feed(_rows(inputs, 0, 1))
    n = len(next(iter(inputs.values())) if isinstance(inputs, dict) else inputs)
    batch_rows = min(BATCH_ROWS, n)
    batch = model.feed(_rows(inputs, 0, batch_rows))
    single = median_ms(lambda: model.run(one), SINGLE_REPEATS)
    batched = median_ms(lambda: model.run(batch), BATCH_REPEATS)
    model.run(one)  # leave the interpreter at batch 1
    return {"single_ms": single, "batch_ms": batched, "batch_rows": batch_rows}


def keras_latency(model, inputs) -> dict[str, float | int]:
    """The float Keras model timed like the interpreter: a compiled call, one row and a batch.

    An eager `model(x)` pays Python dispatch for every layer on every call (milliseconds on a
    tiny model), which no deployment pays; a `tf.function` call is the fair Keras reference.
    """
    import tensorflow as tf

    from core.training.build import to_tensors as _to_tensors

    n = len(next(iter(inputs.values())) if isinstance(inputs, dict) else inputs)
    batch_rows = min(BATCH_ROWS, n)
    one = _to_tensors(_rows(inputs, 0, 1))
    batch = _to_tensors(_rows(inputs, 0, batch_rows))
    call = tf.function(lambda x: model(x, training=False), reduce_retracing=True)
    call(batch)  # trace both shapes before timing
    return {
        "keras_latency_ms": median_ms(lambda: call(one), 50),
        "keras_batch_ms": median_ms(lambda: call(batch), BATCH_REPEATS),
        "keras_batch_rows": batch_rows,
    }


def metric(task: str, y_true: np.ndarray, predictions: np.ndarray) -> tuple[str, float]:
    if task in CLASSIFICATION_TASKS:
        return "accuracy", float(np.mean(predictions.argmax(-1) == y_true))
    return "mae", float(np.mean(np.abs(predictions.reshape(-1) - y_true.reshape(-1))))


def weight_stats(kernels: list[np.ndarray]) -> dict[str, float | int]:
    """Share of zero weights over all kernels; the most distinct values in any one kernel."""
    if not kernels:
        return {}
    total = sum(k.size for k in kernels)
    zeros = sum(int(np.sum(k == 0)) for k in kernels)
    return {
        "sparsity": zeros / total if total else 0.0,
        "distinct_values": max(len(np.unique(k)) for k in kernels),
    }


def measure(
    path: Path,
    method: str,
    task: str,
    test_x,
    test_y: np.ndarray,
    baseline_predictions: np.ndarray | None = None,
) -> tuple[dict[str, Any], np.ndarray]:
    """One variant's row of the report, and its predictions on the test split."""
    model = TFLiteModel(path)
    predictions = model.predict(test_x)
    name, value = metric(task, test_y, predictions)
    timing = latency(model, test_x)
    row: dict[str, Any] = {
        "method": method,
        **sizes(path),
        "metric_name": name,
        "metric": value,
        "latency_ms": timing["single_ms"],
        "batch_latency_ms": timing["batch_ms"],
        "batch_rows": timing["batch_rows"],
        "test_rows": int(len(test_y)),
        "path": str(path),
        "input_types": sorted({str(np.dtype(d["dtype"])) for d in model.inputs.values()}),
    }
    if baseline_predictions is not None and task in CLASSIFICATION_TASKS:
        row["agreement"] = float(np.mean(predictions.argmax(-1) == baseline_predictions.argmax(-1)))
    return row, predictions
