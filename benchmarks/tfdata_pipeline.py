"""tf.data input pipelines after their first epoch, against the same batches already in memory.

Goal (from the issue): from the second epoch on, a pipeline delivers at least 0.9x the batches
per second of iterating the same tensors already in memory.

Pipelines (core.data.pipelines), with shuffling on as in training:
  table:   array_dataset(x, y, batch, shuffle=True, seed=0), x 200,000 x 32 float32
  windows: window_dataset(values, targets, starts, spec, batch, shuffle=True, seed=0) over a
           100,000-step series of 8 features, 24 steps in, 1 ahead (every start)
In memory, the same arrays (windows made with numpy) as ready batches:
  from_tensor_slices(arrays).batch(batch).cache(), iterated once to fill the cache
  (and, for reference, a plain Python list of those batches as tensors)

Epochs 2..N are consumed three ways, alternating epoch by epoch with the in-memory batches
consumed the same way (A B A B ..., at least 5 pairs): a bare Python `for` loop, a loop inside a
tf.function (as Keras' fit iterates), and a Python loop calling a compiled SGD step of a small
MLP (64-64-1) on every batch (a training loop's consumer). The verdict is the median per-pair
ratio of batches per second, printed with its range and the CPU-time ratio. Images are not measured
(that needs image files).
Prints PASS/MISS per comparison; always exits 0.

    .venv/bin/python benchmarks/tfdata_pipeline.py
    .venv/bin/python benchmarks/tfdata_pipeline.py --rows 50000 --epochs 6
    .venv/bin/python benchmarks/tfdata_pipeline.py --skip-table --chunked   # a large series' path
    .venv/bin/python benchmarks/tfdata_pipeline.py --skip-table --chunked --chunk-bytes 1  # before
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

GOAL = 0.9


MODES = ("python loop", "tf.function", "train step")


def drain_python(ds) -> int:
    n = 0
    for _ in ds:
        n += 1
    return n


def train_step():
    """A small MLP's SGD step (64-64-1, compiled), as the consumer a training loop would be."""
    import tensorflow as tf

    weights: list = []

    @tf.function
    def step(x, y):
        x = tf.reshape(tf.cast(x, tf.float32), [tf.shape(x)[0], -1])
        y = tf.reshape(tf.cast(y, tf.float32), [tf.shape(y)[0], -1])[:, :1]
        if not weights:  # created on the first trace
            sizes = [x.shape[-1], 64, 64, 1]
            for a, b in zip(sizes[:-1], sizes[1:], strict=True):
                weights.append(tf.Variable(tf.random.normal([a, b], seed=0) * 0.05))
                weights.append(tf.Variable(tf.zeros([b])))
        with tf.GradientTape() as tape:
            h = x
            for i in range(0, len(weights), 2):
                h = h @ weights[i] + weights[i + 1]
                if i < len(weights) - 2:
                    h = tf.nn.relu(h)
            loss = tf.reduce_mean(tf.square(h - y))
        for v, g in zip(weights, tape.gradient(loss, weights), strict=True):
            v.assign_sub(0.01 * g)
        return loss

    return step


def epoch_counter(ds, mode: str):
    """A function that runs one epoch over `ds` and returns its number of batches."""
    import tensorflow as tf

    if mode == "tf.function":
        return tf.function(lambda: ds.reduce(tf.constant(0, tf.int64), lambda n, _: n + 1))
    if mode == "python loop":
        return lambda: drain_python(ds)
    step = train_step()

    def train():
        n = 0
        for x, y in ds:
            step(x, y)
            n += 1
        return n

    return train


def rates(pipeline, memory, mode: str, epochs: int):
    """(pipeline's first epoch seconds, the alternated comparison of epochs 2..N).

    Epochs of the pipeline (A) and of the in-memory batches (B) alternate, A B A B ..., so both
    see the same load; the comparison's wall ratio B/A per pair is pipeline speed / in-memory
    speed (the same batches are counted on both sides).
    """
    from benchmarks.abab import Sample, alternate

    ours, mem = epoch_counter(pipeline, mode), epoch_counter(memory, mode)
    t0 = time.perf_counter()
    ours()
    first = time.perf_counter() - t0
    mem()

    def timed(run):
        def go() -> Sample:
            c0, t0 = time.process_time(), time.perf_counter()
            n = int(run())
            return Sample(time.perf_counter() - t0, time.process_time() - c0, {"batches": n})

        return go

    cmp = alternate("pipeline", timed(ours), "memory", timed(mem), pairs=epochs - 1, log=None)
    return first, cmp


def list_rate(batches: list, epochs: int) -> float:
    t0 = time.perf_counter()
    n = 0
    for _ in range(epochs - 1):
        n += drain_python(batches)
    return n / (time.perf_counter() - t0)


def in_memory(arrays, batch: int):
    import tensorflow as tf

    ds = tf.data.Dataset.from_tensor_slices(arrays).batch(batch).cache()
    listed = list(ds)  # fills the cache, and the reference list of tensors
    return ds, listed


def compare(name: str, pipeline, arrays, batch: int, epochs: int) -> list[tuple[str, float]]:
    memory, listed = in_memory(arrays, batch)
    rows = []
    for mode in MODES:
        first, cmp = rates(pipeline, memory, mode, epochs)
        wall, cpu = cmp.summary("wall"), cmp.summary("cpu")
        batches = cmp.a[0].extra["batches"]
        rows.append((f"{name} ({mode})", wall["median"]))
        print(
            f"  {mode:<11}: pipeline {batches / wall['a_median']:6.0f} batches/s (epoch 1: "
            f"{first:5.2f}s), in memory {batches / wall['b_median']:6.0f} batches/s, ratio "
            f"median {wall['median']:.2f} (range {wall['min']:.2f}-{wall['max']:.2f}, "
            f"{wall['pairs']} pairs; CPU ratio {cpu['median']:.2f})"
        )
    print(
        f"  reference  : a Python list of the batches: {list_rate(listed, epochs):,.0f} batches/s"
    )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--features", type=int, default=32)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument(
        "--epochs", type=int, default=6, help="epoch 1 warms up, 2..N count (>= 5 pairs)"
    )
    parser.add_argument("--series", type=int, default=100_000, help="steps of the series")
    parser.add_argument("--skip-windows", action="store_true")
    parser.add_argument("--skip-table", action="store_true")
    parser.add_argument(
        "--chunked",
        action="store_true",
        help="windows as a series beyond EPOCH_BYTES is served: in chunks of whole batches",
    )
    parser.add_argument(
        "--chunk-bytes", type=int, help="with --chunked: bytes a gather (1: one gather a batch)"
    )
    args = parser.parse_args()
    args.epochs = max(args.epochs, 6)

    import numpy as np
    import tensorflow as tf

    from core.data.pipelines import array_dataset, window_dataset
    from core.data.windows import WindowSpec, make_windows, window_starts

    tf.get_logger().setLevel("ERROR")
    rng = np.random.default_rng(0)
    results = []

    x = rng.normal(size=(args.rows, args.features)).astype("float32")
    y = rng.integers(0, 2, size=args.rows).astype("int32")
    n_batches = -(-args.rows // args.batch)
    print(
        f"table: {args.rows:,} rows x {args.features} float32, batch {args.batch} "
        f"({n_batches} batches/epoch), epochs 2..{args.epochs} timed"
    )
    if not args.skip_table:
        pipeline = array_dataset(x, y, args.batch, shuffle=True, seed=0)
        results += compare("table", pipeline, (x, y), args.batch, args.epochs)

    if not args.skip_windows:
        spec = WindowSpec(input_width=24, horizon=1, targets=("t0",), features=())
        values = rng.normal(size=(args.series, 8)).astype("float32")
        targets = values[:, :1]
        starts = window_starts(args.series, spec)
        wx, wy = make_windows(values, targets, starts, spec)
        print(
            f"windows: series {args.series:,} steps x 8 features, {len(starts):,} windows of "
            f"{spec.input_width} steps (+{spec.horizon} ahead), batch {args.batch}"
        )
        if args.chunked:  # the path of a series too large to gather an epoch in one go
            from core.data import pipelines

            pipelines.EPOCH_BYTES = 1
            if args.chunk_bytes:
                pipelines.CHUNK_BYTES = args.chunk_bytes
            print(f"  (chunked: {pipelines.CHUNK_BYTES:,} bytes of whole batches a gather)")
        pipeline = window_dataset(values, targets, starts, spec, args.batch, shuffle=True, seed=0)
        results += compare("windows", pipeline, (wx, wy), args.batch, args.epochs)

    print()
    for name, ratio in results:
        verdict = "PASS" if ratio >= GOAL else "MISS"
        print(f"{verdict}: {name} pipeline/in-memory {ratio:.2f} >= {GOAL}")


if __name__ == "__main__":
    main()
